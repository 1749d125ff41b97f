"""BM25 through pyserini (Lucene), in Pyserini's two BEIR conditions.

* ``bm25-flat``: title and text in one field, as Anserini's ``BeirFlatCollection``
  (``contents = title + "\\n" + text``).
* ``bm25-multifield``: title and text indexed as separate fields (``BeirMultifieldCollection``,
  ``-fields title``), queried over ``contents=1.0 title=1.0``.

Both use k1=0.9, b=0.4, 1,000 hits and drop a hit whose docid equals the query id (Pyserini's
``--remove-query``, which matters on ArguAna and Quora), as Pyserini's BEIR reproductions do.
The index is built once per dataset checksum into the cache, by Anserini's ``IndexCollection``,
straight from the document store's normalised JSONL (:mod:`retrieval.docstore`); the data folder
itself is never written to. It runs in a child JVM (no Python, no pyserini import; started from
the JDK's AOT cache, :class:`retrieval.lucene.AotCache`), or, for corpora under
``IN_PROCESS_BELOW`` documents once this process's JVM runs, in that JVM (no start, warm JIT). The index stores only
the ids (no ``-storeRaw``, positions or doc vectors): nothing here reads them back (texts come
from the document store), and loading the stored raw JSON of every hit was most of the search time.

Search (a batch, or the app's one live query):

* this project's ``retrieval.lucene.BatchSearch`` (``retrieval/java``) in this process's JVM,
  started by :func:`retrieval.lucene.jnius` without importing pyserini's Python side. It builds no
  Lucene query: it analyses the text with Anserini's analyzer, counts the terms as Anserini's
  bag-of-words query generator does, and adds each term's BM25 part (Lucene's BM25Similarity, float
  for float; a term's parts for a query holding it once precomputed) into a score per document
  straight from the postings and norms. Those it holds in arrays once per index and field while they
  leave a quarter of the JVM heap free (SciFact: ~4 MB; 1M documents: ~0.9 GB of the default 2 GB),
  else it reads them from the index at every search. The documents are scored 32,768 at a time, and
  once the best hits so far are known, a block scores only the documents its stronger terms hold
  (MaxScore: the weaker terms' bounds cannot lift any other document to the best k). The hits are
  ranked as ``SearchCollection``'s ``BREAK_SCORE_TIES_BY_DOCID`` sort (score, then id) with its
  ``ScoreTiesAdjusterReranker`` scores (rounded to 1e-4, ties nudged by 1e-6), the queries spread
  over all cores (each result in its query's slot, so the output does not depend on the threads).
  The hits come back as Lucene doc numbers and float32 scores in one packed array, doc numbers
  become ids through a table read once per index from the id doc values, and the run's string
  columns are taken from Arrow arrays: no stored document is loaded and no Python object is made per
  hit. It ranks exactly as ``LuceneSearcher.batch_search`` does, with the same scores (tested line by
  line).
* pyserini's ``LuceneSearcher.batch_search`` (:meth:`BM25._search_pyserini`) is the reference the
  tests hold it to, and the fallback when the JVM was started without this project's jar (pyserini
  imported before :func:`retrieval.lucene.prepare_jvm`): the same run, hundreds of times slower.
  (Anserini's ``SearchCollection``, the path before the first BatchSearch, wrote scores to a TREC file
  with ``%f``; read back, scores in [8, 16) with many exact ties could swap ranks: 976 of 20,000 lines
  differed on a 1M-document corpus of repeated SciFact documents. It is gone.)

Queries of any length: every distinct analysed term of a query counts, however many. Lucene refuses
a query of more than 1,024 clauses (one per distinct term and field) by default, which made a pasted
~14 KB text fail; BatchSearch has no such limit, and :func:`retrieval.lucene.lift_clause_limit` lifts
Lucene's in this process's JVM, so the reference path and the explanations take the same text and
score it the same. A Java exception crossing pyjnius (a damaged index, say) becomes a
:class:`~retrieval.errors.RetrievalError` of one line (the command line's exit 2).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .beir import BeirDataset
from .cache import Cache
from .errors import RetrievalError, UnknownSystem
from .lucene import java_command
from .run import Run, string_order
from .system import System

CONDITIONS = {
    "flat": {"collection": "BeirFlatCollection", "index_args": [], "fields": None},
    "multifield": {
        "collection": "BeirMultifieldCollection",
        "index_args": ["-fields", "title"],
        "fields": {"contents": 1.0, "title": 1.0},
    },
}
DEFAULTS = {"k1": 0.9, "b": 0.4, "hits": 1000, "remove_query": True}
# 2: no -storeRaw/-storePositions/-storeDocvectors; built from the document store's JSONL.
INDEX_CODE_VERSION = 2
_JAVA_TRIM = "".join(map(chr, range(33)))  # what Java's String.trim() removes
C1_ONLY_BELOW = 200_000  # documents: index builds below this run the JVM with the C1 JIT only
# documents: index builds below this run in this process's JVM when it is already running (else a child JVM)
IN_PROCESS_BELOW = 200_000
IN_PROCESS_BUFFER_MB = 256


def index_key(cache: Cache, dataset: BeirDataset, condition: str):
    from .lucene import anserini_jar

    return cache.key(
        "lucene-index",
        dataset=dataset.name,
        dataset_sha256=dataset.fingerprint(),
        condition=condition,
        collection=CONDITIONS[condition]["collection"],
        anserini=anserini_jar(),
        analyzer="DefaultEnglishAnalyzer/porter/stopwords",
        code_version=INDEX_CODE_VERSION,
    )


def build_index(dataset: BeirDataset, condition: str = "flat", *, cache: Cache | None = None, progress: bool = True) -> Path:
    """The Lucene index of ``dataset`` for ``condition`` (built into the cache if absent)."""
    if condition not in CONDITIONS:
        raise UnknownSystem(f"unknown BM25 condition {condition!r}; use one of {sorted(CONDITIONS)}")
    cache = cache or Cache()
    cond = CONDITIONS[condition]
    key = index_key(cache, dataset, condition)

    def build(tmp: Path) -> dict[str, Any]:
        from .lucene import count_documents, index_collection, jvm_running, sweep_aot

        sweep_aot()  # what AOT training runs that died left in <cache>/jvm/

        store = dataset.corpus
        args = [
            "-collection",
            cond["collection"],
            "-input",
            str(store.jsonl_dir),
            "-index",
            str(tmp / "index"),
            "-generator",
            "DefaultLuceneDocumentGenerator",
            "-threads",
            str(min(4, os.cpu_count() or 1)),
            *cond["index_args"],
        ]
        if progress:
            print(f"Indexing {dataset.name} ({condition}, {len(store):,} documents) with Lucene...", file=sys.stderr)
        if len(store) < IN_PROCESS_BELOW and jvm_running():
            # This process's JVM is up and its JIT warm: no JVM to start, no jar to load (SciFact: ~1 s
            # against ~3 s in a child). The RAM buffer keeps the build inside the capped heap.
            try:
                index_collection([*args, "-memoryBuffer", str(IN_PROCESS_BUFFER_MB), "-quiet"])
            except Exception as exc:  # a JavaException: the index is in the temporary folder, dropped
                raise RetrievalError(f"Lucene indexing of {dataset.name} failed: {exc}") from exc
            count = count_documents(tmp / "index")
        else:
            count = _index_in_child(args, len(store), dataset.name)
        if count != len(store):
            raise RetrievalError(f"Lucene indexed {count} of {len(store)} documents of {dataset.name}")
        return {"documents": count}

    return cache.get_or_build(key, build) / "index"


def _index_in_child(args: list[str], documents: int, name: str) -> int:
    """Anserini's IndexCollection in a child JVM; returns the number of documents it indexed."""
    from .lucene import AotCache, run_child

    # A short build spends half its CPU in the C2 JIT compiler (SciFact: 5.6 s CPU with it, 2.7 s
    # with C1 only, same index); a long one earns it back.
    jvm = ["-XX:TieredStopAtLevel=1"] if documents < C1_ONLY_BELOW else []
    main = "io.anserini.index.IndexCollection"
    aot = AotCache(main, jvm)  # class loading from Anserini's jar, done once (SciFact: 2.6 -> 2.0 s)
    try:
        # run_child: the JVM dies with this process (killed, interrupted), never indexing on into a folder
        # that the next build sweeps away.
        returncode, log = run_child(java_command(main, args, [*jvm, *aot.options()]))
        aot.finish(returncode, log)
    finally:
        aot.close()
    if returncode != 0 or "Indexing Complete" not in log:
        raise RetrievalError(f"Lucene indexing of {name} failed (exit {returncode}):\n{log[-3000:]}")
    count = _indexed_count(log)
    if count != documents:
        raise RetrievalError(f"Lucene indexed {count} of {documents} documents of {name}:\n{log[-2000:]}")
    return count


