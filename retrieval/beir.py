"""BEIR datasets: the catalogue (kept as data), strict loaders for a local BEIR folder.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text", ...}``), ``queries.jsonl``
(``{"_id", "text", ...}``) and ``qrels/<split>.tsv`` (``query-id  corpus-id  score`` with a header).
The loaders tolerate a UTF-8 BOM, CRLF line endings and blank lines; anything else that is off (bad
JSON, a missing field, a duplicate id, qrels naming an unknown query or document, an empty file, bytes
that are not UTF-8) raises :class:`~retrieval.errors.DataFormatError` naming the file, line and column.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .beir_files import Document, _as_id, _json_records, _lines, iter_corpus, key_column
from .errors import DataFormatError, DatasetUnavailable

if TYPE_CHECKING:
    from .cache import Cache
    from .docstore import DocStore

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"


@dataclass(frozen=True)
class DatasetInfo:
    """One row of ``data/beir_datasets.csv``."""

    name: str
    display_name: str
    domain: str
    task: str
    corpus_docs: int
    test_queries: int
    splits: tuple[str, ...]
    downloadable: bool
    md5: str
    license: str
    homepage: str

    @property
    def url(self) -> str | None:
        return BEIR_URL.format(name=self.name) if self.downloadable else None


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, DatasetInfo]:
    """The BEIR datasets, keyed by BEIR name."""
    text = resources.files("retrieval.data").joinpath("beir_datasets.csv").read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["name"]] = DatasetInfo(
            name=row["name"],
            display_name=row["display_name"],
            domain=row["domain"],
            task=row["task"],
            corpus_docs=int(row["corpus_docs"]),
            test_queries=int(row["test_queries"]),
            splits=tuple(row["splits"].split("|")),
            downloadable=row["downloadable"] == "yes",
            md5=row["md5"],
            license=row["license"],
            homepage=row["homepage"],
        )
    return out


def dataset_info(name: str) -> DatasetInfo | None:
    return catalogue().get(name)


@dataclass(frozen=True)
class Qrels:
    """Relevance judgements of one split: ``frame`` has ``qid, docid, relevance`` (str, str, int).

    ``source`` says whose they are: ``"official"`` (the dataset's qrels file), or ``"merged"`` / ``"mine"`` (with
    users' judgements, :mod:`retrieval.judgements`), which change with every judgement and are never cached.
    """

    frame: pd.DataFrame
    split: str
    source: str = "official"

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, split: str, *, source: str = "official") -> Qrels:
        """Qrels from a frame with ``qid, docid, relevance``: ids as str, relevance as int64; a pair listed twice
        is an error."""
        missing = {"qid", "docid", "relevance"} - set(frame.columns)
        if missing:
            raise ValueError(f"qrels frame lacks columns {sorted(missing)}")
        out = pd.DataFrame(
            {
                "qid": frame["qid"].astype(str).to_numpy(),
                "docid": frame["docid"].astype(str).to_numpy(),
                "relevance": frame["relevance"].astype("int64").to_numpy(),
            }
        )
        twice = out.duplicated(["qid", "docid"])
        if twice.any():
            row = out[twice].iloc[0]
            raise ValueError(f"qrels judge document {row['docid']} twice for query {row['qid']}")
        return cls(out, split, source)

    @functools.cached_property
    def by_query(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        columns = (self.frame[c].to_numpy(dtype=object).tolist() for c in ("qid", "docid"))
        for q, d, r in zip(*columns, self.frame["relevance"].to_numpy(dtype="int64").tolist()):
            out.setdefault(q, {})[d] = r
        return out

    @property
    def qids(self) -> list[str]:
        return list(self.by_query)

    def for_query(self, qid: str) -> dict[str, int]:
        return self.by_query.get(str(qid), {})

    def relevant(self, qid: str, min_rel: int = 1) -> dict[str, int]:
        return {d: r for d, r in self.for_query(qid).items() if r >= min_rel}


# ---- line readers ------------------------------------------------------------------------
def load_corpus(path: str | Path) -> dict[str, Document]:
    """The whole corpus in memory (small corpora, tests); datasets use the on-disk store instead."""
    return {doc.docid: doc for doc in iter_corpus(path)}


def load_queries(path: str | Path) -> dict[str, str]:
    path = Path(path)
    queries: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, obj, line in _json_records(path, ("_id", "text")):
        qid = _as_id(obj["_id"], path, lineno, line)
        if qid in queries:
            raise DataFormatError(
                path, lineno, f"duplicate query id {qid!r} (first on line {first_line[qid]})", column=key_column(line, "_id")
            )
        if not isinstance(obj["text"], str):
            raise DataFormatError(
                path, lineno, f"'text' must be a string, got {type(obj['text']).__name__}", column=key_column(line, "text")
            )
        queries[qid] = obj["text"]
        first_line[qid] = lineno
    if not queries:
        raise DataFormatError(path, None, "no queries")
    return queries


def load_qrels(path: str | Path, queries: Mapping[str, str] | None = None, corpus: Mapping[str, object] | None = None) -> Qrels:
    """Read a BEIR qrels TSV; with ``queries``/``corpus`` given, unknown ids are errors."""
    path = Path(path)
    qids: list[str] = []
    docids: list[str] = []
    rels: list[int] = []
    seen: dict[tuple[str, str], int] = {}
    header_seen = False
    for lineno, line in _lines(path):
        cols = line.split("\t")
        # the 1-based column where each tab-separated field starts
        starts = [1]
        for c in cols[:-1]:
            starts.append(starts[-1] + len(c) + 1)
        if not header_seen:
            header_seen = True
            if len(cols) >= 3 and not _is_int(cols[2]):
                continue  # the header line
        if len(cols) != 3:
            where = starts[3] if len(cols) > 3 else len(line) + 1
            raise DataFormatError(path, lineno, f"expected 3 tab-separated columns, found {len(cols)}", column=where)
        qid, docid, score = (c.strip() for c in cols)
        if not _is_int(score):
            raise DataFormatError(path, lineno, f"relevance {score!r} is not an integer", column=starts[2])
        if queries is not None and qid not in queries:
            raise DataFormatError(path, lineno, f"query {qid!r} is not in queries.jsonl", column=starts[0])
        if corpus is not None and docid not in corpus:
            raise DataFormatError(path, lineno, f"document {docid!r} is not in corpus.jsonl", column=starts[1])
        if (qid, docid) in seen:
            raise DataFormatError(
                path, lineno, f"pair ({qid}, {docid}) judged twice (first on line {seen[(qid, docid)]})", column=starts[0]
            )
        seen[(qid, docid)] = lineno
        qids.append(qid)
        docids.append(docid)
        rels.append(int(score))
    if not qids:
        raise DataFormatError(path, None, "no judgements")
    frame = pd.DataFrame({"qid": qids, "docid": docids, "relevance": pd.Series(rels, dtype="int64")})
    return Qrels(frame, path.stem)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# ---- a dataset on disk ---------------------------------------------------------------------
class BeirDataset:
    """A BEIR folder; files load lazily, once, and are validated against each other.

    ``corpus`` is a read-only ``Mapping[str, Document]`` backed by the on-disk document store
    (:mod:`retrieval.docstore`), built once per corpus checksum into ``cache`` (default: the default
    cache): opening reads ids and offsets, never all texts.
    """

    def __init__(self, path: str | Path, name: str | None = None, *, cache: Cache | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self._cache = cache
        if not (self.path / "corpus.jsonl").is_file():
            raise DatasetUnavailable(f"{self.path} is not a BEIR folder: corpus.jsonl is missing")

    def __repr__(self) -> str:
        return f"BeirDataset({self.name!r}, {str(self.path)!r})"

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            from .cache import Cache

            self._cache = Cache()
        return self._cache

    @functools.cached_property
    def corpus(self) -> DocStore:
        from .docstore import open_store

        path = self.path / "corpus.jsonl"
        return open_store(path, file_sha256(path, self.cache.root), self.cache)

    @functools.cached_property
    def queries(self) -> dict[str, str]:
        return load_queries(self.path / "queries.jsonl")

    @property
    def splits(self) -> list[str]:
        qdir = self.path / "qrels"
        return sorted(p.stem for p in qdir.glob("*.tsv")) if qdir.is_dir() else []

    def qrels(self, split: str) -> Qrels:
        cache = self.__dict__.setdefault("_qrels", {})
        if split not in cache:
            path = self.path / "qrels" / f"{split}.tsv"
            if not path.is_file():
                raise DatasetUnavailable(f"{self.name} has no split {split!r} (have: {', '.join(self.splits) or 'none'})")
            cache[split] = load_qrels(path, self.queries, self.corpus)
        return cache[split]

    def split_queries(self, split: str) -> dict[str, str]:
        """The queries judged in ``split``, in qrels order (BEIR evaluates exactly these)."""
        return {q: self.queries[q] for q in self.qrels(split).qids}

    def files(self) -> list[Path]:
        out = [self.path / "corpus.jsonl", self.path / "queries.jsonl"]
        out += sorted((self.path / "qrels").glob("*.tsv"))
        return [p for p in out if p.is_file()]

    def fingerprint(self) -> str:
        """sha256 over the dataset's files (each file's hash persisted on its path, size and mtime)."""
        parts = []
        for f in self.files():
            parts.append(f"{f.relative_to(self.path)}:{file_sha256(f, self.cache.root)}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def file_sha256(path: Path, cache_root: Path | None = None) -> str:
    """sha256 of a file, remembered in memory and under ``<cache root>/_fingerprints/`` keyed by
    (absolute path, size, mtime_ns, inode, ctime_ns): hashing a 1M-document corpus (1.5 GB) takes
    seconds, so each process that opens it must not pay that again. Any change of the file's
    size, times or inode makes it hash again; a failed write of the record is harmless."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    known = _HASHES.get(stamp)
    if known:
        return known
    record = None
    if cache_root is not None:
        record = Path(cache_root) / "_fingerprints" / (hashlib.sha256(str(path).encode()).hexdigest() + ".json")
        try:
            saved = json.loads(record.read_text(encoding="utf-8"))
            if tuple(saved["stamp"]) == stamp and len(saved["sha256"]) == 64:
                _HASHES[stamp] = saved["sha256"]
                return saved["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    from .cache import atomic_write_json, sha256_file

    digest = sha256_file(path)
    _HASHES[stamp] = digest
    if record is not None:
        with contextlib.suppress(OSError):  # a read-only cache still works, it just hashes again next time
            atomic_write_json(record, {"stamp": list(stamp), "sha256": digest})
    return digest


_HASHES: dict[tuple, str] = {}


def data_dir_from_env() -> Path | None:
    env = os.environ.get("BEIR_DATA_DIR")
    return Path(env).expanduser() if env else None


def dataset_status(name: str, data_dir: Path | None = None, cache_root: Path | None = None) -> str:
    """``"here"`` (a local copy exists), ``"downloadable"``, ``"not redistributable"`` or ``"unknown"``."""
    if locate_dataset(name, data_dir, cache_root) is not None:
        return "here"
    info = dataset_info(name)
    if info is None:
        return "unknown"
    return "downloadable" if info.downloadable else "not redistributable"


def local_datasets(data_dir: Path | None = None, cache_root: Path | None = None) -> list[str]:
    """Datasets here: catalogue names with a local copy, then any other BEIR folder in ``data_dir``."""
    names = [n for n in catalogue() if dataset_status(n, data_dir, cache_root) == "here"]
    if data_dir is not None and Path(data_dir).is_dir():
        names += sorted(p.name for p in Path(data_dir).iterdir() if (p / "corpus.jsonl").is_file() and p.name not in names)
    return names


def dataset_table(
    data_dir: Path | None = None, cache_root: Path | None = None, local: list[str] | tuple[str, ...] = ()
) -> pd.DataFrame:
    """One row per catalogue dataset (name, status here, sizes, splits, domain, licence), then a row
    for each name in ``local`` that is not in the catalogue. The command line and the app show it."""
    rows = [
        {
            "dataset": i.name,
            "name": i.display_name,
            "status": dataset_status(i.name, data_dir, cache_root),
            "documents": i.corpus_docs,
            "test queries": i.test_queries,
            "splits": ", ".join(i.splits),
            "domain": i.domain,
            "task": i.task,
            "license": i.license,
        }
        for i in catalogue().values()
    ]
    rows += [{"dataset": n, "name": n, "status": "here (not in the BEIR catalogue)"} for n in local if n not in catalogue()]
    return pd.DataFrame(rows)


def locate_dataset(name: str, data_dir: Path | None = None, cache_root: Path | None = None) -> Path | None:
    """Where a local copy of ``name`` is: ``data_dir/name``, ``$BEIR_DATA_DIR/name`` or the cache."""
    from .cache import default_cache_root

    candidates = []
    if data_dir is not None:
        candidates.append(Path(data_dir) / name)
    env = data_dir_from_env()
    if env is not None:
        candidates.append(env / name)
    candidates.append(Path(cache_root or default_cache_root()) / "datasets" / name)
    for c in candidates:
        if (c / "corpus.jsonl").is_file():
            return c
    return None


def open_dataset(
    name_or_path: str | Path,
    data_dir: str | Path | None = None,
    *,
    cache_root: str | Path | None = None,
    download: bool = True,
    progress: bool = True,
) -> BeirDataset:
    """Open a BEIR dataset by folder path or by name (local folder, cache, else official download)."""
    from .cache import Cache, default_cache_root

    cache = Cache(cache_root) if cache_root else None
    path = Path(name_or_path)
    if (path / "corpus.jsonl").is_file():
        return BeirDataset(path, cache=cache)
    name = str(name_or_path)
    data_dir = Path(data_dir) if data_dir is not None else None
    found = locate_dataset(name, data_dir, Path(cache_root) if cache_root else None)
    if found is not None:
        return BeirDataset(found, name, cache=cache)
    info = dataset_info(name)
    looked = [
        str(p) for p in ([data_dir / name] if data_dir else []) + ([data_dir_from_env() / name] if data_dir_from_env() else [])
    ]
    where = f" (looked in {', '.join(looked)} and the cache)" if looked else " (looked in the cache)"
    if info is None:
        raise DatasetUnavailable(
            f"unknown dataset {name!r} and no BEIR folder of that name{where}; known: {', '.join(catalogue())}"
        )
    if not info.downloadable:
        raise DatasetUnavailable(
            f"{info.display_name} ({name}) cannot be redistributed, so BEIR offers no download{where}. "
            f"Build it yourself ({info.homepage}) and pass its folder with --data-dir."
        )
    if not download:
        raise DatasetUnavailable(f"{name} is not here{where}; run `python -m retrieval download {name}`")
    from .download import download_beir

    root = Path(cache_root or default_cache_root()) / "datasets"
    return BeirDataset(download_beir(name, info.url, info.md5, root, progress=progress), name, cache=cache)
