"""A document store on disk: a corpus opened by reading ids and offsets, texts read on demand.

Built once per corpus into the cache (key: the sha256 of ``corpus.jsonl`` and the store's format
version), atomically like every cache entry. An entry holds

* ``docs/corpus.jsonl``: the corpus normalised to one ``{"_id", "title", "text"}`` object per line
  (UTF-8, ``\\n``), in the source file's order. The folder holds nothing else, so Lucene indexes it
  directly (it is exactly the input the BM25 index was always built from).
* ``offsets.u64``: ``n + 1`` little-endian uint64 byte offsets of the lines (the last one is the
  file size), memory-mapped.
* ``ids.txt``: the ids, one per line, in the same order.

Opening reads ``ids.txt`` into a list and an id -> row dict (what qrels are checked against and
what ``in`` answers); ``corpus.jsonl`` is memory-mapped and a document is parsed only when asked
for. :class:`DocStore` is a read-only ``Mapping[str, Document]`` (``len``, iteration over ids in
corpus order, ``in``, ``[]``, ``get``), so code written for the old ``dict`` keeps working;
:meth:`DocStore.get_many` reads many documents in one call and ``values()`` streams the file in
order. A store whose files do not fit together (truncated, offsets not increasing, a line that is
not the document it should be) is discarded and rebuilt.
"""

from __future__ import annotations

import json
import mmap
import sys
from collections.abc import ItemsView, Iterable, Iterator, Mapping, ValuesView
from pathlib import Path

import numpy as np

from .errors import RetrievalError

STORE_FORMAT_VERSION = 1
JSONL = Path("docs") / "corpus.jsonl"
OFFSETS = "offsets.u64"
IDS = "ids.txt"


class CorruptStore(RetrievalError):
    """The files of a store entry do not fit together."""


def normalised_line(docid: str, title: str, text: str) -> bytes:
    """One line of the store's JSONL (the same JSON the BM25 index input always had)."""
    return (json.dumps({"_id": docid, "title": title, "text": text}, ensure_ascii=False) + "\n").encode("utf-8")


def build_store(source: Path, folder: Path, *, progress: bool = False) -> dict[str, int]:
    """Parse ``source`` (a BEIR corpus.jsonl, strictly: errors name file and line) into ``folder``."""
    from .beir_files import iter_corpus

    (folder / JSONL.parent).mkdir(parents=True, exist_ok=True)
    offsets: list[int] = [0]
    ids: list[str] = []
    pos = 0
    with open(folder / JSONL, "wb") as out:
        for doc in iter_corpus(source, progress=progress):
            line = normalised_line(doc.docid, doc.title, doc.text)
            out.write(line)
            pos += len(line)
            offsets.append(pos)
            ids.append(doc.docid)
    np.asarray(offsets, dtype="<u8").tofile(folder / OFFSETS)
    (folder / IDS).write_text("\n".join(ids), encoding="utf-8")
    return {"documents": len(ids), "bytes": pos}


