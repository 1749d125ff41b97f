"""The committed retrieval-lucene.jar is what its committed source compiles to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.java import build


def test_jar_is_present_and_holds_the_batch_searcher() -> None:
    assert build.JAR.is_file(), "retrieval/java/retrieval-lucene.jar is missing: run python -m retrieval.java.build"
    assert "retrieval/lucene/BatchSearch.class" in build.jar_classes()


@pytest.mark.skipif(shutil.which("javac") is None, reason="no javac on PATH (install openjdk-17-jdk-headless to check the jar)")
def test_committed_jar_matches_its_source(tmp_path: Path) -> None:
    fresh = build.compile_classes(tmp_path)
    committed = build.jar_classes()
    assert sorted(fresh) == sorted(committed), "classes differ: rebuild with python -m retrieval.java.build"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"{changed} differ from the source: rebuild with python -m retrieval.java.build"
    build.write_jar(fresh, tmp_path / "again.jar")
    assert (tmp_path / "again.jar").read_bytes() == build.JAR.read_bytes()
