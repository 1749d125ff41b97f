"""BM25: our pyserini (Lucene) path against bm25s on the same documents and queries.

Ours: :class:`retrieval.bm25.BM25` ``bm25-flat`` (k1=0.9, b=0.4), index built by
:func:`retrieval.bm25.build_index` into a fresh cache (a child JVM, as a user pays it; the document
store it reads is the dataset's, built once per dataset), search by ``BM25.retrieve`` (this
project's ``BatchSearch`` in the in-process JVM, all cores) up to a :class:`Run`. Also timed in the
same run: pyserini's ``LuceneSearcher.batch_search`` on the same index (the reference run), and the
index build again once this process's JVM runs (then in-process).
bm25s: the same ``title + "\\n" + text`` documents, English stop words and Snowball stemmer
(PyStemmer, as bm25s recommends), ``method="lucene"``, the same k1 and b, numpy backend on all
cores, also up to a :class:`Run`. Both runs are scored with ``retrieval.evaluate``.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from .common import Row, Section, cores, fmt, interleaved, median, timed

K1, B = 0.9, 0.4


def doc_texts(dataset) -> tuple[list[str], list[str]]:
    """Docids and ``title + "\\n" + text`` (Anserini's BeirFlatCollection contents)."""
    ids = list(dataset.corpus)
    return ids, [f"{d.title}\n{d.text}" if d.title else d.text for d in dataset.corpus.values()]


class Bm25sRetriever:
    """bm25s configured as close to our Lucene BM25 as it allows."""

    def __init__(self, docids: list[str], texts: list[str], *, threads: int | None = None) -> None:
        import bm25s

        self.docids = docids
        self.threads = threads or cores()
        self.stemmer = _stemmer()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.model = bm25s.BM25(k1=K1, b=B, method="lucene")
        self.model.index(tokens, show_progress=False)

    def retrieve(self, queries: dict[str, str], k: int = 1000):
        """A :class:`retrieval.run.Run` of the top ``k`` (documents with a positive score) per query."""
        import bm25s

        from retrieval.run import Run

        qids = list(queries)
        tokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=self.stemmer, show_progress=False)
        k = min(k, len(self.docids))
        docs, scores = self.model.retrieve(tokens, k=k, n_threads=self.threads, show_progress=False)
        records = []
        for qid, row_docs, row_scores in zip(qids, docs, scores):
            records.extend(
                (qid, self.docids[int(d)], float(s)) for d, s in zip(row_docs, row_scores) if s > 0 and self.docids[int(d)] != qid
            )
        return Run.from_records(records, "bm25s", family="bm25")


