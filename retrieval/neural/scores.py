"""Reranker scores cached per (query, document, model): an append-only store of parquet segments.

One store per (dataset checksum, model key) under ``<cache>/rerank-scores/<digest>/``. Rows are
``(qhash, docid, score)`` where ``qhash`` hashes the query *text* (so a typed query that equals a
dataset query reuses its scores). Each append is a new segment written atomically under a unique
name, so concurrent writers never clash and an interrupted rerank keeps what it flushed; a deeper
rerank (depth 1000 after 100) scores only the pairs it has not seen. An unreadable segment is
dropped (its pairs are scored again). Many segments are merged under the entry's lock.
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from ..cache import Cache, CacheKey, atomic_write_bytes, atomic_write_json

KIND = "rerank-scores"
COMPACT_AT = 32


def query_hash(text: str) -> str:
    """The store's key for a query: a hash of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class ScoreStore:
    """Scores of one model on one dataset, keyed by ``(query hash, docid)``."""

    def __init__(self, cache: Cache, key: CacheKey) -> None:
        if key.kind != KIND:
            raise ValueError(f"a ScoreStore key must be of kind {KIND!r}")
        self.cache = cache
        self.key = key
        self.dir = cache.root / KIND / key.digest
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "key.json").is_file():
            atomic_write_json(self.dir / "key.json", key.payload)

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("seg-*.parquet"))

    def get(self, qhashes: Iterable[str] | None = None) -> dict[tuple[str, str], float]:
        """Known scores, optionally only for some query hashes."""
        import pyarrow.parquet as pq

        wanted = None if qhashes is None else sorted(set(qhashes))
        for _attempt in range(3):
            out: dict[tuple[str, str], float] = {}
            try:
                for seg in self.segments():
                    try:
                        filters = [("qhash", "in", wanted)] if wanted is not None and len(wanted) <= 1000 else None
                        table = pq.read_table(seg, filters=filters) if filters else pq.read_table(seg)
                    except FileNotFoundError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a torn or foreign file: drop it, rescore its pairs
                        print(f"warning: dropping unreadable score segment {seg} ({exc.__class__.__name__})", file=sys.stderr)
                        seg.unlink(missing_ok=True)
                        continue
                    cols = table.to_pydict()
                    keep = None if wanted is None else set(wanted)
                    for q, d, s in zip(cols["qhash"], cols["docid"], cols["score"]):
                        if keep is None or q in keep:
                            out[(q, d)] = float(s)
                return out
            except FileNotFoundError:  # a compaction replaced segments under us: list again
                continue
        return out

    def append(self, rows: list[tuple[str, str, float]]) -> Path | None:
        """Write ``rows`` (qhash, docid, score) as a new segment, atomically; returns its path."""
        if not rows:
            return None
        path = self._write(rows)
        if len(self.segments()) > COMPACT_AT:
            self.compact()
        return path

    def compact(self) -> None:
        """Merge all segments into one (under the entry lock)."""
        with self.cache.lock(self.key):
            old = self.segments()
            if len(old) < 2:
                return
            merged = self.get()
            new = self._write([(q, d, s) for (q, d), s in sorted(merged.items())])
            for seg in old:
                if seg != new:
                    seg.unlink(missing_ok=True)

    def _write(self, rows: list[tuple[str, str, float]]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "qhash": pa.array([r[0] for r in rows], type=pa.string()),
                "docid": pa.array([r[1] for r in rows], type=pa.string()),
                "score": pa.array([float(r[2]) for r in rows], type=pa.float64()),
            }
        )
        buf = io.BytesIO()
        pq.write_table(table, buf)
        path = self.dir / f"seg-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        atomic_write_bytes(path, buf.getvalue())
        return path

    def __len__(self) -> int:
        return len(self.get())
