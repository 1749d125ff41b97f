"""BM25: our pyserini (Lucene) path against bm25s on the same documents and queries.

Ours: :class:`retrieval.bm25.BM25` ``bm25-flat`` (k1=0.9, b=0.4), index built by
:func:`retrieval.bm25.build_index` into a fresh cache (a child process with its own JVM, as a user
pays it), search by ``BM25.retrieve`` (pyserini ``batch_search`` on all cores) up to a :class:`Run`.
bm25s: the same ``title + "\\n" + text`` documents, English stop words and Snowball stemmer
(PyStemmer, as bm25s recommends), ``method="lucene"``, the same k1 and b, numpy backend on all
cores, also up to a :class:`Run`. Both runs are scored with ``retrieval.evaluate``.
"""

from __future__ import annotations

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


def run(dataset, *, cache, split: str = "test", k: int = 1000, rounds: int = 3, index_rounds: int = 2) -> Section:
    """Index build time, queries per second and nDCG@10 of both."""
    from retrieval.bm25 import BM25, build_index
    from retrieval.cache import Cache
    from retrieval.evaluate import evaluate

    section = Section("BM25")
    started = time.perf_counter()
    queries = dataset.split_queries(split)
    qrels = dataset.qrels(split)
    docids, texts = doc_texts(dataset)

    # Index build: ours in a fresh cache each time (child process + JVM start, as a user pays it).
    ours_index = []
    for _ in range(index_rounds):
        with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
            seconds, _ = timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))
            ours_index.append(seconds)
    Bm25sRetriever(docids[:200], texts[:200])  # warm-up (imports, first allocations)
    theirs_index = [timed(lambda: Bm25sRetriever(docids, texts))[0] for _ in range(index_rounds)]
    bm25s = Bm25sRetriever(docids, texts)

    # Search: the index for ours comes from the bench cache; both produce a Run of k hits per query.
    system = BM25("flat")
    build_index(dataset, "flat", cache=cache, progress=False)
    results = {}

    def ours():
        results["ours"] = system.retrieve(dataset, queries, cache=cache, progress=False, k=k)

    def theirs():
        results["bm25s"] = bm25s.retrieve(queries, k=k)

    times = interleaved({"ours": ours, "bm25s": theirs}, rounds)
    qps_ours = len(queries) / median(times["ours"])
    qps_theirs = len(queries) / median(times["bm25s"])
    ndcg_ours = evaluate(results["ours"], qrels, ["nDCG@10"]).mean["nDCG@10"]
    ndcg_theirs = evaluate(results["bm25s"], qrels, ["nDCG@10"]).mean["nDCG@10"]
    idx_ours, idx_theirs = median(ours_index), median(theirs_index)

    n = len(queries)
    section.rows += [
        Row(
            "bm25",
            f"queries/s ({dataset.name} {split}, {n} q, k={k})",
            fmt(qps_ours),
            fmt(qps_theirs),
            qps_ours / qps_theirs,
            "speed-up ours/bm25s",
        ),
        Row(
            "bm25",
            f"index build s ({len(docids):,} docs)",
            fmt(idx_ours),
            fmt(idx_theirs),
            idx_theirs / idx_ours,
            "speed-up ours/bm25s",
            note="ours: child process + JVM start",
        ),
        Row("bm25", "nDCG@10", f"{ndcg_ours:.4f}", f"{ndcg_theirs:.4f}", ndcg_ours / ndcg_theirs, "quality ours/bm25s", ">= 1.0"),
    ]
    section.lines += [
        f"ours: pyserini {_version('pyserini')} LuceneSearcher.batch_search, threads={cores()}, k1={K1}, b={B}; "
        f"bm25s {_version('bm25s')} method=lucene, numpy backend, n_threads={bm25s.threads}, stemmer="
        f"{'Snowball english (PyStemmer)' if bm25s.stemmer else 'none (PyStemmer missing)'}",
        f"search seconds per round, ours: {', '.join(f'{t:.2f}' for t in times['ours'])}; "
        f"bm25s: {', '.join(f'{t:.2f}' for t in times['bm25s'])} (median of {rounds}, warm-up excluded; both end in a Run)",
        f"index build seconds, ours: {', '.join(f'{t:.1f}' for t in ours_index)}; "
        f"bm25s: {', '.join(f'{t:.1f}' for t in theirs_index)}",
        f"hits: ours {len(results['ours']):,}, bm25s {len(results['bm25s']):,} "
        "(bm25s keeps only documents with a positive score)",
    ]
    section.seconds = time.perf_counter() - started
    return section


def _version(name: str) -> str:
    from .common import _version as v

    return v(name)
