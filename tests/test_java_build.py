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


def test_a_crashing_jvm_reports_under_the_cache_not_in_the_working_folder(tmp_path: Path) -> None:
    """The in-process JVM's crash report (hs_err_pid*.log) goes to the cache's jvm/ folder: a server stopped while its
    JVM's threads still ran once left one in the repository's root. Checked in a fresh interpreter (no JVM yet)."""
    import json
    import os
    import subprocess
    import sys

    code = "import json, jnius_config; from retrieval.lucene import prepare_jvm; prepare_jvm(); print(json.dumps(jnius_config.options))"
    env = {**os.environ, "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache")}
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert f"-XX:ErrorFile={tmp_path / 'cache' / 'jvm' / 'hs_err_pid%p.log'}" in options, (options, out.stderr)
    assert (tmp_path / "cache" / "jvm").is_dir()
