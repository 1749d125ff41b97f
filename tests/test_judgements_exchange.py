"""Judgements as files: TREC qrels whose header ir_measures and pytrec_eval read without a changed number, CSV, import
of another judge's qrels (bad lines by file and line, unknown ids counted and named), and the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import ir_measures
import pytest
import pytrec_eval

from retrieval.cli import main
from retrieval.errors import DataFormatError
from retrieval.judgements import CANT_TELL, open_store
from retrieval.judgements.exchange import parse_qrels
from retrieval.run import Run

from .judgements_fixtures import tiny_ds  # noqa: F401  (fixture)


@pytest.fixture
def j(tiny_ds, tmp_path):  # noqa: F811
    j = open_store(f"sqlite:///{tmp_path / 'j.sqlite3'}").dataset(tiny_ds, "test")
    j.set("q1", "d5", 1, judge="ann")
    j.set("q1", "d4", 0, judge="ann")
    j.set("q3", "d6", 2, judge="ann")
    j.set("q2", "d1", CANT_TELL, judge="ann")
    j.set("q1", "d5", 0, judge="bob")
    return j


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def test_trec_export_with_its_header(j) -> None:
    text, about = j.export_trec(judge="ann")
    header = [ln for ln in _lines(text) if ln.startswith("#")]
    body = [ln for ln in _lines(text) if not ln.startswith("#")]
    assert body == ["q1 0 d4 0", "q1 0 d5 1", "q3 0 d6 2"]  # can't tell is no grade: left out
    assert header[0] == "# retrieval judgements export" and _lines(text)[: len(header)] == header
    meta = dict(ln[2:].split(": ", 1) for ln in header[1:])
    assert (
        meta["judge"] == "ann" and meta["dataset"] == "tiny" and meta["split"] == "test" and meta["corpus_checksum"] == j.checksum
    )
    assert meta["exported_at"].endswith("Z") and "1 can't tell" in about
    everyone, _ = j.export_trec()  # all judges, majority rule: ann 1, bob 0 on q1/d5 -> the lower grade
    assert "q1 0 d5 0" in _lines(everyone) and "# judge: all (majority rule)" in _lines(everyone)
    bare, _ = j.export_trec(judge="ann", header=False)
    assert _lines(bare) == body


def test_other_tools_read_the_bare_export_not_the_header(j, tmp_path) -> None:
    text, _ = j.export_trec(judge="ann")
    bare, _ = j.export_trec(judge="ann", header=False)
    run = {"q1": {"d5": 3.0, "d4": 2.0, "d1": 1.0}, "q3": {"d6": 2.0, "d2": 1.0}}
    measures = [ir_measures.parse_measure(m) for m in ("nDCG@10", "P@1", "RR@10", "Judged@10", "AP")]
    expected = ir_measures.calc_aggregate(
        measures, [ir_measures.Qrel("q1", "d4", 0), ir_measures.Qrel("q1", "d5", 1), ir_measures.Qrel("q3", "d6", 2)], run
    )
    assert ir_measures.calc_aggregate(measures, list(ir_measures.read_trec_qrels(bare)), run) == expected
    assert expected[ir_measures.parse_measure("P@1")] == 1.0
    path = tmp_path / "bare.qrels"
    path.write_text(bare)
    with open(path) as fh:
        assert pytrec_eval.parse_qrel(fh) == {"q1": {"d4": 0, "d5": 1}, "q3": {"d6": 2}}
    # the header, as comments, is read by neither...
    with pytest.raises(ValueError):
        list(ir_measures.read_trec_qrels(text))
    with pytest.raises(ValueError):
        pytrec_eval.parse_qrel(text.splitlines())
    # ...and disguised as qrels of a query "#" it would silently change ir_measures' means (why it is not done so)
    disguised = "# 0 judge=ann 0\n" + bare
    changed = ir_measures.calc_aggregate(measures, list(ir_measures.read_trec_qrels(disguised)), run)
    assert changed[ir_measures.parse_measure("P@1")] == pytest.approx(2 / 3)


def test_export_then_import_as_another_judge(j, tmp_path) -> None:
    text, _ = j.export_trec(judge="ann")
    path = tmp_path / "ann.qrels"
    path.write_text(text)
    report = j.import_qrels(path, judge="copy")
    assert (report.new, report.changed, report.unchanged, report.stale_checksum) == (3, 0, 0, None)
    assert j.frame("copy").set_index(["qid", "docid"])["grade"].to_dict() == {("q1", "d4"): 0, ("q1", "d5"): 1, ("q3", "d6"): 2}
    assert all(e.source == "import:ann.qrels" for e in j.history("q1", judge="copy"))
    again = j.import_qrels(path, judge="copy")
    assert (again.new, again.changed, again.unchanged) == (0, 0, 3)
    path.write_text(text.replace("q3 0 d6 2", "q3 0 d6 1"))
    assert j.import_qrels(path, judge="copy").changed == 1
    assert [e.label for e in j.history("q3", "d6", judge="copy")] == ["2", "1"]


def test_import_of_a_file_from_another_version_is_stale(j, tmp_path) -> None:
    path = tmp_path / "old.qrels"
    path.write_text(f"# retrieval judgements export\n# corpus_checksum: {'a' * 64}\nq1 0 d6 1\n")
    report = j.import_qrels(path, judge="old")
    assert report.stale_checksum == "a" * 64 and "flagged stale" in report.describe()
    assert j.get("q1", "d6", "old").stale is True
    assert j.qrels("merged", judge="old").added == 0 and j.qrels("merged", judge="old").stale == 1


def test_import_counts_and_names_unknown_ids(j, tmp_path) -> None:
    path = tmp_path / "other.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td6\t1\nq7\td1\t1\nq8\td1\t0\nq2\tnope\t1\n")  # a BEIR qrels file
    report = j.import_qrels(path, judge="bob")
    assert (report.new, report.lines, report.skipped_lines) == (1, 4, 3)
    assert report.unknown_queries == ("q7", "q8") and report.unknown_documents == ("nope",)
    assert "2 unknown queries skipped (q7, q8)" in report.describe() and "1 unknown documents skipped (nope)" in report.describe()


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("q1 0 d1 1\nq1 0 d2 1 extra\n", 2, "found 5 fields"),
        ("q1 0 d1 1\n\nq1 0 d2 high\n", 3, "grade 'high' is not an integer"),
        ("q1 0 d1 3\n", 1, "grade 3 is outside tiny's scale 0/1/2"),
        ("q1 0 d1 1\nq1 0 d2 0\nq1 0 d1 0\n", 3, "judged again (first on line 1)"),
    ],
)
def test_bad_lines_name_file_and_line_and_nothing_is_imported(j, tmp_path, content, line, reason) -> None:
    path = tmp_path / "bad.qrels"
    path.write_text(content)
    with pytest.raises(DataFormatError) as info:
        j.import_qrels(path, judge="bad")
    assert info.value.line == line and reason in str(info.value) and str(info.value).startswith(f"{path}:{line}:")
    assert j.frame("bad").empty


def test_empty_and_binary_files(tmp_path) -> None:
    empty = tmp_path / "empty.qrels"
    empty.write_text("# judge: x\n\n")
    with pytest.raises(DataFormatError, match="no judgements"):
        parse_qrels(empty, (0, 1))
    binary = tmp_path / "bin.qrels"
    binary.write_bytes(b"\xff\xfe\x00q1")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        parse_qrels(binary, (0, 1))


def test_csv_export_lists_every_judge_and_flags(j) -> None:
    rows = list(csv.DictReader(io.StringIO(j.export_csv())))
    assert [(r["qid"], r["docid"], r["judge"], r["grade"], r["label"]) for r in rows] == [
        ("q1", "d4", "ann", "0", "0"),
        ("q1", "d5", "ann", "1", "1"),
        ("q1", "d5", "bob", "0", "0"),
        ("q2", "d1", "ann", "", "can't tell"),
        ("q3", "d6", "ann", "2", "2"),
    ]
    assert {r["stale"] for r in rows} == {"False"} and {r["corpus_checksum"] for r in rows} == {j.checksum}
    assert len(list(csv.DictReader(io.StringIO(j.export_csv("bob"))))) == 1


# ---- the command line ----------------------------------------------------------------------------
def _common(tiny_ds) -> list[str]:  # noqa: F811
    return ["--dataset", "tiny", "--data-dir", str(tiny_ds.path.parent), "--cache-dir", str(tiny_ds.cache.root)]


def test_cli_import_export_summary(tiny_ds, tmp_path, capsys, monkeypatch) -> None:  # noqa: F811
    monkeypatch.delenv("RETRIEVAL_DB_URL", raising=False)
    monkeypatch.delenv("RETRIEVAL_READONLY", raising=False)
    qrels = tmp_path / "bob.qrels"
    qrels.write_text("q1 0 d5 1\nq2 0 d3 1\nq9 0 d1 1\n")
    assert main(["judgements", "import", str(qrels), *_common(tiny_ds), "--judge", "bob"]) == 0
    err = capsys.readouterr().err
    assert "2 new, 0 changed, 0 unchanged judgements of bob" in err and "1 unknown queries skipped (q9)" in err
    assert (tiny_ds.cache.root / "judgements.sqlite3").is_file()  # the default database: under the cache root
    assert main(["judgements", "export", *_common(tiny_ds), "--judge", "bob"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# retrieval judgements export\n") and "# judge: bob\n" in out
    assert [ln for ln in out.splitlines() if not ln.startswith("#")] == ["q1 0 d5 1", "q2 0 d3 1"]
    assert main(["judgements", "export", *_common(tiny_ds), "--judge", "bob", "--no-header"]) == 0
    assert capsys.readouterr().out == "q1 0 d5 1\nq2 0 d3 1\n"
    target = tmp_path / "out.csv"
    assert main(["judgements", "export", *_common(tiny_ds), "--format", "csv", "--output", str(target)]) == 0
    assert target.read_text().startswith("dataset,split,qid,docid,judge,grade")
    assert main(["judgements", "summary", "--cache-dir", str(tiny_ds.cache.root)]) == 0
    out = capsys.readouterr().out
    assert "judgements.sqlite3 (sqlite, schema 0002, read-write)" in out and "bob" in out
    bad = tmp_path / "bad.qrels"
    bad.write_text("q1 0 d5 7\n")
    assert main(["judgements", "import", str(bad), *_common(tiny_ds), "--judge", "bob"]) == 2
    assert f"{bad}:1: grade 7 is outside tiny's scale 0/1/2" in capsys.readouterr().err


def test_cli_eval_prints_official_beside_merged(tiny_ds, tmp_path, capsys, monkeypatch) -> None:  # noqa: F811
    monkeypatch.delenv("RETRIEVAL_DB_URL", raising=False)
    run_path = tmp_path / "r.trec"
    Run.from_dict(
        {"q1": {"d5": 3.0, "d1": 2.0}, "q2": {"d3": 2.0, "d2": 1.0}, "q3": {"d3": 1.0}, "q4": {"d1": 1.0}}, "r"
    ).write_trec(run_path)
    url = f"sqlite:///{tmp_path / 'j.sqlite3'}"
    j = open_store(url).dataset(tiny_ds, "test")
    j.set("q1", "d5", 2, judge="ann")
    j.set("q2", "d3", 1, judge="bob")
    args = ["eval", str(run_path), *_common(tiny_ds), "--measure", "RR@10", "--db-url", url]
    assert main([*args, "--qrels", "merged"]) == 0
    out = capsys.readouterr().out
    assert "merged qrels: official + 2 user judgements of all judges" in out
    row = next(ln.split() for ln in out.splitlines() if ln.split()[:2] == ["r", "RR@10"])
    # officially: q1 first relevant d1 at 2 (0.5), q2 d2 at 2 (0.5), q3 1.0, q4 0 -> 0.5; merged: q1 1.0, q2 1.0 -> 0.75
    assert row[2:] == ["0.5000", "0.7500", "+0.2500"]
    assert main([*args, "--qrels", "mine", "--judge", "bob", "--per-query"]) == 0
    out = capsys.readouterr().out
    assert "(official over the same 1 queries)" in out
    row = next(ln.split() for ln in out.splitlines() if ln.split()[:2] == ["r", "RR@10"])
    assert row[2:] == ["0.5000", "1.0000", "+0.5000"]
    assert main([*args, "--judge", "bob"]) == 2
    assert "--judge needs --qrels merged or --qrels mine" in capsys.readouterr().err


def test_cli_run_with_merged_qrels(tiny_dir: Path, tiny_cache, tmp_path, capsys) -> None:
    from retrieval.beir import BeirDataset

    url = f"sqlite:///{tmp_path / 'j.sqlite3'}"
    j = open_store(url).dataset(BeirDataset(tiny_dir, "tiny", cache=tiny_cache), "test")
    j.set("q4", "d1", 1, judge="ann")
    rc = main(
        [
            "run",
            "--dataset",
            "tiny",
            "--data-dir",
            str(tiny_dir.parent),
            "--cache-dir",
            str(tiny_cache.root),
            "--system",
            "bm25-flat",
            "--output",
            str(tmp_path / "o.trec"),
            "--no-progress",
            "--qrels",
            "merged",
            "--db-url",
            url,
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "merged qrels: official + 1 user judgements" in out
    assert {ln.split()[1] for ln in out.splitlines() if ln.startswith("bm25-flat ")} >= {"nDCG@10", "R@100", "RR@10", "Judged@10"}


def test_cli_store_down_is_one_clear_error(tiny_ds, tmp_path, capsys) -> None:  # noqa: F811
    run_path = tmp_path / "r.trec"
    Run.from_dict({"q1": {"d1": 1.0}}, "r").write_trec(run_path)
    rc = main(["eval", str(run_path), *_common(tiny_ds), "--qrels", "merged", "--db-url", "postgresql://u:pw@127.0.0.1:1/db"])
    assert rc == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: cannot reach the judgements database at postgresql://u:***@127.0.0.1:1/db")
    assert not any("pw" in line for line in err)
