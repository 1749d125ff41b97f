"""Command line: ``python -m retrieval {datasets,download,index,run,eval,runs,explain,judgements}``."""

from __future__ import annotations

import argparse
import contextlib
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
    from .judgements.commands import add_parser as add_judgements_parser
    from .judgements.commands import add_qrels_args
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
    add_qrels_args(p)

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
    add_qrels_args(p)

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

    p = sub.add_parser("runs", help="list cached runs (built here and imported)")
    p.add_argument("--cache-dir", type=Path, default=None)

    p = sub.add_parser(
        "import-run", help="keep a TREC run file computed elsewhere as the run of a named system (survives restarts)"
    )
    p.add_argument("file", type=Path, help="TREC run file (qid Q0 docid rank score tag)")
    _add_data_args(p)
    p.add_argument("--as", dest="system", required=True, help="the system it is a run of, e.g. monot5:3b")
    p.add_argument("--who", default="", help="who made or imports it (default: the login name)")
    p.add_argument("--note", default="", help="where and how it was computed")
    p.add_argument("--replace", action="store_true", help="replace another file imported for the same system and split")

    add_judgements_parser(sub, _add_data_args)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it unwinds as Ctrl-C does: child processes are
    killed and waited for (:func:`retrieval.lucene.run_child`), temporary folders removed."""


def _terminate(signum, _frame) -> None:
    import signal

    signal.signal(signum, signal.SIG_IGN)  # once: the unwinding itself is not interrupted again
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_unwind():
    """SIGTERM and SIGHUP raise :class:`Terminated` while the command runs (main thread only), then the handlers
    in place before come back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    before = {sig: signal.signal(sig, _terminate) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    args = build_parser().parse_args(argv)
    try:
        with _signals_unwind():
            return _COMMANDS[args.command](args)
    except RetrievalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.args[0] if isinstance(exc, Terminated) and exc.args else signal.SIGINT
        name = signal.Signals(signum).name if signum in set(signal.Signals) else str(signum)
        print(f"interrupted ({name}); nothing half-written was kept", file=sys.stderr)
        return 128 + int(signum)


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
    from .evaluate import DEFAULT_MEASURES, evaluate
    from .judgements.commands import check_qrels_args, compare_qrels
    from .runner import get_run
    from .systems import parse_system

    check_qrels_args(args)
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
    evaluated = []  # the runs behind summaries, for --qrels merged|mine
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
        evaluated.append(run)
        if args.per_query:
            print(ev.per_query.round(4).to_string())
    _print_summary(summaries, ds.name, args.split)
    if args.qrels != "official" and summaries:
        compare_qrels(args, ds, args.split, evaluated, summaries, DEFAULT_MEASURES)
    return 0 if summaries else 1


def cmd_eval(args) -> int:
    from .evaluate import DEFAULT_MEASURES, evaluate, unknown_ids, unknown_ids_message
    from .judgements.commands import check_qrels_args, compare_qrels
    from .run import Run

    check_qrels_args(args)
    ds = _dataset(args)
    qrels = ds.qrels(args.split)
    summaries = []
    evaluated = []  # the runs behind summaries, for --qrels merged|mine
    for path in args.runs:
        run = Run.read_trec(path)
        evaluated.append(run)
        ev = evaluate(run, qrels, args.measure or DEFAULT_MEASURES)
        # ids the dataset lacks score nothing: said here as the app's upload says it
        unknown = unknown_ids_message(unknown_ids(run, ds.queries, ds.corpus), ds.name)
        for note in (*ev.notes, *([unknown] if unknown else [])):
            print(f"note ({path.name}): {note}", file=sys.stderr)
        if args.per_query:
            print(ev.per_query.round(4).to_string())
        summaries.append(ev)
    _print_summary(summaries, ds.name, args.split)
    if args.qrels != "official":
        compare_qrels(args, ds, args.split, evaluated, summaries, args.measure or DEFAULT_MEASURES)
    return 0


def cmd_explain(args) -> int:
    from .explain.cli import explain_command

    return explain_command(args, _dataset(args), _cache(args))


def cmd_judgements(args) -> int:
    from .judgements.commands import judgements_command

    return judgements_command(args, lambda: _dataset(args))


def cmd_runs(args) -> int:
    from .imports import list_imports
    from .runner import list_cached_runs

    cache = _cache(args)
    frame = list_cached_runs(cache)
    print(frame.drop(columns=["path"]).to_string(index=False) if len(frame) else "no cached runs")
    imported = list_imports(cache)
    if len(imported):
        print("\nimported runs:")
        print(imported.drop(columns=["path", "sha256"]).to_string(index=False))
    return 0


def cmd_import_run(args) -> int:
    import getpass

    from .evaluate import evaluate
    from .imports import find, import_run
    from .systems import parse_system

    ds = _dataset(args)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise RetrievalError(f"cannot read {args.file}: {exc.strerror}") from None
    who = args.who or getpass.getuser()
    result = import_run(
        ds, args.split, args.system, data, args.file.name, who=who, note=args.note, cache=_cache(args), replace=args.replace
    )
    p = result.provenance
    word = {
        "imported": "imported",
        "unchanged": "already imported (the same file): nothing changed",
        "replaced": "replaced the earlier import",
    }
    print(
        f"{args.system} on {ds.name} ({args.split}): {word[result.status]}; {p.queries:,} queries, {p.rows:,} rows; {p.describe()}"
    )
    for what, (count, examples) in result.unknown.items():
        if count:
            print(
                f"note: {count:,} {what} not in {ds.name} (e.g. {', '.join(examples)}): they retrieve nothing relevant",
                file=sys.stderr,
            )
    run, _ = find(_cache(args), ds, args.split, parse_system(args.system).spec)
    _print_summary([evaluate(run, ds.qrels(args.split))], ds.name, args.split)
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
    "judgements": cmd_judgements,
    "import-run": cmd_import_run,
}
