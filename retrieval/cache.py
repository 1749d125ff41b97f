"""On-disk cache: content-keyed entries, atomic writes, a lock per entry, verified reads.

An entry is a directory ``<root>/<kind>/<digest>/`` holding the files a builder wrote and a
``manifest.json`` written last, listing every file with its size, sha256 and xxh3 plus the full key.
The digest is the sha256 of the canonical JSON of ``{"kind", "format", "parts"}``: everything that
changes the output goes into ``parts`` (dataset checksum, split, system, model id and revision,
parameters, code version), never a display name.

* Writes are atomic: a builder fills a temporary sibling directory that is renamed into place.
* Two processes building the same entry serialise on a file lock; the second finds it built.
* A missing, truncated or corrupt entry (size or checksum mismatch, unreadable manifest) is removed
  and rebuilt, never used. Sizes are checked on every read; contents as the reader asks (``check``):

  - ``"read"``: the xxh3 of every file on every read (runs, evaluations: xxh3 hashes ~10 GB/s here,
    0.17 ms for SciFact's 1.8 MB run, 1-2% of reading it; zlib's crc32, ~2 GB/s, was 5-10%);
  - ``"process"`` (the default): the xxh3 of every file on the first read in a process, and again
    whenever a file's (size, mtime, inode, ctime) changes (Lucene indexes, embeddings: read once
    per process and then held open);
  - ``"stamp"``: the xxh3 when a file's (size, mtime, inode, ctime) differs from the record under
    ``_verified/`` (written by the last check, in any process), for entries too large to hash on
    every open whose reader checks their structure itself (the document store).

  Nothing is trusted across processes for ``"read"`` and ``"process"``: a flipped byte whose file
  kept its size and mtime is caught on the next read (``"read"``) or the next process (``"process"``).
  The ctime in the stamps cannot be set back by a program (``os.utime`` moves it), so a rewritten
  file with its mtime restored is caught by every level. Entries written before xxh3 was recorded
  are checked by their sha256 and get their xxh3 added to the manifest.
* A build that dies (SIGKILL, power loss) leaves a ``.tmp-<digest>-*`` folder; the first
  :meth:`Cache.get_or_build` of a kind in a process sweeps those whose entry lock nobody holds, and
  the leftovers of atomic writes that died (``.<name>.*.tmp`` files, idle for a minute) in the
  cache's own record folders.

No pickle anywhere: entries hold parquet, JSON, npy (``allow_pickle=False``) or Lucene indexes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_cache_root() -> Path:
    """``$RETRIEVAL_CACHE_DIR`` if set, else the project's ``cache/`` folder."""
    env = os.environ.get("RETRIEVAL_CACHE_DIR")
    return Path(env).expanduser() if env else _PROJECT_ROOT / "cache"


# ---- atomic file writes ----------------------------------------------------------------------
def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def xxh3_file(path: Path, chunk: int = 1 << 22) -> str:
    """The xxh3 (64-bit) of a file, in hex: a checksum for catching damage, not a cryptographic hash (~10 GB/s here,
    against ~2 GB/s for zlib's crc32 and ~0.8 GB/s for sha256)."""
    import xxhash

    h = xxhash.xxh3_64()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _file_sums(path: Path, chunk: int = 1 << 22) -> tuple[str, str]:
    """``(sha256 hex, xxh3 hex)`` of a file in one pass."""
    import xxhash

    sha, xxh = hashlib.sha256(), xxhash.xxh3_64()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            sha.update(block)
            xxh.update(block)
    return sha.hexdigest(), xxh.hexdigest()


def _stat_stamp(st: os.stat_result) -> list[int]:
    """What says a file is unchanged: size, mtime, inode and ctime (which no program can set back)."""
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


CHECKS = ("read", "process", "stamp")
# entry folder -> the stamps of its files when their contents were last checked in this process
_CHECKED: dict[Path, dict[str, list[int]]] = {}
STALE_TMP_SECONDS = 60  # an atomic write's temp file idle this long belongs to a writer that died


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class CacheKey:
    kind: str
    parts: Mapping[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "format": CACHE_FORMAT_VERSION, "parts": dict(self.parts)}

    @property
    def digest(self) -> str:
        return hashlib.sha256(canonical_json(self.payload).encode("utf-8")).hexdigest()