def _indexed_count(log: str) -> int:
    for line in log.splitlines():
        if "Indexing Complete!" in line:
            digits = "".join(c for c in line.split("Indexing Complete!")[1].split("documents")[0] if c.isdigit())
            return int(digits or 0)
    return -1


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _index_for(dataset: BeirDataset, condition: str, cache: Cache, progress: bool) -> Path:
    """:func:`build_index`, remembered per dataset object, cache root and condition while the index
    folder exists: a live query does not pay the cache lookup again (hashing the dataset's file
    stamps, reading and checking the entry: about half a millisecond). A dataset object's corpus is
    read once (``BeirDataset.corpus``), so its index cannot change under it."""
    known = _INDEXES.setdefault(dataset, {})
    key = (str(cache.root), condition)
    index = known.get(key)
    if index is None or not index.is_dir():
        index = known[key] = build_index(dataset, condition, cache=cache, progress=progress)
    return index


class _Index(NamedTuple):
    """An open BatchSearch and its id table, read once per index (see :func:`_batch_searcher`)."""

    searcher: Any  # retrieval.lucene.BatchSearch
    ids: Any  # the document ids by Lucene doc number (object array of str)
    id_keys: Any  # their sort keys (retrieval.run.string_order)
    arrow_ids: Any  # the same ids as an Arrow string array: the run's docid column is taken from it
    sorted_ids: Any  # the ids in sort order, and their doc numbers: a query's own id found by bisection
    sorted_docs: Any

    def docs_of(self, qids):
        """The doc number whose id is each of ``qids``, or -1 (for dropping a query's own id)."""
        import numpy as np

        if len(self.sorted_ids) == 0:
            return np.full(len(qids), -1, dtype=np.int64)
        at = np.searchsorted(self.sorted_ids, qids)
        found = at < len(self.sorted_ids)
        found[found] = self.sorted_ids[at[found]] == qids[found]
        return np.where(found, self.sorted_docs[np.minimum(at, len(self.sorted_ids) - 1)], -1)


