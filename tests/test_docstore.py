"""The on-disk document store: same texts as the JSONL, lazy Mapping, corruption detected and rebuilt,
malformed corpora still named by file and line, fingerprints persisted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from retrieval import beir
from retrieval.beir import BeirDataset, Document, load_corpus
from retrieval.cache import Cache
from retrieval.docstore import IDS, JSONL, OFFSETS, DocStore
from retrieval.errors import DataFormatError

from .conftest import SCIFACT, TINY_DOCS, needs_scifact


def _open(folder: Path, root: Path) -> BeirDataset:
    """A fresh dataset object and a fresh Cache object (as a new process would have)."""
    return BeirDataset(folder, cache=Cache(root))


def test_store_is_a_lazy_mapping_with_the_jsonl_texts(tiny_dir: Path, tmp_path: Path) -> None:
    corpus = _open(tiny_dir, tmp_path / "c").corpus
    assert isinstance(corpus, DocStore)
    expected = load_corpus(tiny_dir / "corpus.jsonl")
    assert len(corpus) == len(TINY_DOCS) == len(expected)
    assert list(corpus) == list(expected)  # corpus order, BOM not in the first id
    assert "d1" in corpus and "nope" not in corpus and 3 not in corpus
    for docid, doc in expected.items():
        assert corpus[docid] == doc == corpus.get(docid)
    assert list(corpus.values()) == list(expected.values())
    assert dict(corpus.items()) == expected
    assert corpus.get("nope") is None and corpus.get("nope", 7) == 7
    with pytest.raises(KeyError):
        corpus["nope"]
    assert corpus.get_many(["d5", "d1", "d5"]) == [expected["d5"], expected["d1"], expected["d5"]]
    with pytest.raises(KeyError):
        corpus.get_many(["d1", "nope"])
    assert corpus["d5"].title == "Unsafe <script>alert(1)</script>"  # text kept verbatim
    assert corpus["d4"] == Document("d4", "", "Sleep deprivation impairs memory consolidation.")


def test_store_keeps_unicode_newlines_and_tabs(tmp_path: Path) -> None:
    folder = tmp_path / "u"
    (folder / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "é1", "title": "Tab\tand\nnewline", "text": 'ünïcödé \u2028 line sep, emoji \U0001f600, "quotes"'},
        {"_id": "2", "title": None, "text": "", "extra": [1, 2]},
        {"_id": 3, "text": "int id"},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8")
    (folder / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n')
    (folder / "qrels" / "test.tsv").write_text("q\t2\t1\n")
    store = _open(folder, tmp_path / "c").corpus
    assert store == load_corpus(folder / "corpus.jsonl")
    assert store["é1"].title == "Tab\tand\nnewline" and store["3"].text == "int id" and store["2"].title == ""


def test_qrels_are_checked_against_ids_without_reading_texts(tiny_dir: Path, tmp_path: Path, monkeypatch) -> None:
    ds = _open(tiny_dir, tmp_path / "c")
    _ = ds.corpus  # opened (the first and last lines are spot-checked here)

    def no_texts(self, row):
        raise AssertionError("a text was read")

    monkeypatch.setattr(DocStore, "_read_row", no_texts)
    assert ds.qrels("test").for_query("q1") == {"d1": 2, "d3": 1, "d2": 0}
    assert len(ds.corpus) == 6 and "d6" in ds.corpus


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "offsets-same-size-and-mtime"])
def test_damaged_store_is_detected_and_rebuilt(tiny_dir: Path, tmp_path: Path, damage: str) -> None:
    root = tmp_path / "c"
    first = _open(tiny_dir, root).corpus
    folder, good = first.folder, {d: first[d] for d in first}
    jsonl, offsets = folder / JSONL, folder / OFFSETS
    if damage == "truncate":
        with open(jsonl, "r+b") as fh:
            fh.truncate(jsonl.stat().st_size - 10)
    elif damage == "overwrite":  # same size, new bytes: the sha256 check (mtime changed) catches it
        data = bytearray(jsonl.read_bytes())
        data[5:9] = b"XXXX"
        jsonl.write_bytes(bytes(data))
    else:  # same size and mtime: the cache's stamp matches, the store's own consistency check catches it
        st = offsets.stat()
        arr = np.fromfile(offsets, dtype="<u8")
        arr[1], arr[2] = arr[2], arr[1]
        arr.tofile(offsets)
        os.utime(offsets, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = _open(tiny_dir, root).corpus
    assert again.folder == folder  # rebuilt in place of the damaged entry
    assert {d: again[d] for d in again} == good
    assert not [p for p in folder.parent.iterdir() if p.name.startswith((".tmp-", ".trash-"))]


def test_unchanged_store_is_not_hashed_again(tiny_dir: Path, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "c"
    _ = _open(tiny_dir, root).corpus
    import retrieval.cache as cache_mod

    def fail(path, chunk=1 << 20):
        raise AssertionError(f"hashed {path}")

    monkeypatch.setattr(cache_mod, "sha256_file", fail)
    monkeypatch.setattr(beir, "_HASHES", {})
    assert len(_open(tiny_dir, root).corpus) == 6  # fingerprint and store checks from the records


def test_fingerprint_is_persisted_and_follows_changes(tiny_dir: Path, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "c"
    before = _open(tiny_dir, root).fingerprint()
    import retrieval.cache as cache_mod

    calls: list[str] = []
    real = cache_mod.sha256_file
    monkeypatch.setattr(cache_mod, "sha256_file", lambda p, chunk=1 << 20: calls.append(Path(p).name) or real(p))
    monkeypatch.setattr(beir, "_HASHES", {})  # a new process
    assert _open(tiny_dir, root).fingerprint() == before and calls == []
    with open(tiny_dir / "queries.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"_id": "q9", "text": "new"}) + "\n")
    after = _open(tiny_dir, root).fingerprint()
    assert after != before and calls == ["queries.jsonl"]


@pytest.mark.parametrize(
    "content, where, fragment",
    [
        ('{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n', "2:22", "invalid JSON"),
        ('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', "2:2", "duplicate document id 'a' (first on line 1)"),
        ('{"_id": "a", "text": "x"}\n\n{"_id": "b", "title": 5, "text": "y"}\n', "3:14", "'title' must be a string"),
        (b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": "\x80"}\n'.decode("latin-1"), "2:23", "not UTF-8"),
    ],
)
def test_malformed_corpus_still_names_file_line_and_column(tmp_path: Path, content: str, where: str, fragment: str) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "corpus.jsonl").write_bytes(content.encode("latin-1" if "\x80" in content else "utf-8"))
    root = tmp_path / "c"
    with pytest.raises(DataFormatError) as err:
        _ = _open(folder, root).corpus
    assert str(err.value).startswith(f"{folder / 'corpus.jsonl'}:{where}: ") and fragment in str(err.value)
    store_dir = root / "docstore"
    assert not store_dir.exists() or not any(store_dir.iterdir())  # nothing half-built left behind


def test_store_files_are_what_lucene_reads(tiny_dir: Path, tmp_path: Path) -> None:
    store = _open(tiny_dir, tmp_path / "c").corpus
    assert sorted(p.name for p in store.jsonl_dir.iterdir()) == ["corpus.jsonl"]
    lines = (store.folder / JSONL).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["_id"] for line in lines] == (store.folder / IDS).read_text(encoding="utf-8").split("\n")
    assert set(json.loads(lines[0])) == {"_id", "title", "text"}


@needs_scifact
def test_scifact_store_matches_jsonl_for_every_id(tmp_path: Path) -> None:
    expected = load_corpus(SCIFACT / "corpus.jsonl")
    store = BeirDataset(SCIFACT, "scifact", cache=Cache(tmp_path / "c")).corpus
    assert list(store) == list(expected)
    assert store.get_many(list(expected)) == list(expected.values())
    assert all(store[d] == doc for d, doc in expected.items())
    assert list(store.values()) == list(expected.values())
