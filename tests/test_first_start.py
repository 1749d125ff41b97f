"""First start on a fresh machine (no data, empty cache): Compare downloads the default dataset in the
background with a progress bar, then shows its rankings. A local HTTP server stands in for BEIR's."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import time
import zipfile
from pathlib import Path

import pytest

from .conftest import compact_columns, env_restored, write_tiny_beir

COMPARE = str(Path(__file__).resolve().parent.parent / "pages" / "compare.py")


def beir_zip(tmp: Path, name: str) -> bytes:
    """A BEIR-shaped zip holding ``<name>/`` (the tiny fixture under the default dataset's name)."""
    folder = write_tiny_beir(tmp, name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in folder.rglob("*"):
            if path.is_file():
                zf.write(path, f"{name}/{path.relative_to(folder)}")
    return buf.getvalue()


@pytest.fixture
def slow_server(tmp_path):
    """Serves one zip; the body is held back until ``release`` is set, so the page can be seen mid-download."""
    body = beir_zip(tmp_path / "src", "scifact")
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            release.wait(30)
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{{name}}.zip", hashlib.md5(body).hexdigest(), release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_fresh_machine_downloads_the_default_dataset_with_progress_then_shows_rankings(tmp_path, slow_server):
    from streamlit.testing.v1 import AppTest

    url, md5, release = slow_server
    env = {
        "BEIR_DATA_DIR": str(tmp_path / "empty"),
        "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache"),
        "BEIR_DOWNLOAD_URL": url,
        "BEIR_DOWNLOAD_MD5": md5,
    }
    (tmp_path / "empty").mkdir()
    with env_restored(env):
        os.environ.update(env)
        at = AppTest.from_file(COMPARE, default_timeout=120)
        at.query_params.update({"systems": "bm25-flat", "qid": "q1"})
        at.run()
        assert not at.exception
        assert any("downloading scifact" in i.value for i in at.info)
        bars = at.get("progress")
        assert bars and "Downloading scifact" in bars[0].proto.text and "MB" in bars[0].proto.text
        release.set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any('<details class="rk-row' in body for body in compact_columns(at)):
            time.sleep(0.3)
            at.run()
        assert not at.exception
        assert not at.error, [e.value for e in at.error]
        assert (tmp_path / "cache" / "datasets" / "scifact" / "corpus.jsonl").is_file()
        assert any('<details class="rk-row' in body for body in compact_columns(at)), "no rankings after the download"