class DocStore(Mapping):
    """Read-only ``Mapping[str, Document]`` over a store folder (see the module doc)."""

    def __init__(self, folder: str | Path, source: str | Path | None = None) -> None:
        self.folder = Path(folder)
        self.source = Path(source) if source is not None else None
        try:
            raw_ids = (self.folder / IDS).read_bytes()
            self._offsets = np.memmap(self.folder / OFFSETS, dtype="<u8", mode="r")
            size = (self.folder / JSONL).stat().st_size
        except (OSError, ValueError) as exc:
            raise CorruptStore(f"document store {self.folder}: {exc}") from None
        self.ids: list[str] = raw_ids.decode("utf-8").split("\n") if raw_ids else []
        n = len(self.ids)
        if len(self._offsets) != n + 1 or n == 0:
            raise CorruptStore(f"document store {self.folder}: {n} ids but {len(self._offsets)} offsets")
        if int(self._offsets[0]) != 0 or int(self._offsets[-1]) != size:
            raise CorruptStore(f"document store {self.folder}: offsets end at {int(self._offsets[-1])}, file has {size} bytes")
        if n > 1 and not bool(np.all(np.diff(self._offsets) > 0)):
            raise CorruptStore(f"document store {self.folder}: offsets are not increasing")
        with open(self.folder / JSONL, "rb") as fh:
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._row: dict[str, int] = {d: i for i, d in enumerate(self.ids)}
        if len(self._row) != n:
            raise CorruptStore(f"document store {self.folder}: duplicate ids")
        # Spot checks: the first and last lines are the documents the id list says they are.
        for i in {0, n - 1}:
            self._read_row(i)

    # ---- Mapping -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __contains__(self, docid: object) -> bool:
        return docid in self._row

    def __getitem__(self, docid: str):
        row = self._row.get(docid)  # type: ignore[arg-type]
        if row is None:
            raise KeyError(docid)
        return self._read_row(row)

    def get(self, docid, default=None):
        row = self._row.get(docid)
        return default if row is None else self._read_row(row)

    def values(self) -> ValuesView:
        return _Values(self)

    def items(self) -> ItemsView:
        return _Items(self)

    def __repr__(self) -> str:
        return f"DocStore({len(self):,} documents, {str(self.folder)!r})"

    # ---- reading -----------------------------------------------------------------------------
    def row(self, docid: str) -> int:
        return self._row[docid]

    def get_many(self, docids: Iterable[str]) -> list:
        """The documents of ``docids``, in that order (read in file order; KeyError for an unknown id)."""
        wanted = list(docids)
        rows = [self._row[d] if d in self._row else _missing(d) for d in wanted]
        order = sorted(range(len(rows)), key=rows.__getitem__)
        out: list = [None] * len(rows)
        for i in order:
            out[i] = self._read_row(rows[i])
        return out

    def iter_documents(self, start: int = 0, stop: int | None = None) -> Iterator:
        """Documents in corpus order, streamed from the file (rows ``start`` to ``stop``)."""
        from .beir_files import Document

        stop = len(self.ids) if stop is None else min(stop, len(self.ids))
        for i in range(start, stop):
            obj = self._parse(i)
            yield Document(self.ids[i], obj["title"], obj["text"])

    @property
    def jsonl_dir(self) -> Path:
        """The folder holding only the normalised ``corpus.jsonl`` (Lucene's indexing input)."""
        return self.folder / JSONL.parent

    def nbytes(self) -> int:
        return int(self._offsets[-1])

    def _parse(self, row: int) -> dict:
        a, b = int(self._offsets[row]), int(self._offsets[row + 1])
        try:
            obj = json.loads(self._mm[a:b])
        except (ValueError, UnicodeDecodeError):
            raise CorruptStore(f"document store {self.folder}: line {row + 1} is not valid JSON") from None
        if not isinstance(obj, dict) or obj.get("_id") != self.ids[row]:
            raise CorruptStore(f"document store {self.folder}: line {row + 1} is not document {self.ids[row]!r}")
        return obj

    def _read_row(self, row: int):
        from .beir_files import Document

        obj = self._parse(row)
        return Document(self.ids[row], obj["title"], obj["text"])


def _missing(docid: str) -> int:
    raise KeyError(docid)


class _Values(ValuesView):
    def __iter__(self):
        return self._mapping.iter_documents()


class _Items(ItemsView):
    def __iter__(self):
        for doc in self._mapping.iter_documents():
            yield doc.docid, doc


def store_key(cache, corpus_sha256: str):
    return cache.key("docstore", corpus_sha256=corpus_sha256, format_version=STORE_FORMAT_VERSION)


def open_store(corpus: Path, corpus_sha256: str, cache=None, *, progress: bool = False) -> DocStore:
    """The store of ``corpus`` (whose sha256 is given), built into ``cache`` if absent or broken."""
    from .cache import Cache

    cache = cache or Cache()
    key = store_key(cache, corpus_sha256)

    def build(tmp: Path) -> dict:
        if progress:
            print(f"Building the document store of {corpus}...", file=sys.stderr)
        return build_store(corpus, tmp, progress=progress)

    for attempt in range(2):
        # "stamp": hashing a 1.5 GB store on every open would cost seconds where opening takes milliseconds; the
        # files are hashed when their (size, mtime, inode, ctime) change, and DocStore checks its structure.
        entry = cache.get_or_build(key, build, info={"source": str(corpus)}, check="stamp")
        try:
            return DocStore(entry, corpus)
        except CorruptStore:
            if attempt:
                raise
            cache.discard(entry)
    raise AssertionError("unreachable")  # pragma: no cover
