"""Cache: content keys, atomic entries, a lock between processes, corrupt entries rebuilt."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from retrieval.cache import Cache, atomic_write_text
from retrieval.run import Run
from retrieval.runner import get_run, read_run_parquet
from retrieval.system import System


def _build_counter(counter: Path, payload: bytes = b"x" * 1000):
    def build(tmp: Path):
        with open(counter, "a") as fh:
            fh.write("built\n")
        (tmp / "data.bin").write_bytes(payload)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "more.json").write_text("{}")
        return {"note": "hi"}

    return build


def flip_byte(path: Path, offset: int) -> None:
    """Flip one byte of ``path`` in place and put its mtime back (its size is unchanged): what a stamp of size
    and mtime cannot see."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def forget_checks() -> None:
    """What a new process starts with: no memo of entries checked earlier (the records under _verified/ stay)."""
    from retrieval import cache as cache_module

    cache_module._CHECKED.clear()


def test_key_depends_on_every_part(cache: Cache) -> None:
    a = cache.key("run", dataset="d", split="test", params={"k1": 0.9})
    assert a.digest == cache.key("run", split="test", params={"k1": 0.9}, dataset="d").digest
    assert a.digest != cache.key("run", dataset="d", split="test", params={"k1": 1.2}).digest
    assert a.digest != cache.key("index", dataset="d", split="test", params={"k1": 0.9}).digest


def test_build_once_then_hit(cache: Cache, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    key = cache.key("thing", n=1)
    p1 = cache.get_or_build(key, _build_counter(counter))
    p2 = cache.get_or_build(key, _build_counter(counter))
    assert p1 == p2 and counter.read_text().count("built") == 1
    manifest = json.loads((p1 / "manifest.json").read_text())
    assert manifest["key"]["parts"] == {"n": 1} and manifest["info"]["note"] == "hi"
    assert set(manifest["files"]) == {"data.bin", "sub/more.json"}
    assert [e for e, _ in cache.entries("thing")] == [p1]


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_file", "delete_manifest", "garble_manifest"])
def test_corrupt_entry_is_detected_and_rebuilt(cache: Cache, tmp_path: Path, damage: str) -> None:
    counter = tmp_path / "count"
    key = cache.key("thing", n=2)
    path = cache.get_or_build(key, _build_counter(counter))
    data = path / "data.bin"
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[:10])
    elif damage == "flip":
        flip_byte(data, 500)  # size and mtime as before: only the contents tell
    elif damage == "delete_file":
        data.unlink()
    elif damage == "delete_manifest":
        (path / "manifest.json").unlink()
    else:
        (path / "manifest.json").write_text("{not json")
    fresh = Cache(cache.root)  # a new process: no memo of earlier verification
    assert fresh.lookup(key) is None
    again = fresh.get_or_build(key, _build_counter(counter))
    assert counter.read_text().count("built") == 2
    assert (again / "data.bin").read_bytes() == b"x" * 1000


@pytest.mark.parametrize("check", ["read", "process", "stamp"])
def test_a_flipped_byte_with_size_and_mtime_restored_is_caught_at_every_level(cache: Cache, tmp_path: Path, check) -> None:
    counter = tmp_path / "count"
    key = cache.key("thing", n=5)
    path = cache.get_or_build(key, _build_counter(counter), check=check)
    assert cache.lookup(key, check=check) == path
    flip_byte(path / "data.bin", 10)
    assert "data.bin checksum mismatch" in cache.verify(path, key, check=check)  # in this process
    forget_checks()
    assert "data.bin checksum mismatch" in cache.verify(path, key, check=check)  # and in a new one
    again = Cache(cache.root).get_or_build(key, _build_counter(counter), check=check)
    assert counter.read_text().count("built") == 2 and (again / "data.bin").read_bytes() == b"x" * 1000