def _stemmer():
    try:
        import Stemmer
    except ImportError:  # bench-only dependency; without it bm25s runs unstemmed (and says so)
        return None
    return Stemmer.Stemmer("english")


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def run(dataset, *, cache, split: str = "test", k: int = 1000, rounds: int = 3, index_rounds: int = 2) -> Section:
    """Index build time, queries per second and nDCG@10 of both (plus pyserini batch_search, the reference run)."""
    from retrieval.bm25 import BM25, IN_PROCESS_BELOW, build_index
    from retrieval.cache import Cache
    from retrieval.evaluate import evaluate

    section = Section("BM25")
    started = time.perf_counter()
    queries = dataset.split_queries(split)
    qrels = dataset.qrels(split)
    docids, texts = doc_texts(dataset)

    # Index build: ours in a fresh cache each time (child JVM start included, as a user pays it). The
    # machine's first child build trains the JVM's AOT cache (retrieval.lucene.AotCache) once: timed apart.
    from retrieval.lucene import AotCache

    aot = AotCache("io.anserini.index.IndexCollection", ["-XX:TieredStopAtLevel=1"])
    first_build = None
    if aot.enabled and not aot.path.is_file():
        with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
            first_build = timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))[0]
    ours_index, ours_index_cpu = [], []
    for _ in range(index_rounds):
        with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
            cpu0 = _cpu_children()
            seconds, _ = timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))
            ours_index.append(seconds)
            ours_index_cpu.append(_cpu_children() - cpu0)
    Bm25sRetriever(docids[:200], texts[:200])  # warm-up (imports, first allocations)
    theirs_index, theirs_index_cpu = [], []
    for _ in range(index_rounds):
        cpu0 = time.process_time()
        theirs_index.append(timed(lambda: Bm25sRetriever(docids, texts))[0])
        theirs_index_cpu.append(time.process_time() - cpu0)
    bm25s = Bm25sRetriever(docids, texts)

    # Search: the index for ours comes from the bench cache; both produce a Run of k hits per query.
    system = BM25("flat")
    index = build_index(dataset, "flat", cache=cache, progress=False)
    results, cpu = {}, {"ours": [], "bm25s": [], "pyserini": []}

    def measured(name, fn):
        def call():
            c0 = time.process_time()
            results[name] = fn()
            cpu[name].append(time.process_time() - c0)

        return call

    contenders = {
        "ours": measured("ours", lambda: system.retrieve(dataset, queries, cache=cache, progress=False, k=k)),
        "bm25s": measured("bm25s", lambda: bm25s.retrieve(queries, k=k)),
        "pyserini": measured("pyserini", lambda: system._search_pyserini(index, queries, k, False)),
    }
    times = interleaved(contenders, rounds)
    for name in cpu:
        cpu[name] = cpu[name][1:]  # drop the warm-up
    qps = {name: len(queries) / median(t) for name, t in times.items()}
    ndcg_ours = evaluate(results["ours"], qrels, ["nDCG@10"]).mean["nDCG@10"]
    ndcg_theirs = evaluate(results["bm25s"], qrels, ["nDCG@10"]).mean["nDCG@10"]
    identical = same(results["ours"], results["pyserini"])
    idx_ours, idx_theirs = median(ours_index), median(theirs_index)

    # Index build again, now that this process's JVM runs (after the searches): small corpora are then
    # built in it (retrieval.bm25.IN_PROCESS_BELOW), as in the app or a CLI run over several datasets.
    from retrieval.lucene import jvm_running

    warm_index = []
    for _ in range(index_rounds):
        with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
            warm_index.append(timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))[0])
    warm_in_process = jvm_running() and len(docids) < IN_PROCESS_BELOW

    n = len(queries)
    section.rows += [
        Row(
            "bm25",
            f"queries/s ({dataset.name} {split}, {n} q, k={k})",
            fmt(qps["ours"]),
            fmt(qps["bm25s"]),
            qps["ours"] / qps["bm25s"],
            "speed-up ours/bm25s",
            ">= 1.0",
        ),
        Row(
            "bm25",
            "queries/s, pyserini batch_search (the reference run, same index)",
            fmt(qps["pyserini"]),
            fmt(qps["bm25s"]),
            qps["pyserini"] / qps["bm25s"],
            "speed-up pyserini/bm25s",
        ),
        Row(
            "bm25",
            "search CPU s (process, all threads)",
            fmt(median(cpu["ours"])),
            fmt(median(cpu["bm25s"])),
            median(cpu["bm25s"]) / median(cpu["ours"]),
            "CPU ratio bm25s/ours",
        ),
        Row(
            "bm25",
            f"index build s ({len(docids):,} docs)",
            fmt(idx_ours),
            fmt(idx_theirs),
            idx_theirs / idx_ours,
            "speed-up ours/bm25s",
            ">= 0.5",
            note="ours: fresh process, child JVM",
        ),
        Row(
            "bm25",
            f"index build s ({len(docids):,} docs), JVM already running",
            fmt(median(warm_index)),
            fmt(idx_theirs),
            idx_theirs / median(warm_index),
            "speed-up ours/bm25s",
            ">= 0.5",
            note="ours: in this process's JVM" if warm_in_process else "ours: child JVM",
        ),
        Row("bm25", "nDCG@10", f"{ndcg_ours:.4f}", f"{ndcg_theirs:.4f}", ndcg_ours / ndcg_theirs, "quality ours/bm25s", ">= 1.0"),
    ]
    section.lines += [
        f"ours: retrieval/java BatchSearch over the Lucene of pyserini {_version('pyserini')}'s fat jar, in the in-process JVM, threads={os.cpu_count()}, k1={K1}, b={B}; "
        f"bm25s {_version('bm25s')} method=lucene, numpy backend, n_threads={bm25s.threads}, stemmer="
        f"{'Snowball english (PyStemmer)' if bm25s.stemmer else 'none (PyStemmer missing)'}",
        f"search seconds per round, ours: {', '.join(f'{t:.2f}' for t in times['ours'])}; "
        f"bm25s: {', '.join(f'{t:.2f}' for t in times['bm25s'])}; "
        f"pyserini batch_search: {', '.join(f'{t:.2f}' for t in times['pyserini'])} "
        f"(median of {rounds}, warm-up excluded; all end in a Run)",
        f"search CPU seconds per round (this process, JVM threads included), ours: {', '.join(f'{t:.2f}' for t in cpu['ours'])}; "
        f"bm25s: {', '.join(f'{t:.2f}' for t in cpu['bm25s'])}; "
        f"pyserini batch_search: {', '.join(f'{t:.2f}' for t in cpu['pyserini'])}",
        f"our run identical to pyserini batch_search's (qid, docid, rank on every line): {identical}",
        f"index build seconds, ours: {', '.join(f'{t:.1f}' for t in ours_index)} (child CPU {', '.join(f'{t:.1f}' for t in ours_index_cpu)}); "
        f"with this process's JVM running (after the searches): {', '.join(f'{t:.1f}' for t in warm_index)}; "
        f"child JVM from its AOT cache: {aot.enabled and aot.path.is_file()}"
        f"{f' (trained by this run: first build {first_build:.1f} s, untimed above)' if first_build is not None else ''}; "
        f"bm25s: {', '.join(f'{t:.1f}' for t in theirs_index)} (CPU {', '.join(f'{t:.1f}' for t in theirs_index_cpu)})",
        f"index size: {_dir_mb(index):.1f} MB",
        f"hits: ours {len(results['ours']):,}, bm25s {len(results['bm25s']):,} (bm25s keeps only documents with a positive score)",
    ]
    section.seconds = time.perf_counter() - started
    return section


def same(a, b) -> bool:
    """Two runs with the same (qid, docid, rank) on every line."""
    x, y = a.frame[["qid", "docid", "rank"]].reset_index(drop=True), b.frame[["qid", "docid", "rank"]].reset_index(drop=True)
    return len(x) == len(y) and x.equals(y)


def _version(name: str) -> str:
    from .common import _version as v

    return v(name)
