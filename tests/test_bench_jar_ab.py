"""bench/bm25_jar_ab.py: the in-process A/B of BatchSearch jars runs end to end on a small corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("javac") is None, reason="javac not on the PATH (the harness is compiled)")


def test_jar_ab_times_each_jar_and_finds_the_same_hits(tmp_path: Path, cache, capfd) -> None:
    """Two copies of one jar, each in its own class loader over one index: a line per k naming both, and no
    difference in their hits (the check a change to the search must pass)."""
    from bench import bm25_jar_ab
    from retrieval.java.build import JAR

    words = [f"w{i}" for i in range(60)]
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "", "text": " ".join(words[i % 50 : i % 50 + 8])} for i in range(200)]
    queries = [{"_id": f"q{i}", "text": " ".join(words[i : i + 3] * (1 + i % 2))} for i in range(20)]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    copy = tmp_path / "copy.jar"
    shutil.copy(JAR, copy)
    args = ["--data-dir", str(tmp_path), "--dataset", "tiny", "--cache", str(cache.root), "--jar", str(copy)]
    assert bm25_jar_ab.main([*args, "--rounds", "3", "--k", "10,100", "--heap", "512m"]) == 0
    lines = [line for line in capfd.readouterr().out.splitlines() if line.startswith("k=")]
    assert [line.split()[0] for line in lines] == ["k=10", "k=100"]
    for line in lines:
        assert str(copy) in line and str(JAR) in line and "x)" in line
        assert "DIFFERENT" not in line
