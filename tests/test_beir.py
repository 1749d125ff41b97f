"""BEIR loading: tolerant of BOM/CRLF/blank lines, strict (file + line) on everything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.beir import BeirDataset, catalogue, dataset_status, load_corpus, load_qrels, load_queries, open_dataset
from retrieval.errors import DataFormatError, DatasetUnavailable

from .conftest import SCIFACT, needs_scifact


def test_tiny_fixture_loads_despite_bom_crlf_and_blank_lines(tiny_dir: Path) -> None:
    ds = BeirDataset(tiny_dir)
    assert list(ds.corpus)[:2] == ["d1", "d2"]  # the BOM did not leak into the first id
    assert ds.corpus["d4"].title == ""
    assert ds.queries["q1"] == "vitamin D bone density"
    qrels = ds.qrels("test")
    assert qrels.for_query("q1") == {"d1": 2, "d3": 1, "d2": 0}
    assert qrels.relevant("q1") == {"d1": 2, "d3": 1}
    assert ds.split_queries("test") == {q: ds.queries[q] for q in ["q1", "q2", "q3", "q4"]}
    assert ds.splits == ["test"]


def test_fingerprint_changes_with_content(tiny_dir: Path) -> None:
    ds = BeirDataset(tiny_dir)
    before = ds.fingerprint()
    assert before == BeirDataset(tiny_dir).fingerprint()
    with open(tiny_dir / "queries.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"_id": "q9", "text": "new"}) + "\n")
    assert BeirDataset(tiny_dir).fingerprint() != before


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content, line, column, fragment",
    [
        ('{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n', 2, 22, "invalid JSON (Expecting value)"),
        ('{"_id": "a", "text": "x"}\n\n{"_id": "b", "title": "t"}\n', 3, 1, "missing field 'text'"),
        ('{"text": "x"}\n', 1, 1, "missing field '_id'"),
        ('{"_id": "a", "text": "x"}\n{"text": "y", "_id": "a"}\n', 2, 15, "duplicate document id 'a' (first on line 1)"),
        ('  ["not", "an", "object"]\n', 1, 3, "expected a JSON object"),
        ('{"_id": "has space", "text": "x"}\n', 1, 2, "whitespace"),
        ('{"_id": "a", "text": "x", "title": 7}\n', 1, 27, "'title' must be a string, got int"),
        ('{"_id": "a", "text": null}\n', 1, 14, "missing field 'text'"),
        ('{"_id": ["a"], "text": "x"}\n', 1, 2, "'_id' must be a string, got list"),
    ],
)
def test_corpus_errors_name_file_line_and_column(tmp_path: Path, content: str, line: int, column: int, fragment: str) -> None:
    path = _write(tmp_path / "corpus.jsonl", content)
    with pytest.raises(DataFormatError) as err:
        load_corpus(path)
    assert (err.value.line, err.value.column) == (line, column)
    assert str(err.value).startswith(f"{path}:{line}:{column}: ")
    assert fragment in str(err.value)
    assert err.value.location == f"{path}, line {line}, column {column}"


@pytest.mark.parametrize("content", ["", "\n\n\r\n", "\ufeff"])
def test_empty_files_are_errors(tmp_path: Path, content: str) -> None:
    corpus = _write(tmp_path / "corpus.jsonl", content)
    with pytest.raises(DataFormatError, match="corpus is empty") as err:
        load_corpus(corpus)
    assert str(corpus) in str(err.value)
    with pytest.raises(DataFormatError, match="no queries"):
        load_queries(_write(tmp_path / "queries.jsonl", content))
    with pytest.raises(DataFormatError, match="no judgements"):
        load_qrels(_write(tmp_path / "q.tsv", content))


def test_non_utf8_names_the_line_the_column_and_the_offset_in_the_file(tmp_path: Path) -> None:
    """Reported as 'invalid start byte at byte 801' for a byte at offset 7,062,305 on line 4,500 before: the decoder's
    position in its buffer. Now: the line, the column (in characters) and the offset in the file, past a BOM, with
    multi-byte characters before it on its line."""
    lines = [json.dumps({"_id": f"d{i}", "text": "é" * (i % 7) + " text"}, ensure_ascii=False).encode() for i in range(4_600)]
    bad = b'{"_id": "x", "text": "caf\xc3\xa9 \xe9t\xe9"}'  # Latin-1 bytes after a UTF-8 é
    lines[4_499] = bad
    data = b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n"
    offset = data.index(b"\xe9t")
    for name, load in (("corpus.jsonl", load_corpus), ("queries.jsonl", load_queries)):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DataFormatError) as err:
            load(path)
        column = len(bad[: bad.index(b"\xe9t")].decode("utf-8")) + 1  # in characters: the é before it counts once
        assert (err.value.line, err.value.column) == (4_500, column)
        assert (
            str(err.value)
            == f"{path}:4500:{column}: not UTF-8 text (invalid continuation byte: byte e9 at file offset {offset:,})"
        )
    qrels = tmp_path / "test.tsv"
    qrels.write_bytes(b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq\xff\td1\t1\n")
    with pytest.raises(DataFormatError, match=r"test.tsv:3:2: not UTF-8 text \(invalid start byte: byte ff at file offset 34\)"):
        load_qrels(qrels)


def test_duplicate_query_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "queries.jsonl", '{"_id": "1", "text": "a"}\n{"_id": 1, "text": "b"}\n')
    with pytest.raises(DataFormatError, match=r"queries.jsonl:2:2: duplicate query id '1'"):
        load_queries(path)


@pytest.mark.parametrize(
    "rows, line, column, fragment",
    [
        (["q1\td1\t1", "q9\td1\t1"], 3, 1, "query 'q9' is not in queries.jsonl"),
        (["q1\td1\t1", "q1\td99\t1"], 3, 4, "document 'd99' is not in corpus.jsonl"),
        (["q1\td1\t1", "q1\td1\t2"], 3, 1, "judged twice (first on line 2)"),
        (["q1\td1\tyes"], 2, 7, "relevance 'yes' is not an integer"),
        (["q1\td1"], 2, 6, "expected 3 tab-separated columns, found 2"),
        (["q1\td1\t1\textra"], 2, 9, "expected 3 tab-separated columns, found 4"),
    ],
)
def test_qrels_errors_name_file_line_and_column(tiny_dir: Path, rows: list[str], line: int, column: int, fragment: str) -> None:
    path = tiny_dir / "qrels" / "test.tsv"
    path.write_text("\r\n".join(["query-id\tcorpus-id\tscore", *rows]) + "\r\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as err:
        BeirDataset(tiny_dir).qrels("test")
    assert str(err.value).startswith(f"{path}:{line}:{column}: ")
    assert fragment in str(err.value)


def test_qrels_without_header_is_accepted(tmp_path: Path) -> None:
    qrels = load_qrels(_write(tmp_path / "dev.tsv", "1\tA\t1\n2\tB\t0\n"))
    assert qrels.by_query == {"1": {"A": 1}, "2": {"B": 0}}
    assert qrels.split == "dev"


def test_missing_split_and_missing_folder(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailable, match="no split 'dev'.*have: test"):
        BeirDataset(tiny_dir).qrels("dev")
    with pytest.raises(DatasetUnavailable, match="corpus.jsonl is missing"):
        BeirDataset(tmp_path / "nowhere")


def test_catalogue_covers_beir() -> None:
    cat = catalogue()
    assert len(cat) >= 18
    for name in ["bioasq", "signal1m", "trec-news", "robust04"]:
        assert not cat[name].downloadable and cat[name].url is None
    assert cat["scifact"].md5 == "5f7d1de60b170fc8027bb7898e2efca1"
    assert cat["scifact"].url.endswith("/BEIR/datasets/scifact.zip")
    assert all(i.license and i.domain for i in cat.values())
    assert all(len(i.md5) == 32 for i in cat.values() if i.downloadable)


def test_open_dataset_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEIR_DATA_DIR", raising=False)
    with pytest.raises(DatasetUnavailable, match="cannot be redistributed"):
        open_dataset("robust04", tmp_path, cache_root=tmp_path / "c")
    with pytest.raises(DatasetUnavailable, match="unknown dataset"):
        open_dataset("no-such-set", tmp_path, cache_root=tmp_path / "c")
    with pytest.raises(DatasetUnavailable, match="python -m retrieval download nfcorpus"):
        open_dataset("nfcorpus", tmp_path, cache_root=tmp_path / "c", download=False)
    assert dataset_status("robust04", tmp_path, tmp_path / "c") == "not redistributable"
    assert dataset_status("nfcorpus", tmp_path, tmp_path / "c") == "downloadable"


def test_open_dataset_by_path_and_by_name(tiny_dir: Path, tmp_path: Path) -> None:
    assert open_dataset(tiny_dir).name == "tiny"
    assert open_dataset("tiny", tiny_dir.parent, cache_root=tmp_path / "c").path == tiny_dir
    assert dataset_status("tiny", tiny_dir.parent, tmp_path / "c") == "here"


@needs_scifact
def test_real_scifact_counts() -> None:
    ds = BeirDataset(SCIFACT, "scifact")
    assert len(ds.corpus) == 5183
    assert len(ds.queries) == 1109
    test = ds.qrels("test")
    assert len(test.frame) == 339 and len(test.qids) == 300
    assert len(ds.qrels("train").qids) == 809
    assert test.for_query("1") == {"31715818": 1}
