"""Command line: ``python -m retrieval {datasets,download,index,run,eval,runs,explain}``."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import RetrievalError


def _add_data_args(p: argparse.ArgumentParser, split: bool = True) -> None:
    p.add_argument("--dataset", default="scifact", help="BEIR dataset name or path to a BEIR folder (default: scifact)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding <dataset>/ (default: $BEIR_DATA_DIR, then the cache, then download)",
    )
    p.add_argument("--cache-dir", type=Path, default=None, help="cache root (default: $RETRIEVAL_CACHE_DIR or ./cache)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing dataset")
    if split:
        p.add_argument("--split", default="test", help="qrels split (default: test)")


def build_parser() -> argparse.ArgumentParser:
    from .neural.exported import BACKENDS

    parser = argparse.ArgumentParser(prog="python -m retrieval", description="Retrieval runs and evaluation on BEIR.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list the BEIR datasets and whether each is here, downloadable or not redistributable")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--cache-dir", type=Path, default=None)

    p = sub.add_parser("download", help="download BEIR datasets from the official server into the cache")
    p.add_argument("names", nargs="+")
    p.add_argument("--cache-dir", type=Path, default=None)

    p = sub.add_parser("index", help="build the Lucene index of a dataset (flat, multifield or both)")
    _add_data_args(p, split=False)
    p.add_argument("--condition", choices=["flat", "multifield", "all"], default="all")

    p = sub.add_parser("run", help="compute (or load from the cache) runs, write TREC files, print metrics")
    _add_data_args(p)
    p.add_argument(
        "--system",
        action="append",
        required=True,
        help="system spec, repeatable: bm25-flat, bm25-multifield, dense:<model>, monot5:<size>, ce:<model>",
    )
    p.add_argument("--first-stage", default=None, help="first-stage system for rerankers (default: bm25-flat)")
    p.add_argument("--depth", type=int, default=None, help="rerank depth (default: 100, at most 1000)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--dtype", default=None, help="float32, float16 or bfloat16 (default: fp32 on CPU, half precision on CUDA)")
    p.add_argument(
        "--backend",
        default=None,
        choices=list(BACKENDS),
        help="dense systems: how the model runs (default torch); onnx / openvino (float32) and their -int8 forms run "
        "an exported model on the CPU, built once into the cache",
    )
    p.add_argument("--model-path", type=Path, default=None, help="local model folder (safetensors) instead of the hub")
    p.add_argument("--revision", default=None, help="model revision on the Hugging Face hub (default: the registry's)")
    p.add_argument(
        "--output", type=Path, default=None, help="TREC file (one system) or folder (several); default: <cache>/exports/"
    )
    p.add_argument("--per-query", action="store_true", help="also print per-query metrics")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="encode / rerank on a Ray cluster (ADDRESS, e.g. auto or ray://head:10001; none: a local Ray); "
        "needs requirements-ray.txt. Writes the same cache entries as a local run",
    )
    p.add_argument("--ray-workers", type=int, default=None, help="Ray actors (default: one per GPU, else one per CPU)")

    p = sub.add_parser("eval", help="evaluate any TREC run file (ours or another tool's) against a dataset's qrels")
    _add_data_args(p)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument(
        "--measure",
        action="append",
        default=None,
        help="ir_measures measure, repeatable (default: nDCG@10 R@100 RR@10 Judged@10)",
    )
    p.add_argument("--per-query", action="store_true")

    p = sub.add_parser(
        "explain", help="why a system scored a document as it did (BM25 term parts, dense sentences, reranker saliency)"
    )
    _add_data_args(p)
    p.add_argument(
        "--system", required=True, help="system spec, e.g. bm25-flat, bm25-multifield, dense:all-MiniLM-L6-v2, monot5:base"
    )
    p.add_argument("--qid", required=True, help="query id (of the dataset's queries)")
    p.add_argument("--docid", required=True, help="document id")
    p.add_argument("--first-stage", default=None)
    p.add_argument("--depth", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default=None)
    p.add_argument("--model-path", type=Path, default=None)
    p.add_argument("--revision", default=None)
    p.add_argument("--top", type=int, default=10, help="sentences / words to print for neural systems (default 10)")

    p = sub.add_parser("runs", help="list cached runs")
    p.add_argument("--cache-dir", type=Path, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except RetrievalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


def _cache(args):
    from .cache import Cache

    return Cache(args.cache_dir)


def _dataset(args):
    from .beir import open_dataset

    return open_dataset(args.dataset, args.data_dir, cache_root=args.cache_dir, download=not args.no_download)


def cmd_datasets(args) -> int:
    from .beir import dataset_table

    table = dataset_table(args.data_dir, args.cache_dir)
    for col in ("documents", "test queries"):
        table[col] = table[col].map("{:,}".format)
    table["splits"] = table["splits"].str.replace(", ", ",")
    columns = {
        "dataset": "name",
        "domain": "domain",
        "task": "task",
        "documents": "documents",
        "test queries": "test queries",
        "splits": "splits",
        "status": "status",
        "license": "licence",
    }
    print(table[list(columns)].rename(columns=columns).to_string(index=False))
    return 0


def cmd_download(args) -> int:
    from .beir import open_dataset

    for name in args.names:
        ds = open_dataset(name, cache_root=args.cache_dir, download=True)
        print(f"{name}: {ds.path}")
    return 0


def cmd_index(args) -> int:
    from .bm25 import build_index

    ds = _dataset(args)
    for cond in ["flat", "multifield"] if args.condition == "all" else [args.condition]:
        print(f"{ds.name} {cond}: {build_index(ds, cond, cache=_cache(args))}")
    return 0


def cmd_run(args) -> int:
    from .evaluate import evaluate
    from .runner import get_run
    from .systems import parse_system

    cache = _cache(args)
    ds = _dataset(args)
    qrels = ds.qrels(args.split)
    options = {
        "first_stage": args.first_stage,
        "depth": args.depth,
        "device": args.device,
        "batch_size": args.batch_size,
        "dtype": args.dtype,
        "backend": args.backend,
        "model_path": str(args.model_path) if args.model_path else None,
        "revision": args.revision,
    }
    systems = [parse_system(s, **options) for s in args.system]
    if args.backend not in (None, "torch") and not any(getattr(s, "family", "") == "dense" for s in systems):
        raise RetrievalError(
            "--backend applies to dense systems (--system dense:<model>); a dense first stage takes it in its spec"
        )
    if getattr(args, "ray", None) is not None:
        from .parallel import attach, executor_for

        executor = executor_for(args.ray, workers=args.ray_workers)
        for system in systems:
            attach(system, executor)
    out_dir = None
    if args.output is not None and len(systems) == 1 and args.output.suffix:
        targets = [args.output]
    else:
        out_dir = args.output or cache.root / "exports"
        targets = [out_dir / f"{ds.name}.{args.split}.{_slug(s.spec)}.trec" for s in systems]
    summaries = []
    for system, target in zip(systems, targets):
        ok, why = system.availability()
        if not ok:
            print(f"skipped {system.spec}: {why}", file=sys.stderr)
            continue
        run = get_run(ds, args.split, system, cache=cache, progress=not args.no_progress)
        run.write_trec(target, tag=_slug(system.spec))
        ev = evaluate(run, qrels)
        print(f"{system.spec}: wrote {target}", file=sys.stderr)
        for note in ev.notes:
            print(f"note ({system.spec}): {note}", file=sys.stderr)
        summaries.append(ev)
        if args.per_query:
            print(ev.per_query.round(4).to_string())
    _print_summary(summaries, ds.name, args.split)
    return 0 if summaries else 1


def cmd_eval(args) -> int:
    from .evaluate import DEFAULT_MEASURES, evaluate
    from .run import Run

    ds = _dataset(args)
    qrels = ds.qrels(args.split)
    summaries = []
    for path in args.runs:
        ev = evaluate(Run.read_trec(path), qrels, args.measure or DEFAULT_MEASURES)
        for note in ev.notes:
            print(f"note ({path.name}): {note}", file=sys.stderr)
        if args.per_query:
            print(ev.per_query.round(4).to_string())
        summaries.append(ev)
    _print_summary(summaries, ds.name, args.split)
    return 0


def cmd_explain(args) -> int:
    from .explain.cli import explain_command

    return explain_command(args, _dataset(args), _cache(args))


def cmd_runs(args) -> int:
    from .runner import list_cached_runs

    frame = list_cached_runs(_cache(args))
    print(frame.drop(columns=["path"]).to_string(index=False) if len(frame) else "no cached runs")
    return 0


def _print_summary(evals, dataset: str, split: str) -> None:
    import pandas as pd

    if not evals:
        return
    table = pd.concat([e.summary_frame() for e in evals], ignore_index=True)
    print(f"\n{dataset} / {split} (queries in qrels: {evals[0].n_queries}; runs lacking a query score 0 on it)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text)


_COMMANDS = {
    "datasets": cmd_datasets,
    "download": cmd_download,
    "index": cmd_index,
    "run": cmd_run,
    "eval": cmd_eval,
    "runs": cmd_runs,
    "explain": cmd_explain,
}
