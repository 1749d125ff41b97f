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
        raw = bytearray(data.read_bytes())
        raw[500] ^= 0xFF
        data.write_bytes(bytes(raw))
        os.utime(path / "manifest.json")  # a fresh process would hash anyway; force a re-hash here
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