@functools.lru_cache(maxsize=8)
def _batch_searcher(index_path: str, k1: float, b: float) -> _Index | None:
    """The BatchSearch of ``index_path`` with its id table, or ``None`` (see the module doc)."""
    import numpy as np
    import pyarrow as pa

    from .lucene import batch_searcher

    with _engine_errors(f"opening the Lucene index {index_path}"):
        searcher = batch_searcher(index_path, k1, b)
        if searcher is None:
            return None
        ids = np.array(searcher.ids().tostring().decode("utf-8").split("\n")[:-1], dtype=object)
        if len(ids) != searcher.maxDoc():
            raise RetrievalError(f"the id table of {index_path} has {len(ids)} entries for {searcher.maxDoc()} documents")
    keys = string_order(ids)
    order = np.argsort(keys, kind="stable")
    return _Index(searcher, ids, keys, pa.array(ids, type=pa.string()), ids[order], order)


@functools.lru_cache(maxsize=8)
def _searcher(index_path: str, k1: float, b: float):
    from .lucene import lift_clause_limit, pyserini_search

    searcher = pyserini_search().LuceneSearcher(index_path)
    searcher.set_bm25(k1, b)
    lift_clause_limit()
    return searcher


@contextlib.contextmanager
def _engine_errors(what: str):
    """A Java exception raised inside ``what`` (crossing pyjnius) as this project's RetrievalError, in one line."""
    from .lucene import jnius

    try:
        yield
    except jnius().JavaException as exc:
        raise RetrievalError(f"BM25 {what} failed: {_java_message(exc)}") from exc


def _java_message(exc: BaseException) -> str:
    """``ClassName: message`` of a pyjnius JavaException, on one line."""
    name = str(getattr(exc, "classname", "") or type(exc).__name__).rsplit(".", 1)[-1]
    inner = getattr(exc, "innermessage", None)
    text = " ".join(str(inner if inner is not None else exc).split())
    return f"{name}: {text}" if text else name


