"""BM25: our Lucene path against bm25s (numba and numpy backends) on the same documents and queries.

Ours: :class:`retrieval.bm25.BM25` ``bm25-flat`` (k1=0.9, b=0.4), index built by
:func:`retrieval.bm25.build_index` into a fresh cache (a child JVM, as a user pays it; the document
store it reads is the dataset's, built once per dataset), search by ``BM25.retrieve`` (this
project's ``BatchSearch`` in the in-process JVM, all cores) up to a :class:`Run`. Its run is checked
line by line, scores included, against pyserini's ``LuceneSearcher.batch_search`` on the same index
(the reference), which is timed once. Also timed: the index build again once this process's JVM runs
(then in-process), one live query at a time (``retrieval.runner.live_search``, from the call to the
ranked ids), and where the time of a batch goes (index lookup, Python set-up, the Java call, unpacking,
the Run build).

bm25s: the same ``title + "\\n" + text`` documents, English stop words and Snowball stemmer
(PyStemmer, as bm25s recommends), ``method="lucene"``, the same k1 and b, tokenised with
``bm25s.tokenize``, in three set-ups: the numba backend (bm25s' recommended fast path) with
``n_threads=0`` (in bm25s 0.3.16 that means one thread: ``_retrieve_numba_functional`` maps 0 to 1
and then runs its serial kernel) and with ``n_threads=-1`` (all cores, numba's parallel kernel), and
the numpy backend on all cores. Each ends in a :class:`Run` the same way ours does
(``Run.from_arrays`` with the document ids' sort keys computed once at indexing, the hits with a
positive score, the query's own id dropped, the string columns taken from Arrow arrays). The
ratios are taken against the faster numba set-up.

Timing: every contender searches the same queries in the same process, interleaved round by round
(:func:`bench.common.interleaved`), at each k, once on the machine as it is and once per extra busy
process asked for (``busy``: a ``while True: pass`` process, started before and stopped after those
rounds).
"""

from __future__ import annotations

import copy
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, Section, cores, fmt, interleaved, median, percentile, timed

K1, B = 0.9, 0.4


def doc_texts(dataset) -> tuple[list[str], list[str]]:
    """Docids and ``title + "\\n" + text`` (Anserini's BeirFlatCollection contents)."""
    ids = list(dataset.corpus)
    return ids, [f"{d.title}\n{d.text}" if d.title else d.text for d in dataset.corpus.values()]


class Bm25sRetriever:
    """bm25s configured as close to our Lucene BM25 as it allows.

    ``backend``: ``"numpy"`` or ``"numba"``; ``threads``: bm25s' ``n_threads`` (numpy: a thread pool of
    that size; numba: 0 or 1 the serial kernel, -1 or more than 1 the parallel one). ``tokens``: the
    corpus already tokenised by :func:`tokenize` (shared by several set-ups; the index is built here).
    """

    def __init__(
        self,
        docids: list[str],
        texts: list[str] | None = None,
        *,
        backend: str = "numpy",
        threads: int | None = None,
        tokens=None,
    ) -> None:
        import bm25s
        import pyarrow as pa

        from retrieval.run import string_order

        self.docids = _object_array(docids)
        self.docid_keys = string_order(self.docids)
        self.arrow_ids = pa.array(self.docids, type=pa.string())
        self.position = {d: i for i, d in enumerate(docids)}  # a query's own id, dropped as ours drops it
        self.backend = backend
        self.threads = cores() if threads is None else threads
        self.stemmer = _stemmer()
        if tokens is None:
            tokens = tokenize(texts or [], self.stemmer)
        self.model = bm25s.BM25(k1=K1, b=B, method="lucene", backend=backend)
        self.model.index(tokens, show_progress=False)

    def retrieve(self, queries: dict[str, str], k: int = 1000):
        """A :class:`retrieval.run.Run` of the top ``k`` (documents with a positive score) per query."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        from retrieval.run import Run, string_order

        qids = _object_array(list(queries))
        qid_keys = string_order(qids)
        by_key = np.argsort(qid_keys, kind="stable")  # queries in qid order, as ours: the run needs no re-sort
        qids, qid_keys = qids[by_key], qid_keys[by_key]
        tokens = tokenize([queries[q] for q in qids], self.stemmer)
        k = min(k, len(self.docids))
        docs, scores = self.model.retrieve(tokens, k=k, n_threads=self.threads, show_progress=False)
        docs = np.asarray(docs).reshape(-1)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        row_query = np.repeat(np.arange(len(qids)), k)
        own = np.array([self.position.get(q, -1) for q in qids], dtype=np.int64)
        keep = (scores > 0) & (docs != own[row_query])
        docs, scores, row_query = docs[keep], scores[keep], row_query[keep]
        return Run.from_arrays(  # the string columns taken from Arrow arrays, as ours are
            pd.array(pa.array(qids, type=pa.string()).take(row_query), dtype=str),
            pd.array(self.arrow_ids.take(docs), dtype=str),
            scores,
            "bm25s",
            qid_key=qid_keys[row_query],
            docid_key=self.docid_keys[docs],
            family="bm25",
        )


def tokenize(texts: list[str], stemmer):
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)


def _object_array(values):
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _stemmer():
    try:
        import Stemmer
    except ImportError:  # bench-only dependency; without it bm25s runs unstemmed (and says so)
        return None
    return Stemmer.Stemmer("english")


def _numba() -> str:
    """numba's version, or "" when it is not installed (the numba contenders are then left out)."""
    try:
        import numba
    except ImportError:
        return ""
    return numba.__version__


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


