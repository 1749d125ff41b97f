"""Fetch BEIR datasets from the official server: progress bar, md5 check, atomic extraction.

Nothing partial is ever left where a reader would find it: the zip streams to ``*.part`` and is
renamed only after its md5 matches; it is extracted into a temporary folder renamed into place.
Offline, the first connection attempt fails within ``connect_timeout`` seconds with a message that
says how to use a local copy instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

from .errors import DownloadError

CONNECT_TIMEOUT = float(os.environ.get("RETRIEVAL_CONNECT_TIMEOUT", "10"))


def download_file(
    url: str, dest: Path, md5: str | None, *, connect_timeout: float = CONNECT_TIMEOUT, progress: bool = True
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``md5`` when given."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{uuid.uuid4().hex[:8]}.part")
    digest = hashlib.md5()
    try:
        _resolve_or_fail(url, connect_timeout)
        try:
            response = urllib.request.urlopen(url, timeout=connect_timeout)  # noqa: S310 - https/http only
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"could not download {url}: the server answered HTTP {exc.code} {exc.reason}") from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(
                f"could not download {url}: {reason}. This machine may be offline. To use a copy you already "
                f"have, pass --data-dir (or set BEIR_DATA_DIR) to a folder holding <dataset>/corpus.jsonl, "
                f"queries.jsonl and qrels/."
            ) from None
        total = int(response.headers.get("Content-Length") or 0) or None
        from tqdm.auto import tqdm

        with (
            response,
            open(part, "wb") as out,
            tqdm(
                total=total, unit="B", unit_scale=True, desc=f"download {dest.name}", disable=not progress, file=sys.stderr
            ) as bar,
        ):
            while True:
                try:
                    block = response.read(1 << 20)
                except (TimeoutError, OSError) as exc:
                    raise DownloadError(f"download of {url} stalled or broke off: {exc}") from None
                if not block:
                    break
                out.write(block)
                digest.update(block)
                bar.update(len(block))
        if total is not None and part.stat().st_size != total:
            raise DownloadError(f"download of {url} is truncated: {part.stat().st_size} of {total} bytes")
        if md5 and digest.hexdigest() != md5:
            raise DownloadError(f"checksum mismatch for {url}: md5 {digest.hexdigest()}, expected {md5}")
        os.replace(part, dest)
        return dest
    finally:
        part.unlink(missing_ok=True)


def _resolve_or_fail(url: str, timeout: float) -> None:
    """Resolve the host in a worker thread: socket timeouts do not cover DNS, which can hang offline."""
    import concurrent.futures
    import urllib.parse

    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise DownloadError(f"not a download URL: {url}")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(socket.getaddrinfo, host, None).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise DownloadError(
            f"could not resolve {host} within {timeout:.0f} s: this machine looks offline. Pass --data-dir "
            f"(or set BEIR_DATA_DIR) to a folder holding <dataset>/corpus.jsonl, queries.jsonl and qrels/."
        ) from None
    except OSError:
        pass  # urlopen reports the resolver's error with the usual advice
    finally:
        pool.shutdown(wait=False)


def extract_dataset_zip(zip_path: Path, name: str, datasets_root: Path) -> Path:
    """Extract a BEIR zip (one top folder ``<name>/``) to ``datasets_root/<name>`` atomically."""
    final = datasets_root / name
    tmp = datasets_root / f".extract-{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                for member in zf.infolist():
                    target = (tmp / member.filename).resolve()
                    if not str(target).startswith(str(tmp.resolve()) + os.sep):
                        raise DownloadError(f"{zip_path}: unsafe path {member.filename!r} in archive")
                zf.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{zip_path} is not a valid zip: {exc}") from None
        inner = tmp / name if (tmp / name / "corpus.jsonl").is_file() else tmp
        if not (inner / "corpus.jsonl").is_file():
            raise DownloadError(f"{zip_path} holds no {name}/corpus.jsonl")
        if final.exists():
            shutil.rmtree(final)
        os.replace(inner, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download_beir(name: str, url: str, md5: str | None, datasets_root: Path, *, progress: bool = True) -> Path:
    """Download and extract one BEIR dataset into ``datasets_root/<name>``; returns that folder."""
    zip_path = datasets_root / "_downloads" / f"{name}.zip"
    if not zip_path.is_file():
        download_file(url, zip_path, md5, progress=progress)
    try:
        return extract_dataset_zip(zip_path, name, datasets_root)
    finally:
        zip_path.unlink(missing_ok=True)
