"""Metrics with users' judgements (issue 28): merged qrels with 10,000 user judgements on SciFact test (300 queries).

Ours: from reading the judgements out of the database (a fresh SQLite file; PostgreSQL too with ``--pg-url``) to
per-query metrics on the merged qrels (``DatasetJudgements.qrels("merged")`` then ``evaluate``), for the
BM25-flat run (1,000 deep). Baseline: ``evaluate`` of the same run on the official qrels, in the same process,
interleaved. Target: merged <= 200 ms. Also: the same evaluation without this branch's cut at the deepest cutoff
(the whole 1,000-deep run evaluated), one query's judgements (Compare's per-click read) and one write.

The 10,000 judgements: three judges over the BM25 top 40 of every test query (seeded): ``a`` grades 5,000 pairs,
``b`` 3,000 and ``c`` 2,000 of the same pairs (so judges overlap and disagree), 5% of them on pairs the official
qrels judge (conflicts), grades 0/1 with P(1) = 0.2.
"""

from __future__ import annotations

import importlib
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock

from .common import Row, Section, fmt, interleaved, median

TARGET_MS = 200.0


def _judgement_files(dataset, run, folder: Path, n: int, seed: int = 0) -> dict[str, Path]:
    import numpy as np

    rng = np.random.default_rng(seed)
    official = dataset.qrels("test")
    judged = set(zip(official.frame["qid"], official.frame["docid"]))
    top = run.truncate(40).frame
    pairs = [(q, d) for q, d in zip(top["qid"], top["docid"]) if (q, d) not in judged]
    rng.shuffle(pairs)
    official_pairs = sorted(judged)
    conflicts = [
        official_pairs[i] for i in rng.choice(len(official_pairs), size=min(len(official_pairs), n // 20), replace=False)
    ]
    sizes = {"a": n // 2, "b": n * 3 // 10, "c": n - n // 2 - n * 3 // 10}
    base = conflicts + pairs[: sizes["a"] - len(conflicts)]
    files = {}
    for judge, size in sizes.items():
        size = min(size, len(base))  # a small dataset (the tests' tiny one) has fewer pairs than asked for
        chosen = base[:size] if judge == "a" else [base[i] for i in sorted(rng.choice(len(base), size=size, replace=False))]
        grades = (rng.random(len(chosen)) < 0.2).astype(int)
        path = folder / f"{judge}.qrels"
        path.write_text("".join(f"{q} 0 {d} {g}\n" for (q, d), g in zip(chosen, grades)))
        files[judge] = path
    return files


def _fresh_pg_database(admin_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"judgements_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin.set(database=name, drivername="postgresql").render_as_string(hide_password=False), drop


def run(dataset, *, cache, rounds: int = 7, judgements: int = 10_000, pg_url: str | None = None) -> Section:
    from retrieval.evaluate import evaluate
    from retrieval.judgements import open_store
    from retrieval.runner import get_run

    section = Section("judgements")
    started = time.perf_counter()
    bm25 = get_run(dataset, "test", "bm25-flat", cache=cache, progress=False)
    evaluate_module = importlib.import_module("retrieval.evaluate")
    with tempfile.TemporaryDirectory(prefix="judgements-bench-") as tmp:
        files = _judgement_files(dataset, bm25, Path(tmp), judgements)
        backends = {"SQLite": f"sqlite:///{Path(tmp) / 'judgements.sqlite3'}"}
        drop = None
        if pg_url:
            backends["PostgreSQL"], drop = _fresh_pg_database(pg_url)
        try:
            for backend, url in backends.items():
                store = open_store(url)
                j = store.dataset(dataset, "test")
                for judge, path in files.items():
                    j.import_qrels(path, judge=judge)
                stored = len(j.frame())
                merged_info = j.qrels("merged")

                def merged(j=j):
                    return evaluate(bm25, j.qrels("merged").qrels)

                def official(j=j):
                    return evaluate(bm25, j.official)

                def uncut(j=j):  # evaluate() without the cut at the deepest cutoff: the whole 1,000-deep run
                    with mock.patch.object(evaluate_module, "evaluation_depth", lambda measures: None):
                        return evaluate(bm25, j.qrels("merged").qrels)

                times = interleaved({"merged": merged, "official": official, "uncut": uncut}, rounds)
                ms = {k: median(v) * 1000 for k, v in times.items()}
                cpu = {"merged": [], "official": []}
                for _ in range(rounds):  # CPU time: what the code costs, less the waiting a loaded machine adds
                    for name, fn in (("merged", merged), ("official", official)):
                        t = time.process_time()
                        fn()
                        cpu[name].append(time.process_time() - t)
                cpu_ms = {k: median(v) * 1000 for k, v in cpu.items()}
                parts = interleaved({"read": lambda j=j: j._user_columns(), "qrels": lambda j=j: j.qrels("merged")}, rounds)
                read_ms, qrels_ms = median(parts["read"]) * 1000, median(parts["qrels"]) * 1000
                qids = j.official.qids
                per_query = []
                for q in qids:
                    t = time.perf_counter()
                    j.for_query(q)
                    per_query.append(time.perf_counter() - t)
                writes = []
                docs = bm25.for_query(qids[0], 20)["docid"].tolist()
                for i, d in enumerate(docs):
                    t = time.perf_counter()
                    j.set(qids[0], d, i % 2, judge="bench-writer", expected=j.get(qids[0], d, "bench-writer"))
                    writes.append(time.perf_counter() - t)
                same = (merged().per_query == uncut().per_query).all().all()
                section.rows += [
                    Row(
                        "judgements",
                        f"{backend}: merged metrics, {stored:,} judgements (DB read -> per-query metrics)",
                        f"{fmt(ms['merged'])} ms",
                        f"{fmt(ms['official'])} ms official",
                        ms["merged"] / ms["official"],
                        "time merged/official",
                        "",
                        f"{merged_info.added:,} added, {len(merged_info.conflicts):,} conflicts, {merged_info.disagreements:,} disagreements",
                    ),
                    Row(
                        "judgements",
                        f"{backend}: merged metrics against the 200 ms budget",
                        f"{fmt(ms['merged'])} ms",
                        f"{TARGET_MS:.0f} ms",
                        ms["merged"] / TARGET_MS,
                        "time / budget",
                        "<= 1",
                        f"CPU time {fmt(cpu_ms['merged'])} ms (official {fmt(cpu_ms['official'])} ms)",
                    ),
                    Row(
                        "judgements",
                        f"{backend}: merged metrics, run cut at the deepest cutoff (100) vs the whole 1,000-deep run",
                        f"{fmt(ms['merged'])} ms",
                        f"{fmt(ms['uncut'])} ms",
                        ms["uncut"] / ms["merged"],
                        "speed-up (uncut/cut)",
                        "",
                        f"identical per-query values: {bool(same)}",
                    ),
                ]
                section.lines += [
                    f"{backend}: merged {fmt(ms['merged'])} ms: read the judgements {fmt(read_ms)} ms, read and merge {fmt(qrels_ms)} ms, "
                    f"the rest evaluate(); official {fmt(ms['official'])} ms; without the cut {fmt(ms['uncut'])} ms "
                    f"(wall-clock medians of {rounds} interleaved rounds); CPU time merged {fmt(cpu_ms['merged'])} ms, "
                    f"official {fmt(cpu_ms['official'])} ms",
                    f"{backend}: one query's judgements (Compare's read per click): median {fmt(median(per_query) * 1000)} ms, "
                    f"max {fmt(max(per_query) * 1000)} ms over {len(per_query)} queries; one write (compare-and-set, committed): "
                    f"median {fmt(median(writes) * 1000)} ms over {len(writes)}",
                    f"{backend}: {merged_info.describe()}",
                ]
                store.close()
        finally:
            if drop is not None:
                drop()
    section.lines.append(f"run: bm25-flat on SciFact test, {len(bm25):,} rows; measures nDCG@10, R@100, RR@10, Judged@10")
    section.seconds = time.perf_counter() - started
    return section
