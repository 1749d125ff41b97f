"""``python -m retrieval explain``: print why one system scored one document as it did."""

from __future__ import annotations

import sys
from typing import Any

from ..beir import BeirDataset
from ..cache import Cache
from ..errors import RetrievalError


def _options(args: Any) -> dict[str, Any]:
    return {
        "first_stage": args.first_stage,
        "depth": args.depth,
        "device": args.device,
        "dtype": args.dtype,
        "model_path": str(args.model_path) if args.model_path else None,
        "revision": args.revision,
    }


def explain_command(args: Any, ds: BeirDataset, cache: Cache) -> int:
    from ..runner import cached_or_quick_run
    from ..systems import parse_system

    system = parse_system(args.system, **_options(args))
    if args.qid not in ds.queries:
        raise RetrievalError(f"{ds.name} has no query {args.qid!r}")
    if args.docid not in ds.corpus:
        raise RetrievalError(f"{ds.name} has no document {args.docid!r}")
    query = ds.queries[args.qid]
    ok, why = system.availability()
    if not ok:
        raise RetrievalError(f"{system.spec} is not usable here: {why}")
    run, inputs = None, ()
    if args.qid in ds.qrels(args.split).qids:
        # A run that builds in seconds (BM25, a fusion of cached runs) is built; others are only read from the
        # cache (a neural run can take hours).
        run = cached_or_quick_run(ds, args.split, system, cache)
        inputs = tuple(r for r in (cached_or_quick_run(ds, args.split, s, cache) for s in system.inputs) if r is not None)
        if run is None:
            from ..reproduce import command_for_system

            print(
                f"(no cached {system.spec} run on {ds.name}/{args.split}; build it with: "
                f"{command_for_system(system, ds, args.split).command})",
                file=sys.stderr,
            )
    print(f"{ds.name} / {args.split}  query {args.qid}: {query}")
    print(f"document {args.docid}: {ds.corpus[args.docid].title}")
    print(f"system {system.spec}")
    ex = system.explain(ds, query, args.docid, cache=cache, run=run, qid=args.qid, input_runs=inputs, progress=True)
    score, line = _run_line(run, args.qid, args.docid)
    print(ex.report(ds.corpus[args.docid], line, score, args.top))
    return 0


def _run_line(run, qid: str, docid: str) -> tuple[float | None, str]:
    if run is None:
        return None, "no run to compare with (the query is not judged in this split, or the run is not cached)"
    rows = run.for_query(qid)
    hit = rows[rows["docid"] == docid]
    if not len(hit):
        return None, f"the run does not retrieve {docid} for query {qid} (depth {len(rows)})"
    score, rank = float(hit["score"].iloc[0]), int(hit["rank"].iloc[0])
    return score, f"run's score: {score:.6f} (rank {rank})"