def test_how_often_each_level_reads_the_files(cache: Cache, tmp_path: Path, monkeypatch) -> None:
    """ "read" checksums on every read; "process" once per process (and after a file changes); "stamp" only when
    a file's size, mtime, inode or ctime differ from the record of the last check, in any process."""
    from retrieval import cache as cache_module

    hashed: list[str] = []
    real = cache_module.xxh3_file
    monkeypatch.setattr(cache_module, "xxh3_file", lambda p: hashed.append(p.name) or real(p))
    # entries checked in full (two files each) after: a read, a read in a new process, a read after a rewrite
    for check, expected in (("read", [1, 2, 3]), ("process", [0, 1, 2]), ("stamp", [0, 0, 1])):
        key = cache.key("levels", check=check)
        path = cache.get_or_build(key, _build_counter(tmp_path / "count"), check=check)
        hashed.clear()
        counts = []
        cache.lookup(key, check=check)
        counts.append(len(hashed) / 2)
        forget_checks()  # a new process
        cache.lookup(key, check=check)
        counts.append(len(hashed) / 2)
        (path / "data.bin").write_bytes(b"x" * 1000)  # rewritten with the same bytes: its ctime moved
        cache.lookup(key, check=check)
        counts.append(len(hashed) / 2)
        assert counts == expected, check


def test_an_entry_from_before_xxh3_is_checked_by_sha256_and_gets_its_xxh3(cache: Cache, tmp_path: Path) -> None:
    key = cache.key("legacy", n=1)
    path = cache.get_or_build(key, _build_counter(tmp_path / "count"))
    manifest = json.loads((path / "manifest.json").read_text())
    sums = {rel: info.pop("xxh3") for rel, info in manifest["files"].items()}
    (path / "manifest.json").write_text(json.dumps(manifest))
    forget_checks()
    assert cache.verify(path, key, check="read") is None
    upgraded = json.loads((path / "manifest.json").read_text())
    assert {rel: info["xxh3"] for rel, info in upgraded["files"].items()} == sums
    (path / "manifest.json").write_text(json.dumps(manifest))  # old again, then damaged
    flip_byte(path / "data.bin", 3)
    assert cache.verify(path, key, check="read") == "data.bin checksum mismatch (sha256)"


def test_the_sweep_removes_dead_atomic_writes_of_the_cache_records(cache: Cache, tmp_path: Path) -> None:
    import time

    folder = cache.root / "_verified"
    folder.mkdir(parents=True)
    dead, live = folder / ".x.json.abc123.tmp", folder / ".y.json.def456.tmp"
    dead.write_text("half")
    live.write_text("being written")
    old = time.time() - 3600
    os.utime(dead, (old, old))
    cache.get_or_build(cache.key("thing", n=9), _build_counter(tmp_path / "count"))
    assert not dead.exists() and live.exists()


def test_failed_build_leaves_nothing(cache: Cache) -> None:
    key = cache.key("thing", n=3)

    def boom(tmp: Path):
        (tmp / "half.bin").write_bytes(b"partial")
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        cache.get_or_build(key, boom)
    assert cache.lookup(key) is None
    assert not [p for p in (cache.root / "thing").iterdir()]  # no temp folder left behind


def _worker(root: str, counter: str, barrier) -> None:
    import time

    cache = Cache(root)
    barrier.wait()

    def slow(tmp: Path):
        with open(counter, "a") as fh:
            fh.write("built\n")
        time.sleep(0.5)  # widen the race window; this is not a timing assertion
        (tmp / "data.bin").write_bytes(b"y" * 100)

    cache.get_or_build(cache.key("race", n=1), slow)