class Cache:
    """A cache rooted at ``root`` (default: :func:`default_cache_root`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_root()
        self._checked = _CHECKED  # one memo per process, whichever Cache object reads the entry
        self._swept: set[str] = set()

    # ---- keys and paths -----------------------------------------------------------------
    def key(self, kind: str, **parts: Any) -> CacheKey:
        # Round-trip through JSON so the key holds exactly what the manifest will.
        return CacheKey(kind, json.loads(canonical_json(parts)))

    def path(self, key: CacheKey) -> Path:
        return self.root / key.kind / key.digest

    def scratch(self, key: CacheKey) -> Path:
        """A per-entry folder for resumable partial work (kept across interrupted builds)."""
        p = self.root / "_partial" / key.kind / key.digest
        p.mkdir(parents=True, exist_ok=True)
        return p

    def lock(self, key: CacheKey, timeout: float = -1):
        return self._lock(key.kind, key.digest, timeout)

    def _lock(self, kind: str, digest: str, timeout: float = -1):
        from filelock import FileLock

        lock_dir = self.root / "_locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(lock_dir / f"{kind}-{digest}.lock"), timeout=timeout)

    # ---- reading ------------------------------------------------------------------------
    def lookup(self, key: CacheKey, *, check: str = "process") -> Path | None:
        """The entry's folder if it exists and verifies (see the module doc for ``check``); a bad entry is
        removed and ``None`` returned."""
        path = self.path(key)
        if not path.exists():
            return None
        problem = self.verify(path, key, check=check)
        if problem is None:
            return path
        self._discard(path)
        return None

    def verify(self, path: Path, key: CacheKey | None = None, *, check: str = "process") -> str | None:
        """``None`` if the entry at ``path`` is intact, else what is wrong with it (``check``: see the module doc)."""
        if check not in CHECKS:
            raise ValueError(f"check must be one of {CHECKS}, not {check!r}")
        manifest_path = path / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            files = manifest["files"]
            for info in files.values():
                int(info["size"])
                if "xxh3" not in info:
                    str(info["sha256"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"unreadable manifest ({exc.__class__.__name__})"
        if key is not None and manifest.get("key") != key.payload:
            return "manifest key does not match"
        stats: dict[str, list[int]] = {}
        for rel, info in files.items():
            try:
                st = (path / rel).stat()
            except OSError:
                return f"missing file {rel}"
            if st.st_size != info["size"]:
                return f"{rel} has {st.st_size} bytes, manifest says {info['size']}"
            stats[rel] = _stat_stamp(st)
        if check != "read" and self._checked.get(path) == stats:
            return None
        if check == "stamp" and self._stamp_matches(path, stats):
            self._checked[path] = stats
            return None
        upgraded = False
        for rel, info in files.items():
            if "xxh3" in info:
                if xxh3_file(path / rel) != info["xxh3"]:
                    return f"{rel} checksum mismatch (xxh3)"
            else:  # an entry from before xxh3 was recorded: its sha256, and its xxh3 noted for next time
                sha, xxh = _file_sums(path / rel)
                if sha != info["sha256"]:
                    return f"{rel} checksum mismatch (sha256)"
                info["xxh3"] = xxh
                upgraded = True
        if upgraded:
            self._upgrade_manifest(path, manifest)
        self._checked[path] = stats
        if check == "stamp":
            self._write_stamp(path, stats)
        return None

    def _upgrade_manifest(self, path: Path, manifest: dict[str, Any]) -> None:
        """Write ``manifest`` (now with xxh3s) over the entry's, unless a build of the entry holds its lock or
        the manifest changed meanwhile; never raises (it only saves hashing with sha256 next time)."""
        from filelock import Timeout

        kind, digest = path.parent.name, path.name
        try:
            with self._lock(kind, digest, timeout=0):
                current = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
                if {r: i.get("sha256") for r, i in current.get("files", {}).items()} == {
                    r: i.get("sha256") for r, i in manifest["files"].items()
                }:
                    atomic_write_json(path / MANIFEST, manifest)
        except (Timeout, OSError, ValueError, AttributeError):
            pass

    def _stamp_path(self, path: Path) -> Path:
        return self.root / "_verified" / f"{path.parent.name}-{path.name}.json"

    def _stamp_matches(self, path: Path, stats: dict[str, list[int]]) -> bool:
        try:
            saved = json.loads(self._stamp_path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return saved == {"entry": str(path), "files": stats}

    def _write_stamp(self, path: Path, stats: dict[str, list[int]]) -> None:
        with contextlib.suppress(OSError):  # a read-only cache still works, it just hashes again next time
            atomic_write_json(self._stamp_path(path), {"entry": str(path), "files": stats})

    def manifest(self, path: Path) -> dict[str, Any]:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8"))

    # ---- building -----------------------------------------------------------------------
    def get_or_build(
        self,
        key: CacheKey,
        build: Callable[[Path], Mapping[str, Any] | None],
        *,
        info: Mapping[str, Any] | None = None,
        check: str = "process",
    ) -> Path:
        """Return the entry for ``key``, building it with ``build(tmp_dir)`` if absent or corrupt.

        ``build`` writes files into the folder it is given and may return extra JSON-able
        information stored in the manifest under ``"info"``. ``check``: how a found entry is
        verified (see the module doc).
        """
        self.sweep(key.kind)
        found = self.lookup(key, check=check)
        if found is not None:
            return found
        with self.lock(key):
            found = self.lookup(key, check=check)  # another process may have built it meanwhile
            if found is not None:
                return found
            return self._build(key, build, info, check)

    def _build(self, key: CacheKey, build, info, check: str = "process") -> Path:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            started = time.time()
            extra = build(tmp) or {}
            files = {}
            for p in sorted(tmp.rglob("*")):
                if p.is_file() and p.name != MANIFEST:
                    sha, xxh = _file_sums(p)
                    files[str(p.relative_to(tmp))] = {"size": p.stat().st_size, "sha256": sha, "xxh3": xxh}
            manifest = {
                "key": key.payload,
                "files": files,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "build_seconds": round(time.time() - started, 3),
                "info": {**(info or {}), **extra},
            }
            atomic_write_json(tmp / MANIFEST, manifest)
            if final.exists():
                self._discard(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # The checksums were just computed from these very files: record them as checked.
        stats = {rel: _stat_stamp((final / rel).stat()) for rel in files}
        self._checked[final] = stats
        if check == "stamp":
            self._write_stamp(final, stats)
        return final

    def discard(self, path: Path) -> None:
        """Remove an entry (moved aside first, so readers never see it half-deleted)."""
        self._discard(path)

    def _discard(self, path: Path) -> None:
        self._checked.pop(path, None)
        self._stamp_path(path).unlink(missing_ok=True)
        trash = path.parent / f".trash-{path.name}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(path, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def sweep(self, kind: str, *, force: bool = False) -> list[Path]:
        """Remove the ``.tmp-*`` / ``.trash-*`` folders of ``kind`` that no live build owns.

        A build holds its entry's lock for as long as its temporary folder exists, so a folder whose
        lock can be taken at once belongs to a build that died (killed, crashed). Done once per kind
        and process unless ``force``. Returns what was removed.
        """
        if kind in self._swept and not force:
            return []
        if not self._swept or force:
            for folder in ("_verified", "_fingerprints", "exports"):
                self.sweep_files(self.root / folder)
        self._swept.add(kind)
        kdir = self.root / kind
        removed: list[Path] = []
        if not kdir.is_dir():
            return removed
        for p in sorted(kdir.iterdir()):
            if p.name.startswith(".trash-"):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
                continue
            if not p.name.startswith(".tmp-"):
                continue
            digest = p.name[len(".tmp-") :].rsplit("-", 1)[0]
            from filelock import Timeout

            try:
                with self._lock(kind, digest, timeout=0):
                    if p.exists():
                        shutil.rmtree(p, ignore_errors=True)
                        removed.append(p)
            except Timeout:  # a live build owns it
                continue
        return removed

    @staticmethod
    def sweep_files(folder: Path, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
        """Remove the temporary files of atomic writes that died (``.<name>.*.tmp``, see :func:`atomic_write_bytes`)
        in ``folder``, once idle for ``older_than`` seconds (a live write keeps its file's mtime fresh: it writes
        in one go). Returns what was removed."""
        removed: list[Path] = []
        now = time.time()
        try:
            found = [p for p in Path(folder).iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
        except OSError:
            return removed
        for p in found:
            try:
                if now - p.stat().st_mtime > older_than and p.is_file():
                    p.unlink()
                    removed.append(p)
            except OSError:
                continue
        return removed

    # ---- listing ------------------------------------------------------------------------
    def entries(self, kind: str | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Yield ``(path, manifest)`` for each readable entry, optionally of one kind."""
        kinds = [self.root / kind] if kind else [p for p in self.root.iterdir() if p.is_dir()] if self.root.exists() else []
        for kdir in kinds:
            if not kdir.is_dir() or kdir.name.startswith(("_", ".")):
                continue
            for entry in sorted(kdir.iterdir()):
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                try:
                    yield entry, self.manifest(entry)
                except (OSError, ValueError):
                    continue
