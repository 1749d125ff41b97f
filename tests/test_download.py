"""Downloads: progress, md5, atomic extraction; offline or stalled servers fail fast and leave nothing.

Every server here is on 127.0.0.1, started by the test.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

from retrieval.beir import BeirDataset
from retrieval.download import download_beir, download_file, extract_dataset_zip
from retrieval.errors import DownloadError

from .conftest import write_tiny_beir


def _zip_of(folder: Path, name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in folder.rglob("*"):
            if p.is_file():
                zf.write(p, f"{name}/{p.relative_to(folder)}")
    return buf.getvalue()


@pytest.fixture
def served(tmp_path: Path):
    """Serve bytes at http://127.0.0.1:<port>/<name>.zip; yields (url_of, payloads dict)."""
    payloads: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = payloads.get(self.path.lstrip("/"))
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (lambda name: f"http://127.0.0.1:{server.server_port}/{name}"), payloads
    finally:
        server.shutdown()
        server.server_close()


def test_download_and_extract(tmp_path: Path, served) -> None:
    url_of, payloads = served
    src = write_tiny_beir(tmp_path / "src", "tiny")
    payloads["tiny.zip"] = data = _zip_of(src, "tiny")
    root = tmp_path / "datasets"
    folder = download_beir("tiny", url_of("tiny.zip"), hashlib.md5(data).hexdigest(), root, progress=False)
    assert folder == root / "tiny"
    assert len(BeirDataset(folder).corpus) == 6
    assert sorted(p.name for p in root.iterdir()) == ["_downloads", "tiny"]
    assert list((root / "_downloads").iterdir()) == []  # the zip is removed once extracted


def test_bad_checksum_leaves_nothing(tmp_path: Path, served) -> None:
    url_of, payloads = served
    payloads["tiny.zip"] = _zip_of(write_tiny_beir(tmp_path / "src", "tiny"), "tiny")
    root = tmp_path / "datasets"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_beir("tiny", url_of("tiny.zip"), "0" * 32, root, progress=False)
    assert not (root / "tiny").exists()
    assert list((root / "_downloads").iterdir()) == []


def test_http_error_is_clear(tmp_path: Path, served) -> None:
    url_of, _ = served
    with pytest.raises(DownloadError, match="could not download .*404"):
        download_file(url_of("missing.zip"), tmp_path / "x.zip", None, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_fails_fast_with_advice(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    started = time.monotonic()
    with pytest.raises(DownloadError, match="--data-dir"):
        download_file(f"http://127.0.0.1:{port}/scifact.zip", tmp_path / "s.zip", None, progress=False)
    assert time.monotonic() - started < 30  # bounded, not a benchmark: a hang would never return
    assert list(tmp_path.iterdir()) == []


def test_silent_server_times_out_instead_of_hanging(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.zip"
        with pytest.raises(DownloadError):
            download_file(url, tmp_path / "x.zip", None, connect_timeout=1.0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_zip_without_corpus_or_with_unsafe_paths(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("tiny/readme.txt", "no corpus here")
    with pytest.raises(DownloadError, match="holds no tiny/corpus.jsonl"):
        extract_dataset_zip(bad, "tiny", tmp_path / "ds")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.txt", "x")
    with pytest.raises(DownloadError, match="unsafe path"):
        extract_dataset_zip(evil, "tiny", tmp_path / "ds")
    assert not (tmp_path / "ds" / "tiny").exists() and not (tmp_path.parent / "escape.txt").exists()
    assert [p for p in (tmp_path / "ds").iterdir()] == []