def test_two_processes_build_one_entry(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(str(tmp_path / "c"), str(counter), barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert counter.read_text().count("built") == 1
    assert Cache(tmp_path / "c").lookup(Cache(tmp_path / "c").key("race", n=1)) is not None


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


class _Fake(System):
    family = "external"

    def __init__(self, tag: str) -> None:
        self.spec = f"fake-{tag}"
        self.tag = tag
        self.calls = 0

    def key_parts(self):
        return {"system": "fake", "tag": self.tag}

    def retrieve(self, dataset, queries, *, cache, progress=True):
        self.calls += 1
        return Run.from_records([(q, d, float(len(d))) for q in queries for d in list(dataset.corpus)[:3]])


def test_get_run_is_cached_and_keyed_by_system_and_data(tiny_dir: Path, cache: Cache) -> None:
    from retrieval.beir import BeirDataset

    ds = BeirDataset(tiny_dir)
    sys_a = _Fake("a")
    run1 = get_run(ds, "test", sys_a, cache=cache)
    run2 = get_run(ds, "test", sys_a, cache=cache)
    assert sys_a.calls == 1 and run1.frame.equals(run2.frame)
    assert set(run1.qids) == {"q1", "q2", "q3", "q4"}
    sys_b = _Fake("b")
    get_run(ds, "test", sys_b, cache=cache)
    assert sys_b.calls == 1  # other parameters: another entry
    with open(tiny_dir / "corpus.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"_id": "d7", "title": "", "text": "new"}\n')
    get_run(BeirDataset(tiny_dir), "test", sys_a, cache=cache)
    assert sys_a.calls == 2  # the data changed: the checksum changes the key


def test_truncated_run_parquet_is_rebuilt(tiny_dir: Path, cache: Cache) -> None:
    from retrieval.beir import BeirDataset

    ds = BeirDataset(tiny_dir)
    fake = _Fake("t")
    run = get_run(ds, "test", fake, cache=cache)
    entry = Path(run.metadata["cache_entry"])
    parquet = entry / "run.parquet"
    parquet.write_bytes(parquet.read_bytes()[:50])
    with pytest.raises((OSError, ValueError)):  # pyarrow's ArrowInvalid is a ValueError
        read_run_parquet(parquet)
    again = get_run(ds, "test", fake, cache=Cache(cache.root))
    assert fake.calls == 2 and again.frame.equals(run.frame)


def test_a_flipped_byte_in_a_cached_run_is_caught_on_the_next_read_and_rebuilt(tiny_dir: Path, cache: Cache) -> None:
    """The fault suite's case: one byte of run.parquet changed, its size and mtime restored. Served as it was, it
    gave scores of -4.7e+257; the run is checked against its xxh3 on every read, so it is rebuilt instead."""
    from retrieval.beir import BeirDataset
    from retrieval.runner import cached_run

    ds = BeirDataset(tiny_dir)
    fake = _Fake("flip")
    run = get_run(ds, "test", fake, cache=cache)
    parquet = Path(run.metadata["cache_entry"]) / "run.parquet"
    flip_byte(parquet, parquet.stat().st_size // 3)
    assert cached_run(cache, ds, "test", fake) is None  # the same process, the same Cache: caught on this read
    assert not parquet.exists()  # the damaged entry is gone
    again = get_run(ds, "test", fake, cache=cache)
    assert fake.calls == 2 and again.frame.equals(run.frame)


_KILLED_BUILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from retrieval.cache import Cache

def build(tmp):
    (tmp / "half.bin").write_bytes(b"x" * 100_000)
    Path({ready!r}).write_text("building")
    time.sleep(120)  # killed here, mid-build

Cache({root!r}).get_or_build(Cache({root!r}).key("thing", n=1), build)
"""


def _start_build(tmp_path: Path, root: Path, name: str):
    import subprocess
    import sys
    import time

    ready = tmp_path / f"{name}.ready"
    code = _KILLED_BUILD.format(repo=str(Path(__file__).resolve().parent.parent), ready=str(ready), root=str(root))
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, "the build process died early"
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    return proc


def test_build_killed_midway_is_swept_and_rebuilt(tmp_path: Path) -> None:
    import signal

    root = tmp_path / "c"
    proc = _start_build(tmp_path, root, "killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    leftovers = list((root / "thing").glob(".tmp-*"))
    assert len(leftovers) == 1 and (leftovers[0] / "half.bin").is_file()  # what a killed build leaves

    cache = Cache(root)
    key = cache.key("thing", n=1)
    assert cache.lookup(key) is None
    entry = cache.get_or_build(key, _build_counter(tmp_path / "count"))
    assert (entry / "data.bin").read_bytes() == b"x" * 1000 and cache.verify(entry, key) is None
    assert not list((root / "thing").glob(".tmp-*")) and not list((root / "thing").glob(".trash-*"))
    assert [p.name for p in (root / "thing").iterdir()] == [entry.name]


def test_sweep_leaves_a_live_build_alone(tmp_path: Path) -> None:
    import signal

    root = tmp_path / "c"
    proc = _start_build(tmp_path, root, "live")
    try:
        cache = Cache(root)
        assert cache.sweep("thing", force=True) == []
        assert len(list((root / "thing").glob(".tmp-*"))) == 1  # its owner holds the lock
        assert cache.get_or_build(cache.key("thing", n=2), _build_counter(tmp_path / "count")).is_dir()
        assert len(list((root / "thing").glob(".tmp-*"))) == 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [p.name for p in Cache(root).sweep("thing")] and not list((root / "thing").glob(".tmp-*"))
