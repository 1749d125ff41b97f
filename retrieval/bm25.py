"""BM25 through pyserini (Lucene), in Pyserini's two BEIR conditions.

* ``bm25-flat``: title and text in one field, as Anserini's ``BeirFlatCollection``
  (``contents = title + "\\n" + text``).
* ``bm25-multifield``: title and text indexed as separate fields (``BeirMultifieldCollection``,
  ``-fields title``), queried over ``contents=1.0 title=1.0``.

Both use k1=0.9, b=0.4, 1,000 hits and drop a hit whose docid equals the query id (Pyserini's
``--remove-query``, which matters on ArguAna and Quora), as Pyserini's BEIR reproductions do.
The index is built once per dataset checksum into the cache, in a child process (the JVM of the
parent stays free for searching), from a normalised copy of the corpus; the data folder itself
is never written to.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from .beir import BeirDataset
from .cache import Cache
from .errors import RetrievalError, UnknownSystem
from .run import Run
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
INDEX_CODE_VERSION = 1


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
        staging = cache.scratch(key) / "input"
        staging.mkdir(parents=True, exist_ok=True)
        _write_normalised_corpus(dataset, staging / "corpus.jsonl", progress)
        cmd = [
            sys.executable, "-m", "retrieval.lucene",
            "-collection", cond["collection"], "-input", str(staging), "-index", str(tmp / "index"),
            "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(min(4, os.cpu_count() or 1)),
            "-storePositions", "-storeDocvectors", "-storeRaw", *cond["index_args"],
        ]
        if progress:
            print(f"Indexing {dataset.name} ({condition}, {len(dataset.corpus):,} documents) with Lucene...", file=sys.stderr)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        log = proc.stdout + proc.stderr
        if proc.returncode != 0 or "Indexing Complete" not in log:
            raise RetrievalError(f"Lucene indexing of {dataset.name} failed (exit {proc.returncode}):\n{log[-3000:]}")
        count = _indexed_count(log)
        if count != len(dataset.corpus):
            raise RetrievalError(f"Lucene indexed {count} of {len(dataset.corpus)} documents of {dataset.name}:\n{log[-2000:]}")
        import shutil

        shutil.rmtree(staging.parent, ignore_errors=True)
        return {"documents": count}

    return cache.get_or_build(key, build) / "index"


def _write_normalised_corpus(dataset: BeirDataset, path: Path, progress: bool) -> None:
    from tqdm.auto import tqdm

    with open(path, "w", encoding="utf-8") as out:
        for doc in tqdm(dataset.corpus.values(), desc="prepare corpus", unit="doc", disable=not progress, file=sys.stderr):
            out.write(json.dumps({"_id": doc.docid, "title": doc.title, "text": doc.text}, ensure_ascii=False) + "\n")


def _indexed_count(log: str) -> int:
    for line in log.splitlines():
        if "Indexing Complete!" in line:
            digits = "".join(c for c in line.split("Indexing Complete!")[1].split("documents")[0] if c.isdigit())
            return int(digits or 0)
    return -1


@functools.lru_cache(maxsize=8)
def _searcher(index_path: str, k1: float, b: float):
    from .lucene import pyserini_search

    searcher = pyserini_search().LuceneSearcher(index_path)
    searcher.set_bm25(k1, b)
    return searcher


class BM25(System):
    family = "bm25"

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

    def retrieve(self, dataset: BeirDataset, queries: Mapping[str, str], *, cache: Cache, progress: bool = True, k: int | None = None) -> Run:
        index = build_index(dataset, self.condition, cache=cache, progress=progress)
        searcher = _searcher(str(index), float(self.params["k1"]), float(self.params["b"]))
        hits = int(k or self.params["hits"])
        qids = list(queries)
        fields = CONDITIONS[self.condition]["fields"]
        records: list[tuple[str, str, float]] = []
        from tqdm.auto import tqdm

        batch = 256
        with tqdm(total=len(qids), desc=f"{self.spec} search", unit="q", disable=not progress or len(qids) < 2, file=sys.stderr) as bar:
            for start in range(0, len(qids), batch):
                chunk = qids[start : start + batch]
                texts = [queries[q] for q in chunk]
                kwargs = {"fields": fields} if fields else {}
                # One extra hit so that dropping the query's own id still leaves `hits` results.
                extra = 1 if self.params["remove_query"] else 0
                results = searcher.batch_search(texts, chunk, k=hits + extra, threads=os.cpu_count() or 1, **kwargs)
                for q in chunk:
                    kept = [h for h in results.get(q, []) if not (self.params["remove_query"] and h.docid == q)]
                    records.extend((q, h.docid, float(h.score)) for h in kept[:hits])
                bar.update(len(chunk))
        return Run.from_records(records, self.spec, family=self.family)


def parse_bm25(spec: str, **_options: Any) -> BM25:
    condition = spec.split("-", 1)[1] if "-" in spec else "flat"
    return BM25(condition)
