"""The command line, end to end on the tiny fixture (and SciFact when present)."""

from __future__ import annotations

from pathlib import Path

from retrieval.cli import main
from retrieval.run import Run

from .conftest import SCIFACT, needs_scifact


def test_run_writes_trec_and_prints_metrics(tiny_dir: Path, tmp_path: Path, tiny_cache, capsys) -> None:
    out = tmp_path / "out.trec"
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
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "nDCG@10" in printed and "bm25-flat" in printed
    run = Run.read_trec(out)
    assert set(run.qids) <= {"q1", "q2", "q3", "q4"}
    # the same numbers come back through `eval` on the written file
    assert (
        main(["eval", str(out), "--dataset", "tiny", "--data-dir", str(tiny_dir.parent), "--cache-dir", str(tiny_cache.root)])
        == 0
    )
    again = capsys.readouterr().out
    assert printed.strip().splitlines()[-1].split()[2:] == again.strip().splitlines()[-1].split()[2:]


def test_eval_foreign_run_with_ties_and_missing_queries(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    foreign = tmp_path / "other-tool.run"
    # unsorted lines, ties, a rank column that disagrees with scores, q3/q4 absent
    foreign.write_text("q1 Q0 d3 1 1.0 other\nq1 Q0 d1 2 1.0 other\nq2 0 d6 1 5 other\n")
    rc = main(
        [
            "eval",
            str(foreign),
            "--dataset",
            "tiny",
            "--data-dir",
            str(tiny_dir.parent),
            "--cache-dir",
            str(tmp_path / "c"),
            "--measure",
            "RR@10",
            "--per-query",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "2 of 4 judged queries have no results" in captured.err
    assert "The run names" not in captured.err  # every id is the dataset's
    lines = {ln.split()[0]: ln.split() for ln in captured.out.splitlines() if ln.strip().startswith("q")}
    assert float(lines["q1"][1]) == 1.0  # tie: d3 > d1 by docid descending, d3 is relevant
    assert float(lines["q3"][1]) == 0.0


def test_eval_names_the_query_and_document_ids_the_dataset_lacks(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    """They score 0 (an unknown query is never evaluated, an unknown document is never relevant): said with counts
    and examples, as the app's upload says it."""
    foreign = tmp_path / "other-ids.run"
    lines = ["q1 Q0 d1 1 3.0 t", "q1 Q0 D1 2 2.0 t", "q1 Q0 doc-9 3 1.0 t", "Q1 Q0 d1 1 1.0 t", "q7 Q0 d2 1 1.0 t"]
    foreign.write_text("\n".join(lines) + "\n")
    args = ["eval", str(foreign), "--dataset", "tiny", "--data-dir", str(tiny_dir.parent), "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert (
        "note (other-ids.run): The run names 2 queries not in tiny (e.g. Q1, q7) and 2 documents not in tiny "
        "(e.g. D1, doc-9): they count as retrieving nothing relevant." in err
    )


def test_bad_run_file_exit_code_and_message(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 d1 1 0.5 x\nq1 Q0 d2\n")
    assert (
        main(["eval", str(bad), "--dataset", "tiny", "--data-dir", str(tiny_dir.parent), "--cache-dir", str(tmp_path / "c")]) == 2
    )
    assert f"{bad}:2:9: expected 6 columns" in capsys.readouterr().err


def test_unknown_system_and_missing_dataset(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("BEIR_DATA_DIR", raising=False)
    assert main(["run", "--dataset", "robust04", "--cache-dir", str(tmp_path), "--system", "bm25-flat"]) == 2
    assert "cannot be redistributed" in capsys.readouterr().err
    assert main(["run", "--dataset", "nfcorpus", "--no-download", "--cache-dir", str(tmp_path), "--system", "bm25-flat"]) == 2
    assert main(["datasets", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "not redistributable" in out and "downloadable" in out


@needs_scifact
def test_datasets_shows_scifact_here(capsys, tmp_path: Path) -> None:
    assert main(["datasets", "--data-dir", str(SCIFACT.parent), "--cache-dir", str(tmp_path)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("scifact"))
    assert "here" in line


@needs_scifact
def test_cli_scifact_run_from_a_subprocess(tmp_path: Path, session_cache) -> None:
    """The README's command, as a newcomer runs it."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "RETRIEVAL_CACHE_DIR": str(session_cache.root)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retrieval",
            "run",
            "--dataset",
            "scifact",
            "--data-dir",
            str(SCIFACT.parent),
            "--system",
            "bm25-flat",
            "--no-progress",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    row = next(ln for ln in proc.stdout.splitlines() if ln.startswith("bm25-flat"))
    assert row.split()[2] == "0.6789"
    assert Run.read_trec(session_cache.root / "exports" / "scifact.test.bm25-flat.trec").depth() == 1000
