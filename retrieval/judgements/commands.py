"""The command line's part for judgements: ``python -m retrieval judgements {import,export,summary}`` and the
``--qrels official|merged|mine`` / ``--judge`` / ``--rule`` options of ``run`` and ``eval``.

``retrieval/cli.py`` only wires these in; everything judgement-specific is here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .model import MODES, RULES


def add_qrels_args(p: argparse.ArgumentParser) -> None:
    """``--qrels``, ``--judge``, ``--rule``, ``--db-url`` for ``run`` and ``eval``."""
    g = p.add_argument_group("qrels with users' judgements (python -m retrieval judgements --help)")
    g.add_argument(
        "--qrels",
        choices=MODES,
        default="official",
        help="official (default); merged: official + users' judgements, official wins on conflict; mine: users' judgements "
        "alone. Prints the official value beside the changed one",
    )
    g.add_argument("--judge", default=None, help="use this judge's judgements only (default: all judges, combined by --rule)")
    g.add_argument(
        "--rule",
        choices=RULES,
        default="majority",
        help="all judges: the grade most judges gave (a tie goes to the lower grade; default), or the highest / lowest",
    )
    g.add_argument(
        "--db-url", default=None, help="judgements database (default: $RETRIEVAL_DB_URL, else the cache's SQLite file)"
    )


def add_parser(sub, add_data_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``judgements`` subcommand."""
    p = sub.add_parser(
        "judgements",
        help="users' relevance judgements: import a qrels file as a judge's, export as TREC qrels or CSV, summary",
        description="Users' relevance judgements, kept in SQLite under the cache root or in PostgreSQL ($RETRIEVAL_DB_URL).",
    )
    jsub = p.add_subparsers(dest="judgements_command", required=True)

    i = jsub.add_parser("import", help="import a TREC (qid 0 docid grade) or BEIR qrels file as a judge's judgements")
    i.add_argument("file", type=Path)
    add_data_args(i)
    i.add_argument("--judge", required=True, help="whose judgements these are")
    i.add_argument("--db-url", default=None)

    e = jsub.add_parser("export", help="users' judgements as TREC qrels (stdout) or CSV")
    add_data_args(e)
    e.add_argument("--judge", default=None, help="one judge (default: all judges combined by --rule; CSV lists each judge)")
    e.add_argument("--rule", choices=RULES, default="majority")
    e.add_argument("--format", choices=["trec", "csv"], default="trec")
    e.add_argument(
        "--no-header",
        action="store_true",
        help="TREC: leave out the '#' header lines (who, when, corpus checksum); ir_measures, pytrec_eval and trec_eval "
        "cannot read them",
    )
    e.add_argument("--output", type=Path, default=None, help="write to this file (atomically) instead of stdout")
    e.add_argument("--db-url", default=None)

    s = jsub.add_parser("summary", help="where the judgements database is, and how many judgements each judge made")
    s.add_argument("--cache-dir", type=Path, default=None)
    s.add_argument("--db-url", default=None)


def _store(args):
    from .store import open_store

    return open_store(args.db_url, cache_root=getattr(args, "cache_dir", None))


def judgements_command(args, open_dataset: Callable[[], object]) -> int:
    """``python -m retrieval judgements ...``; ``open_dataset`` opens ``--dataset`` as the other commands do."""
    store = _store(args)
    try:
        if args.judgements_command == "summary":
            mode = f"read-only: {store.read_only_reason}" if store.read_only else "read-write"
            print(f"judgements database: {store.where} ({store.db.backend}, schema {store.db.schema_revision()}, {mode})")
            table = store.summary()
            print(table.to_string(index=False) if len(table) else "no judgements yet")
            return 0
        j = store.dataset(open_dataset(), args.split)
        if args.judgements_command == "import":
            report = j.import_qrels(args.file, judge=args.judge)
            print(report.describe(), file=sys.stderr)
            return 0
        if args.format == "csv":
            text, about = j.export_csv(args.judge), None
        else:
            text, about = j.export_trec(args.judge, args.rule, header=not args.no_header)
        if args.output is not None:
            from ..cache import atomic_write_text

            atomic_write_text(args.output, text)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        if about:
            print(about, file=sys.stderr)
        return 0
    finally:
        store.close()


def check_qrels_args(args) -> None:
    """Before any work: ``--judge`` / ``--rule`` make sense only with users' judgements."""
    from .errors import JudgementError

    if getattr(args, "judge", None) and args.qrels == "official":
        raise JudgementError("--judge needs --qrels merged or --qrels mine")


def compare_qrels(args, dataset, split: str, runs: Sequence, official_evals: Sequence, measures: Sequence[str]) -> None:
    """After ``run`` / ``eval`` printed the official numbers: evaluate the same runs on the chosen qrels and print the
    official value beside the changed one (per run and measure; ``--per-query`` also per query)."""
    import pandas as pd

    from ..evaluate import evaluate
    from .store import open_store

    store = open_store(args.db_url, cache_root=getattr(args, "cache_dir", None))
    try:
        chosen = store.dataset(dataset, split).qrels(args.qrels, judge=args.judge, rule=args.rule)
    finally:
        store.close()
    print(f"\n{chosen.describe()}")
    qids = chosen.qrels.qids
    same_queries = args.qrels == "mine"
    rows = []
    for run, official in zip(runs, official_evals):
        changed = evaluate(run, chosen.qrels, measures)
        base = official.per_query.loc[official.per_query.index.intersection(qids)] if same_queries else official.per_query
        for m in changed.measures:
            before = float(base[m].mean()) if len(base) else 0.0
            after = changed.mean[m]
            rows.append({"run": run.name, "measure": m, "official": before, args.qrels: after, "change": after - before})
        if args.per_query:
            both = changed.per_query.join(official.per_query, rsuffix=" official", how="left")
            print(both.round(4).to_string())
    scope = f" (official over the same {len(qids)} queries)" if same_queries else ""
    print(f"{dataset.name} / {split}: {args.qrels} qrels, {len(qids)} queries{scope}")
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}", formatters={"change": lambda v: f"{v:+.4f}"}))
