"""Fault suite: a flipped byte in a cached file, its size and mtime put back, is never served: caught on the read
(runs: every read; Lucene indexes and embeddings: the first read in a process; embedding chunks: every read;
the document store: whenever a file's stamp changed) and rebuilt. See ``tests/test_cache.py`` for the cache's
levels themselves and a run."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from retrieval.beir import BeirDataset
from retrieval.cache import MANIFEST, Cache

from .test_cache import flip_byte, forget_checks


def test_a_flipped_byte_in_a_lucene_index_file_is_caught_and_the_index_rebuilt(tiny_dir: Path, cache: Cache) -> None:
    from retrieval.bm25 import BM25, build_index

    ds = BeirDataset(tiny_dir)
    queries = {"q1": "vitamin D bone density", "q2": "coffee heart disease"}
    before = BM25("flat").retrieve(ds, queries, cache=cache, progress=False)
    index = build_index(ds, "flat", cache=cache, progress=False)
    entry = index.parent
    manifest_inode = (entry / MANIFEST).stat().st_ino
    biggest = max((p for p in index.iterdir() if p.is_file()), key=lambda p: p.stat().st_size)
    flip_byte(biggest, biggest.stat().st_size // 2)
    forget_checks()  # the next process
    assert "checksum mismatch" in cache.verify(entry)
    again = build_index(ds, "flat", cache=Cache(cache.root), progress=False)
    assert again == index and (entry / MANIFEST).stat().st_ino != manifest_inode  # built anew
    assert cache.verify(entry) is None
    after = BM25("flat").retrieve(ds, queries, cache=cache, progress=False)
    assert after.frame[["qid", "docid", "rank"]].equals(before.frame[["qid", "docid", "rank"]])


def test_a_flipped_byte_in_the_document_store_is_caught_and_the_store_rebuilt(tiny_dir: Path, cache: Cache) -> None:
    ds = BeirDataset(tiny_dir, cache=cache)
    text = ds.corpus["d2"].text
    jsonl = ds.corpus.folder / "docs" / "corpus.jsonl"
    offset = jsonl.read_bytes().index(b"Coffee consumption")
    flip_byte(jsonl, offset + 1)  # inside a document's text: the line stays valid JSON
    forget_checks()
    fresh = BeirDataset(tiny_dir, cache=Cache(cache.root))
    assert fresh.corpus["d2"].text == text


# ---- embeddings, with a stand-in encoder (the cache logic does not depend on the model) ------------------------
class CountingEncoder:
    """Deterministic 8-dimensional "embeddings" of texts; counts the chunks it encodes, and can fail on one."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def encode_documents(self, texts, batch_size=None, on_batch=None):
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise RuntimeError("simulated crash")
        self.calls.append(list(texts))
        if on_batch is not None:
            on_batch(len(texts))
        return np.array([[zlib.crc32(f"{s}:{t}".encode()) % 97 / 97 for s in range(8)] for t in texts], dtype=np.float32)


def _embed(ds: BeirDataset, cache: Cache, encoder: CountingEncoder):
    from retrieval.neural.dense import corpus_embeddings

    return corpus_embeddings(ds, lambda: encoder, {"model": "stand-in"}, cache=cache, chunk_size=2, progress=False)


def _expected(ds: BeirDataset) -> np.ndarray:
    from retrieval.neural.model_system import doc_text

    return CountingEncoder().encode_documents([doc_text(d) for d in ds.corpus.values()]).astype(np.float16)


def test_a_flipped_byte_in_an_embedding_chunk_is_encoded_again_not_copied_in(tiny_dir: Path, cache: Cache) -> None:
    from retrieval.neural.dense import embeddings_key

    ds = BeirDataset(tiny_dir, cache=cache)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _embed(ds, cache, CountingEncoder(fail_on=2))  # chunks 0 and 1 of 3 written, then a crash
    scratch = cache.root / "_partial" / "embeddings" / embeddings_key(cache, ds, {"model": "stand-in"}).digest
    chunk = scratch / "chunk-000000.npy"
    flip_byte(chunk, chunk.stat().st_size - 20)  # in the vectors
    resumed = CountingEncoder()
    emb, docids, _ = _embed(ds, cache, resumed)
    assert len(resumed.calls) == 2  # the damaged chunk and the one never written; chunk 1 was kept
    assert docids == list(ds.corpus)
    np.testing.assert_array_equal(np.asarray(emb), _expected(ds))


def test_a_flipped_byte_in_the_embeddings_file_is_caught_in_the_next_process(tiny_dir: Path, cache: Cache) -> None:
    ds = BeirDataset(tiny_dir, cache=cache)
    emb, _, entry = _embed(ds, cache, CountingEncoder())
    del emb
    flip_byte(entry / "embeddings.npy", (entry / "embeddings.npy").stat().st_size - 3)
    forget_checks()
    again = CountingEncoder()
    emb, _, _ = _embed(ds, Cache(cache.root), again)
    assert len(again.calls) == 3  # encoded anew
    np.testing.assert_array_equal(np.asarray(emb), _expected(ds))
    assert json.loads((entry / MANIFEST).read_text())["info"]["encoded_now"] == 6