class BM25(System):
    family = "bm25"
    explain_label = "Reading Lucene's explanation…"

    def __init__(self, condition: str = "flat", **params: Any) -> None:
        if condition not in CONDITIONS:
            raise UnknownSystem(f"unknown BM25 condition {condition!r}; use bm25-flat or bm25-multifield")
        self.condition = condition
        self.params = {**DEFAULTS, **params}
        self.spec = f"bm25-{condition}"
        self.label = f"BM25 ({condition})"

    def key_parts(self) -> dict[str, Any]:
        from .lucene import anserini_jar

        return {"system": "bm25", "condition": self.condition, **self.params, "anserini": anserini_jar()}

    def index(self, dataset: BeirDataset, cache: Cache | None = None) -> Path:
        """This condition's Lucene index of ``dataset`` (built once into the cache)."""
        return build_index(dataset, self.condition, cache=cache, progress=False)

    def builds_quickly(self, has_run=None) -> bool:
        """A BM25 run builds in seconds (the index in about a minute per million documents)."""
        return True

    def explain(self, dataset, query, docid, *, cache=None, run=None, qid=None, input_runs=(), progress=False):
        """Each query term's part of the score, from Lucene's own explanation (:mod:`retrieval.explain.bm25`)."""
        from .explain.bm25 import explain_bm25

        return explain_bm25(dataset, self, query, docid, cache=cache, run=run, qid=qid)

    def reproduce_args(self, *, recorded=None) -> tuple[list[str], list[str]]:
        return ["--system", self.spec], []

    def retrieve(
        self,
        dataset: BeirDataset,
        queries: Mapping[str, str],
        *,
        cache: Cache,
        progress: bool = True,
        input_runs=(),
        k: int | None = None,
    ) -> Run:
        index = _index_for(dataset, self.condition, cache, progress)
        return self._search_batch(index, queries, int(k or self.params["hits"]), progress)

    def _keep(self, qid: str, docids: list[str], hits: int) -> list[int]:
        """Positions kept of one query's hits (in Lucene's order): the query's own id dropped, then ``hits``."""
        if not self.params["remove_query"]:
            return list(range(min(hits, len(docids))))
        return [i for i, d in enumerate(docids) if d != qid][:hits]

    def _extra(self) -> int:
        # One extra hit so that dropping the query's own id still leaves `hits` results.
        return 1 if self.params["remove_query"] else 0

    def _search_batch(
        self, index: Path, queries: Mapping[str, str], hits: int, progress: bool, timings: dict[str, float] | None = None
    ) -> Run:
        """Batch search through ``BatchSearch`` (see the module doc). ``timings``, when given, receives the
        seconds of each step (the benchmark's breakdown of where the time goes)."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        clock = _Clock(timings)
        k1, b = float(self.params["k1"]), float(self.params["b"])
        found = _batch_searcher(str(index), k1, b)
        if found is None:
            return self._search_pyserini(index, queries, hits, progress)
        qids, qid_keys, block = query_block(queries)
        if not len(qids):
            return Run.from_records([], self.spec, family=self.family)
        fields = CONDITIONS[self.condition]["fields"] or {}
        if progress:
            print(f"{self.spec}: searching {len(qids):,} queries with Lucene...", file=sys.stderr)
        clock.lap("prepare")
        with _engine_errors(f"search of {len(qids):,} quer{'y' if len(qids) == 1 else 'ies'} in {index}"):
            packed = found.searcher.search(
                block, list(fields), [float(w) for w in fields.values()], hits + self._extra(), _threads()
            )
            raw = packed.tostring()
        clock.lap("java")
        n = len(qids)
        counts = np.frombuffer(raw, "<i4", n).astype(np.int64)
        total = int(counts.sum())
        docs = np.frombuffer(raw, "<i4", total, offset=4 * n)
        scores = np.frombuffer(raw, "<f4", total, offset=4 * (n + total)).astype(np.float64)
        row_query = np.repeat(np.arange(n), counts)
        own = found.docs_of(qids) if self.params["remove_query"] else None
        keep = self._kept(counts, docs, own[row_query] if own is not None else None, hits)
        docs, scores, row_query = docs[keep], scores[keep], row_query[keep]
        clock.lap("unpack")
        # The string columns taken from Arrow arrays (no Python object per hit), in the run's dtype.
        run = Run.from_arrays(
            pd.array(pa.array(qids, type=pa.string()).take(row_query), dtype=str),
            pd.array(found.arrow_ids.take(docs), dtype=str),
            scores,
            self.spec,
            qid_key=qid_keys[row_query],
            docid_key=found.id_keys[docs],
            family=self.family,
        )
        clock.lap("run")
        return run

    def _kept(self, counts, docs, own_docs, hits: int):
        """Which hits to keep, given each query's hits in Lucene's order (``counts`` per query, then
        their doc numbers): the query's own document (``own_docs`` per hit, -1 for none; ``None``
        keeps all) dropped (Pyserini's --remove-query), then the first ``hits`` (as :meth:`_keep`
        does for one query of the reference path)."""
        import numpy as np

        keep = docs != own_docs if own_docs is not None else np.ones(len(docs), dtype=bool)
        kept_before = np.cumsum(keep) - keep
        first_kept = np.repeat(np.append(kept_before, 0)[np.cumsum(counts) - counts], counts)
        return keep & (kept_before - first_kept < hits)

    def _search_pyserini(self, index: Path, queries: Mapping[str, str], hits: int, progress: bool) -> Run:
        """pyserini's in-process ``LuceneSearcher.batch_search``: the reference the tests hold
        :meth:`_search_batch` to, and its fallback (see the module doc)."""
        searcher = _searcher(str(index), float(self.params["k1"]), float(self.params["b"]))
        qids = list(queries)
        fields = CONDITIONS[self.condition]["fields"]
        records: list[tuple[str, str, float]] = []
        from tqdm.auto import tqdm

        batch = 256
        with tqdm(
            total=len(qids), desc=f"{self.spec} search", unit="q", disable=not progress or len(qids) < 2, file=sys.stderr
        ) as bar:
            for start in range(0, len(qids), batch):
                chunk = qids[start : start + batch]
                texts = [queries[q] for q in chunk]
                kwargs = {"fields": fields} if fields else {}
                with _engine_errors(f"search of {len(chunk):,} queries in {index} (pyserini)"):
                    results = searcher.batch_search(texts, chunk, k=hits + self._extra(), threads=_threads(), **kwargs)
                for q in chunk:
                    found = results.get(q, [])
                    keep = self._keep(q, [h.docid for h in found], hits)
                    records.extend((q, found[i].docid, float(found[i].score)) for i in keep)
                bar.update(len(chunk))
        return Run.from_records(records, self.spec, family=self.family)


class _Clock:
    """Seconds per named step into ``into`` (a no-op when it is ``None``)."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into
        self.last = time.perf_counter() if into is not None else 0.0

    def lap(self, name: str) -> None:
        if self.into is not None:
            now = time.perf_counter()
            self.into[name] = self.into.get(name, 0.0) + now - self.last
            self.last = now