class Busy:
    """``n`` processes spinning ``while True: pass`` (unpinned, nice 0) while the block runs."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Busy:
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        time.sleep(0.5 if self.n else 0)  # let the scheduler see them
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()


def run(
    dataset,
    *,
    cache,
    split: str = "test",
    k: int | list[int] = (10, 1000),
    rounds: int = 3,
    index_rounds: int = 2,
    busy: int | list[int] = (0,),
    live: int = 300,
    reference: bool = True,
    warmup: float = 2.0,
) -> Section:
    """Queries per second at each k (quiet and busy), live-query latency, the time breakdown, index build
    time, nDCG@10, and the run checked against pyserini's batch_search (the reference run)."""
    from retrieval.bm25 import BM25, IN_PROCESS_BELOW, _index_for, build_index
    from retrieval.cache import Cache
    from retrieval.evaluate import evaluate

    ks = [k] if isinstance(k, int) else list(k)
    busy_levels = [busy] if isinstance(busy, int) else list(busy)
    section = Section("BM25")
    started = time.perf_counter()
    queries = dataset.split_queries(split)
    qrels = dataset.qrels(split)
    docids, texts = doc_texts(dataset)
    n = len(queries)

    # Index build: ours in a fresh cache each time (child JVM start included, as a user pays it). The
    # machine's first child build trains the JVM's AOT cache (retrieval.lucene.AotCache) once: timed apart.
    from retrieval.lucene import AotCache

    aot = AotCache("io.anserini.index.IndexCollection", ["-XX:TieredStopAtLevel=1"])
    first_build = None
    ours_index, ours_index_cpu = [], []
    if index_rounds > 0:
        if aot.enabled and not aot.path.is_file():
            with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
                first_build = timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))[0]
        for _ in range(index_rounds):
            with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
                cpu0 = _cpu_children()
                seconds, _ = timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))
                ours_index.append(seconds)
                ours_index_cpu.append(_cpu_children() - cpu0)

    # bm25s: the corpus tokenised once (timed), then one index per backend (each timed).
    stemmer = _stemmer()
    Bm25sRetriever(docids[:200], texts[:200])  # warm-up (imports, first allocations)
    cpu0 = time.process_time()
    tokenize_s, tokens = timed(lambda: tokenize(texts, stemmer))
    tokenize_cpu = time.process_time() - cpu0
    texts = None  # the corpus text is no longer needed (1M documents: ~3.5 GB)
    numba_version = _numba()
    # One index per backend; the two numba set-ups share theirs (they differ only in n_threads).
    contenders_bm25s, index_s = {}, {}
    if numba_version:
        index_s["bm25s-numba"], numba = timed(lambda: Bm25sRetriever(docids, backend="numba", threads=0, tokens=tokens))
        contenders_bm25s["bm25s-numba-0"] = numba
        contenders_bm25s["bm25s-numba-all"] = copy.copy(numba)
        contenders_bm25s["bm25s-numba-all"].threads = -1
    index_s["bm25s-numpy"], contenders_bm25s["bm25s-numpy"] = timed(
        lambda: Bm25sRetriever(docids, backend="numpy", threads=cores(), tokens=tokens)
    )
    tokens = None

    # Search: the index for ours comes from the bench cache; every contender produces a Run of k hits per query.
    system = BM25("flat")
    index = build_index(dataset, "flat", cache=cache, progress=False)
    results, times, cpu, identical, reference_s = {}, {}, {}, {}, {}

    def measured(label, name, fn):
        def call():
            c0 = time.process_time()
            results[label, name] = fn()
            cpu.setdefault((label, name), []).append(time.process_time() - c0)

        return call

    for extra in busy_levels:
        with Busy(extra):
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            for kk in ks:
                label = (extra, kk)
                contenders = {
                    "ours": measured(
                        label, "ours", lambda kk=kk: system.retrieve(dataset, queries, cache=cache, progress=False, k=kk)
                    )
                }
                for name, retriever in contenders_bm25s.items():
                    contenders[name] = measured(label, name, lambda r=retriever, kk=kk: r.retrieve(queries, k=kk))
                times[label] = interleaved(contenders, rounds, warmup_seconds=warmup)
                times[label]["load"] = [load]
                for name in contenders:
                    cpu[label, name] = cpu[label, name][-rounds:]  # the timed rounds (warm-up calls dropped)
    for kk in ks:
        if reference:
            reference_s[kk], old = timed(lambda kk=kk: system._search_pyserini(index, queries, kk, False))
            identical[kk] = same(results[(busy_levels[0], kk), "ours"], old, scores=True)

    # Where the time of one batch goes (ours), at each k: median over rounds of each step.
    breakdown = {}
    for kk in ks:
        steps: dict[str, list[float]] = {}
        for _ in range(max(3, rounds)):
            parts: dict[str, float] = {}
            t0 = time.perf_counter()
            found = _index_for(dataset, "flat", cache, False)
            parts["index lookup"] = time.perf_counter() - t0
            system._search_batch(found, queries, kk, False, timings=parts)
            for step, seconds in parts.items():
                steps.setdefault(step, []).append(seconds)
        breakdown[kk] = {step: median(v) for step, v in steps.items()}

    # One live query at a time: ours through live_search (the app's path) to the ranked ids; bm25s-numba
    # (serial: one query gains nothing from threads) for one query to its ranked ids, interleaved.
    live_ms = _live(dataset, system, queries, cache, contenders_bm25s.get("bm25s-numba-0"), live) if live else {}

    ndcg_ours = evaluate(results[(busy_levels[0], max(ks)), "ours"], qrels, ["nDCG@10"]).mean["nDCG@10"]
    ndcg = {
        name: evaluate(results[(busy_levels[0], max(ks)), name], qrels, ["nDCG@10"]).mean["nDCG@10"] for name in contenders_bm25s
    }

    # Index build again, now that this process's JVM runs (after the searches): small corpora are then
    # built in it (retrieval.bm25.IN_PROCESS_BELOW), as in the app or a CLI run over several datasets.
    from retrieval.lucene import jvm_running

    warm_index = []
    for _ in range(index_rounds):
        with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
            warm_index.append(timed(lambda: build_index(dataset, "flat", cache=Cache(Path(tmp)), progress=False))[0])
    warm_in_process = jvm_running() and len(docids) < IN_PROCESS_BELOW

    # ---- rows -----------------------------------------------------------------------------------
    numba_names = [name for name in contenders_bm25s if name.startswith("bm25s-numba")]

    def fastest(label) -> str:
        """The faster numba set-up at ``label`` (the numpy one without numba)."""
        if not numba_names:
            return "bm25s-numpy"
        return min(numba_names, key=lambda name: median(times[label][name]))

    for extra in busy_levels:
        for kk in ks:
            label = (extra, kk)
            qps = {name: n / median(t) for name, t in times[label].items() if name != "load"}
            where = f"{dataset.name} {split}, {n} q, k={kk}, " + ("as is" if not extra else f"+{extra} busy process")
            best = fastest(label)
            if numba_names:
                section.rows.append(
                    Row(
                        "bm25",
                        f"queries/s vs {best} ({where})",
                        fmt(qps["ours"]),
                        fmt(qps[best]),
                        qps["ours"] / qps[best],
                        "speed-up ours/bm25s-numba",
                        ">= 1.0",
                    )
                )
            section.rows.append(
                Row(
                    "bm25",
                    f"queries/s vs bm25s-numpy ({where})",
                    fmt(qps["ours"]),
                    fmt(qps["bm25s-numpy"]),
                    qps["ours"] / qps["bm25s-numpy"],
                    "speed-up ours/bm25s-numpy",
                    ">= 1.0",
                )
            )
    if live_ms:
        section.rows.append(
            Row(
                "bm25",
                f"one live query, ms p50 ({dataset.name}, {len(live_ms['ours'])} queries, k=10, call to ranked ids)",
                f"{percentile(live_ms['ours'], 50):.2f}",
                f"{percentile(live_ms['bm25s'], 50):.2f}" if live_ms.get("bm25s") else "",
                percentile(live_ms["bm25s"], 50) / percentile(live_ms["ours"], 50) if live_ms.get("bm25s") else None,
                "speed-up ours/bm25s-numba (serial)",
                note="ours: live_search; target p50 <= 2 ms on SciFact, <= 20 ms on 1M documents",
            )
        )
    for kk in ks:
        label = (busy_levels[0], kk)
        best = fastest(label)
        if reference:
            section.rows.append(
                Row(
                    "bm25",
                    f"queries/s, pyserini batch_search (the reference run, same index, k={kk}, one round)",
                    fmt(n / reference_s[kk]),
                    fmt(n / median(times[label][best])),
                    median(times[label][best]) / reference_s[kk],
                    f"speed-up pyserini/{best}",
                )
            )
        section.rows.append(
            Row(
                "bm25",
                f"search CPU s (process, all threads, k={kk})",
                fmt(median(cpu[label, "ours"])),
                fmt(median(cpu[label, best])),
                median(cpu[label, best]) / median(cpu[label, "ours"]),
                f"CPU ratio {best}/ours",
            )
        )
    idx_theirs = tokenize_s + index_s["bm25s-numpy"]
    if ours_index:
        idx_ours = median(ours_index)
        section.rows += [
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
        ]
    theirs = fastest((busy_levels[0], max(ks)))
    section.rows.append(
        Row(
            "bm25",
            "nDCG@10",
            f"{ndcg_ours:.4f}",
            f"{ndcg[theirs]:.4f}",
            ndcg_ours / ndcg[theirs] if ndcg[theirs] else None,
            f"quality ours/{theirs}",
            ">= 1.0",
            # the scale corpus repeats each document ~193 times under new ids: the ranking among exact ties decides
            # whether the original (the judged id) is in the top 10; ours breaks ties by id as Anserini does
            note="" if ndcg[theirs] else "theirs 0: exact ties (repeated documents) broken in another order",
        )
    )

    # ---- lines ------------------------------------------------------------------------------------
    section.lines.append(
        f"ours: retrieval/java BatchSearch over the Lucene of pyserini {_version('pyserini')}'s fat jar, in the in-process JVM, "
        f"{cores()} threads, k1={K1}, b={B}; bm25s {_version('bm25s')} method=lucene, stemmer="
        f"{'Snowball english (PyStemmer)' if stemmer else 'none (PyStemmer missing)'}; "
        + (
            f"numba {numba_version}: bm25s-numba-0 = backend numba, n_threads=0 (serial kernel); bm25s-numba-all = n_threads=-1 (parallel kernel, {os.cpu_count()} threads); "
            if numba_version
            else "numba not installed: no numba contender; "
        )
        + f"bm25s-numpy = backend numpy, n_threads={cores()}"
    )
    for extra in busy_levels:
        for kk in ks:
            label = (extra, kk)
            per = "; ".join(f"{name} {', '.join(f'{t:.4f}' for t in ts)}" for name, ts in times[label].items() if name != "load")
            section.lines.append(
                f"k={kk}, {'as is' if not extra else f'+{extra} busy'} (load average {times[label]['load'][0]:.2f} when the rounds began): "
                f"seconds per round (median of {rounds}, warm-up excluded; all end in a Run): {per}"
            )
            section.lines.append(
                f"k={kk}, {'as is' if not extra else f'+{extra} busy'}: search CPU seconds per round (this process, JVM and numba threads included): "
                + "; ".join(
                    f"{name} {', '.join(f'{t:.4f}' for t in cpu[label, name])}" for name in times[label] if name != "load"
                )
            )
    for kk in ks:
        parts = breakdown[kk]
        total = sum(parts.values())
        section.lines.append(
            f"where one batch's time goes (ours, k={kk}, {n} queries, median of {max(3, rounds)}): "
            + ", ".join(f"{step} {1e3 * s:.2f} ms ({100 * s / total:.0f}%)" for step, s in parts.items())
            + f"; total {1e3 * total:.2f} ms (index lookup: the cache finding the index; prepare: query texts cleaned, sorted by qid, "
            "joined; java: the pyjnius call and BatchSearch, which analyses, scores and ranks every query on all cores and packs "
            "the hits in one array; unpack: that array read by numpy and the query's own id dropped; run: Run.from_arrays)"
        )
        if reference:
            section.lines.append(
                f"k={kk}: our run identical to pyserini batch_search's (qid, docid, rank and score on every line): {identical[kk]}; "
                f"pyserini batch_search {reference_s[kk]:.2f} s (one round)"
            )
    if live_ms:
        section.lines.append(
            f"one live query (k=10, {len(live_ms['ours'])} queries of the split one at a time, after {min(50, len(live_ms['ours']))} untimed): "
            f"ours (live_search, call to ranked ids) p50 {percentile(live_ms['ours'], 50):.2f} ms, p95 {percentile(live_ms['ours'], 95):.2f} ms"
            + (
                f"; bm25s-numba serial (tokenize, retrieve, ids) p50 {percentile(live_ms['bm25s'], 50):.2f} ms, p95 {percentile(live_ms['bm25s'], 95):.2f} ms"
                if live_ms.get("bm25s")
                else ""
            )
        )
    if ours_index:
        section.lines.append(
            f"index build seconds, ours: {', '.join(f'{t:.1f}' for t in ours_index)} (child CPU {', '.join(f'{t:.1f}' for t in ours_index_cpu)}); "
            f"with this process's JVM running (after the searches): {', '.join(f'{t:.1f}' for t in warm_index)}; "
            f"child JVM from its AOT cache: {aot.enabled and aot.path.is_file()}"
            f"{f' (trained by this run: first build {first_build:.1f} s, untimed above)' if first_build is not None else ''}"
        )
    section.lines.append(
        f"bm25s: tokenize {tokenize_s:.1f} s (CPU {tokenize_cpu:.1f}); index "
        + ", ".join(f"{name} {s:.1f} s" for name, s in index_s.items())
    )
    section.lines.append(f"index size: {_dir_mb(index):.1f} MB")
    kk = max(ks)
    section.lines.append(
        f"hits at k={kk}: ours {len(results[(busy_levels[0], kk), 'ours']):,}, "
        + ", ".join(f"{name} {len(results[(busy_levels[0], kk), name]):,}" for name in contenders_bm25s)
        + " (bm25s keeps only documents with a positive score); nDCG@10 "
        + ", ".join(f"{name} {v:.4f}" for name, v in ndcg.items())
    )
    section.seconds = time.perf_counter() - started
    return section


