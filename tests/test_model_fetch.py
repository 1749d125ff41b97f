"""Fetching a model from the Hugging Face hub (progress, checksums, offline) and its size on disk.

The hub is unreachable here: the offline path is the real one; the success path serves a local copy of
the tiny T5 folder through a fake ``snapshot_download`` that reports bytes the way huggingface_hub does.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from retrieval.errors import ModelUnavailable
from retrieval.neural import registry, weights


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


def test_offline_fetch_fails_fast_with_the_reason(monkeypatch):
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    called = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: called.append(a))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="unreachable.*HF_HUB_OFFLINE is set") as err:
        weights.fetch_model(registry.lookup("monot5:base"), progress=lambda *a: None)
    assert time.monotonic() - started < 5 and not called  # no download attempted
    assert "--model-path" in str(err.value)


def test_unreachable_hub_fails_with_the_probe_reason(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    weights._PROBE.clear()
    with pytest.raises(ModelUnavailable, match="hub is unreachable \\(127.0.0.1"):
        weights.fetch_model(registry.lookup("monot5:small"))


@pytest.fixture
def fake_hub(tiny_t5_dir, tmp_path, monkeypatch):
    """A hub serving the tiny T5 folder: byte progress like huggingface_hub's aggregated bars, checksums listed."""
    import huggingface_hub

    snap = _copy(tiny_t5_dir, tmp_path / "snap" / ("c" * 40))
    served = {f.name: f.read_bytes() for f in snap.iterdir()}
    state = {"corrupt": None}

    def fake_snapshot_download(repo_id, *, revision=None, ignore_patterns=None, tqdm_class=None, **kwargs):
        assert "*.bin" in ignore_patterns
        if tqdm_class is not None:
            files = tqdm_class(total=len(served), desc=f"Fetching {len(served)} files")  # counts files, not bytes
            transfer = tqdm_class(total=0, initial=0, unit="B", desc="Downloading bytes")
            written = tqdm_class(total=0, initial=0, unit="B", desc="Reconstructing (incomplete total...)")
            for data in served.values():
                written.total = (written.total or 0) + len(data)
            for data in served.values():
                transfer.update(len(data))
                written.update(len(data))
                files.update(1)
        return str(snap)

    class Sibling:
        def __init__(self, name, data):
            self.rfilename = name
            lfs = name.endswith(".safetensors")
            self.lfs = type("Lfs", (), {"sha256": hashlib.sha256(data).hexdigest()})() if lfs else None
            self.blob_id = _git_sha1(data)
            if state["corrupt"] == name:
                if lfs:
                    self.lfs.sha256 = "0" * 64
                else:
                    self.blob_id = "0" * 40

    class FakeApi:
        def model_info(self, repo_id, revision=None, files_metadata=False, timeout=None):
            return type("Info", (), {"sha": "c" * 40, "siblings": [Sibling(n, d) for n, d in served.items()]})()

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(weights, "hub_offline_reason", lambda: None)
    return {"snap": snap, "served": served, "state": state}


def test_fetch_reports_byte_progress_and_checks_checksums(fake_hub):
    seen = []
    src = weights.fetch_model(registry.lookup("monot5:small"), progress=lambda done, total: seen.append((done, total)))
    total = sum(len(d) for d in fake_hub["served"].values())
    assert src.origin == "hub" and src.path == fake_hub["snap"]
    assert seen and seen[-1] == (total, total)  # only the written-bytes bar reports: no double counting
    assert all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    checked = weights.verify_snapshot(registry.lookup("monot5:small"), "main", fake_hub["snap"])
    assert sorted(checked) == sorted(fake_hub["served"])


@pytest.mark.parametrize("which", ["model.safetensors", "config.json"])
def test_fetch_refuses_a_file_that_does_not_match_the_hub(fake_hub, which):
    fake_hub["state"]["corrupt"] = which
    with pytest.raises(ModelUnavailable, match=f"{which} does not match the hub's checksum"):
        weights.fetch_model(registry.lookup("monot5:small"))


def test_disk_size_of_a_local_folder_and_of_a_missing_model(tiny_t5_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(weights.MODEL_DIR_ENV, raising=False)
    info = registry.lookup("monot5:base")
    size, where = weights.disk_size(info, model_path=tiny_t5_dir)
    assert size == sum(f.stat().st_size for f in Path(tiny_t5_dir).rglob("*") if f.is_file()) and size > 0
    assert str(tiny_t5_dir) in where
    assert weights.disk_size(registry.lookup("monot5:3b")) == (None, "not on this machine")