def _threads() -> int:
    """Search threads: the cores this process may run on (BatchSearch spreads a batch's queries over
    them; each result lands in its query's slot, so the run does not depend on the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def query_block(queries: Mapping[str, str]):
    """What BatchSearch is sent for ``queries``: the qids with text left (:func:`_clean_queries`) in qid order, so
    that the hits come back in the run's order (no re-sort needed), their sort keys, and their texts as one
    newline-separated UTF-8 block (a bytearray crosses pyjnius as one copy; bytes went element by element: ~80 us
    more per call)."""
    import numpy as np

    texts = _clean_queries(queries)
    qids = np.array(list(texts), dtype=object)
    if len(qids) > 1:
        qid_keys = string_order(qids)
        by_key = np.argsort(qid_keys, kind="stable")
        qids, qid_keys = qids[by_key], qid_keys[by_key]
    else:
        qid_keys = np.zeros(len(qids), dtype=np.int64)
    return qids, qid_keys, bytearray("".join([f"{texts[q]}\n" for q in qids]), "utf-8", "replace")


def _clean_queries(queries: Mapping[str, str]) -> dict[str, str]:
    """Query texts for BatchSearch's newline-separated block: whitespace runs (tabs, newlines) become
    one space, which the analyzer tokenises identically, and Java's ``trim`` characters (controls)
    are stripped, which it drops too. A query with no text left is dropped: it has no hits. (Tested
    against LuceneSearcher, which gets the raw texts, on such queries.)"""
    out = {}
    for q, text in queries.items():
        clean = " ".join(text.split()).strip(_JAVA_TRIM)
        if clean:
            out[q] = clean
    return out


def parse_bm25(spec: str, **_options: Any) -> BM25:
    condition = spec.split("-", 1)[1] if "-" in spec else "flat"
    return BM25(condition)
