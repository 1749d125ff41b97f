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
    from ..runner import cached_run, get_run
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
    run = None
    if args.qid in ds.qrels(args.split).qids:
        # BM25 runs are cheap to build; a neural run is only read from the cache (building one can take hours)
        run = (
            get_run(ds, args.split, system, cache=cache, progress=False)
            if system.family == "bm25"
            else cached_run(cache, ds, args.split, system)
        )
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
    if system.family == "bm25":
        return _print_bm25(ds, system, query, args, cache, run)
    if system.family == "dense":
        return _print_dense(ds, system, query, args, cache, run)
    if system.family == "reranker":
        return _print_reranker(ds, system, query, args, cache, run)
    raise RetrievalError(f"no explanation for {system.spec} (family {system.family!r})")


def _run_line(run, qid: str, docid: str) -> tuple[float | None, str]:
    if run is None:
        return None, "no run to compare with (the query is not judged in this split, or the run is not cached)"
    rows = run.for_query(qid)
    hit = rows[rows["docid"] == docid]
    if not len(hit):
        return None, f"the run does not retrieve {docid} for query {qid} (depth {len(rows)})"
    score, rank = float(hit["score"].iloc[0]), int(hit["rank"].iloc[0])
    return score, f"run's score: {score:.6f} (rank {rank})"


def _print_bm25(ds, system, query, args, cache, run) -> int:
    import pandas as pd

    from .bm25 import explain_bm25

    ex = explain_bm25(ds, system, query, args.docid, cache=cache)
    frame = ex.frame()
    frame = frame[["field", "term", "tf", "df", "N", "idf", "boost", "dl", "avgdl", "length_norm", "tf_part", "score", "share"]]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.6f}", na_rep="-"))
    print(f"\nsum of term parts: {ex.total:.6f}")
    print(f"Lucene's explanation: {ex.lucene_score:.6f}  (k1={ex.params['k1']:g}, b={ex.params['b']:g})")
    score, line = _run_line(run, args.qid, args.docid)
    print(line)
    if score is not None:
        print(f"difference (sum - run): {ex.total - score:+.2e}  (Anserini rounds run scores to 4 decimals)")
    return 0


def _print_dense(ds, system, query, args, cache, run) -> int:
    from .dense import explain_dense

    ex = explain_dense(ds, system, query, args.docid, cache=cache)
    _, line = _run_line(run, args.qid, args.docid)
    print(f"cosine(query, document) with {ex.model}: {ex.cosine:.6f}")
    print(line)
    print(f"\nsentences by cosine against the query (top {args.top} of {len(ex.sentences)}):")
    doc = ds.corpus[args.docid]
    for s in ex.sentences[: args.top]:
        text = s.span.text_of(doc.title, doc.text).replace("\n", " ")
        print(f"  {s.score:.4f}  [{s.span.field} {s.span.start}:{s.span.end}]  {text[:160]}")
    return 0


def _print_reranker(ds, system, query, args, cache, run) -> int:
    from .saliency import explain_reranker

    ex = explain_reranker(ds, system, query, args.docid, cache=cache, progress=True)
    _, line = _run_line(run, args.qid, args.docid)
    print(f"score of the whole document: {ex.base_score:.6f}")
    print(line)
    print(f"\nwords whose removal lowers the score most (occlusion saliency, top {args.top} of {len(ex.words)}):")
    doc = ds.corpus[args.docid]
    for w in sorted(ex.words, key=lambda w: -w.weight)[: args.top]:
        print(f"  {w.weight:+.5f}  [{w.field} {w.start}:{w.end}]  {w.text_of(doc.title, doc.text)}")
    print(file=sys.stderr)
    return 0