def _live(dataset, system, queries, cache, bm25s, count: int) -> dict[str, list[float]]:
    """Milliseconds per live query, ours (live_search to the ranked ids) and bm25s-numba (tokenize, retrieve
    one query, ids), interleaved query by query; the first 50 of each are warm-up (not returned)."""
    from retrieval.runner import live_search

    texts = list(queries.values())
    texts = (texts * (1 + (count + 50) // max(1, len(texts))))[: count + 50]
    out: dict[str, list[float]] = {"ours": [], "bm25s": []}
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        live_search(dataset, system, text, k=10, cache=cache).frame["docid"].tolist()
        t1 = time.perf_counter()
        if bm25s is not None:
            docs, _ = bm25s.model.retrieve(
                tokenize([text], bm25s.stemmer), k=min(10, len(bm25s.docids)), n_threads=bm25s.threads, show_progress=False
            )
            bm25s.docids[docs[0]].tolist()
        t2 = time.perf_counter()
        if i >= 50:
            out["ours"].append(1e3 * (t1 - t0))
            if bm25s is not None:
                out["bm25s"].append(1e3 * (t2 - t1))
    return out


def same(a, b, *, scores: bool = False) -> bool:
    """Two runs with the same (qid, docid, rank) on every line (and the same scores, if asked)."""
    cols = ["qid", "docid", "rank", "score"] if scores else ["qid", "docid", "rank"]
    x, y = a.frame[cols].reset_index(drop=True), b.frame[cols].reset_index(drop=True)
    return len(x) == len(y) and x.equals(y)


def _version(name: str) -> str:
    from .common import _version as v

    return v(name)
