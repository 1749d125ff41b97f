"""Run every CPU benchmark against its baseline, print the ratio table, write ``bench/results/<date>-<machine>.md``.

    python -m bench                         # all CPU benchmarks at the issue's sizes
    python -m bench --only monot5 --queries 5
    python bench/run_all.py --only bm25,dense --no-write

Benchmarks are measurements, not tests: nothing here fails on a time. The GPU benchmark is a separate
script (``bench/gpu_bench.py``), run on a GPU machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # python bench/run_all.py
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, Section, machine_info, ratio_table, render_report, results_path, write_report  # noqa: E402

BENCHMARKS = ("bm25", "dense", "monot5", "app", "judgements")
OPTIONAL = ("monot5-ablation", "scale", "browser")  # not in the default run (scale: minutes to an hour)


def default_data_dir() -> Path:
    """``$BEIR_DATA_DIR``, else ``../shared/beir`` beside the repository."""
    env = os.environ.get("BEIR_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "beir"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {','.join(BENCHMARKS)} (default: all), or {','.join(OPTIONAL)}",
    )
    p.add_argument("--dataset", default="scifact")
    p.add_argument(
        "--data-dir", type=Path, default=None, help="folder holding <dataset>/ (default $BEIR_DATA_DIR or ../shared/beir)"
    )
    p.add_argument("--cache", type=Path, default=None, help="retrieval cache (default $RETRIEVAL_CACHE_DIR or ./cache)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds for the short benchmarks (median)")
    p.add_argument("--threads", type=int, default=None, help="torch threads for all benchmarks (default: torch's own)")
    g = p.add_argument_group("sizes")
    g.add_argument("--bm25-k", default="10,1000", help="BM25: hits per query, comma-separated (default 10,1000)")
    g.add_argument(
        "--bm25-busy",
        default="0",
        help="BM25: search rounds with this many extra busy processes, comma-separated (default 0; e.g. 0,1)",
    )
    g.add_argument(
        "--bm25-index-rounds", type=int, default=None, help="BM25: index builds timed (default min(2, --rounds); 0: none)"
    )
    g.add_argument("--bm25-live", type=int, default=300, help="BM25: live queries timed one at a time (0: none)")
    g.add_argument(
        "--bm25-no-reference",
        action="store_true",
        help="BM25: skip pyserini's batch_search, the reference run (slow on large corpora)",
    )
    g.add_argument("--dense-docs", type=int, default=None, help="documents to encode (default: the whole corpus)")
    g.add_argument("--queries", type=int, default=20, help="monoT5: judged queries (default 20)")
    g.add_argument("--depth", type=int, default=100, help="monoT5: BM25 depth per query (default 100)")
    g.add_argument("--pairs", type=int, default=None, help="monoT5: total pairs (sets --queries to pairs/depth)")
    g.add_argument(
        "--b-queries",
        type=int,
        default=5,
        help="monoT5: queries for baseline (b) (every batch is 8x512, so its cost is the same for any text; default 5)",
    )
    g.add_argument("--monot5-batch-size", type=int, default=None, help="monoT5: our batch size (default: MonoT5Scorer's)")
    g.add_argument("--app-rounds", type=int, default=3, help="app: fresh servers for the cold start")
    p.add_argument("--browser-base", type=Path, default=None, help="browser: a baseline checkout run side by side")
    p.add_argument(
        "--pg-url",
        default=None,
        help="judgements: also on PostgreSQL (a server where this user may CREATE DATABASE; a fresh one is made and dropped)",
    )
    p.add_argument("--browser-clicks", type=int, default=10, help="browser: clicks of each kind")
    g.add_argument("--scale-sizes", default="100000,1000000", help="scale: corpus sizes (comma-separated)")
    g.add_argument(
        "--scale-dir", type=Path, default=None, help="scale: work folder (default: a new temporary folder, removed after)"
    )
    g.add_argument("--scale-nice", type=int, default=10, help="scale: run each step under nice -n N (0: not)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes for a few-minute check: 1,000 documents, 5 x 100 pairs, (b) on 2 queries, 2 rounds",
    )
    p.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--tag", default="", help="appended to the results file name (e.g. for a partial rerun)")
    args = p.parse_args(argv)
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = [b for b in args.only if b not in BENCHMARKS + OPTIONAL]
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS + OPTIONAL)}")
    if args.quick:
        args.dense_docs = args.dense_docs or 1000
        args.queries, args.b_queries, args.rounds, args.app_rounds = 5, 2, 2, 1
    if args.pairs:
        args.queries = max(1, -(-args.pairs // args.depth))
    return args


def run_one(name: str, args: argparse.Namespace, dataset, cache) -> Section:
    """One benchmark; a failure becomes a section that says so instead of stopping the others."""
    started = time.perf_counter()
    try:
        if name == "bm25":
            from bench import bm25_bench

            return bm25_bench.run(
                dataset,
                cache=cache,
                k=[int(x) for x in str(args.bm25_k).split(",") if x.strip()],
                rounds=args.rounds,
                index_rounds=min(2, args.rounds) if args.bm25_index_rounds is None else args.bm25_index_rounds,
                busy=[int(x) for x in str(args.bm25_busy).split(",") if x.strip()],
                live=args.bm25_live,
                reference=not args.bm25_no_reference,
            )
        if name == "dense":
            from bench import dense_bench

            return dense_bench.run(dataset, cache=cache, docs=args.dense_docs)
        if name == "monot5":
            from bench import monot5_bench

            return monot5_bench.run(
                dataset,
                cache=cache,
                queries=args.queries,
                depth=args.depth,
                b_queries=args.b_queries,
                batch_size=args.monot5_batch_size,
            )
        if name == "monot5-ablation":
            from bench import monot5_ablation

            return monot5_ablation.run(dataset, cache=cache, queries=min(args.queries, 2), depth=args.depth)
        if name == "scale":
            from bench import scale_bench

            return scale_bench.run(
                dataset,
                sizes=[int(x) for x in args.scale_sizes.split(",") if x.strip()],
                workdir=args.scale_dir,
                keep=args.scale_dir is not None,
                nice=args.scale_nice,
            )
        if name == "app":
            from bench import app_bench

            return app_bench.run(dataset, cache=cache, data_dir=args.data_dir, rounds=args.app_rounds)
        if name == "judgements":
            from bench import judgements_bench

            return judgements_bench.run(dataset, cache=cache, rounds=max(args.rounds, 5), pg_url=args.pg_url)
        if name == "browser":
            from bench import browser_latency

            return browser_latency.run(args.browser_base, n=args.browser_clicks, cold_rounds=args.app_rounds)
        raise ValueError(name)
    except Exception as exc:  # report and go on: one missing piece must not hide the other numbers
        traceback.print_exc()
        return Section(
            name, skipped=f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:300], seconds=time.perf_counter() - started
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir or default_data_dir()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache

    path = args.data_dir / args.dataset
    if not (path / "corpus.jsonl").is_file():
        print(
            f"{path}/corpus.jsonl not found: set BEIR_DATA_DIR or --data-dir to the folder holding {args.dataset}/",
            file=sys.stderr,
        )
        return 2
    started = dt.datetime.now()
    info = machine_info()
    dataset = BeirDataset(path, args.dataset)
    cache = Cache(args.cache) if args.cache else Cache()
    sections = []
    for name in args.only:
        print(f"== {name} ==", file=sys.stderr, flush=True)
        section = run_one(name, args, dataset, cache)
        sections.append(section)
        print(
            f"   {name}: {section.seconds:.0f} s{'; ' + section.skipped if section.skipped else ''}", file=sys.stderr, flush=True
        )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load:
        info["load average at end"] = ", ".join(f"{x:.2f}" for x in load)
    info["total wall time"] = f"{(dt.datetime.now() - started).total_seconds():.0f} s"
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    print()
    print(ratio_table([r for s in sections for r in s.rows]))
    for s in sections:
        if s.skipped:
            print(f"{s.name}: skipped: {s.skipped}")
    if not args.no_write:
        out = write_report(
            render_report(sections, info, command.strip(), started),
            results_path(info, started.date(), args.results_dir, args.tag),
        )
        print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
