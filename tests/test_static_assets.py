"""pages._static: Streamlit's hashed assets in one piece, with Streamlit's own headers; anything else left to it."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import urllib.request
from pathlib import Path

import pytest
from streamlit import file_util

from bench.live_app import streamlit_server
from pages._static import MAX_BYTES, StaticAssets

ROOT = Path(__file__).resolve().parent.parent
STATIC = Path(file_util.get_static_dir()) / "static"
SKIPPED = {"date", "server"}  # differ from one response to the next


class Inner:
    """The app behind the middleware: records that a request reached it."""

    def __init__(self) -> None:
        self.calls = []

    async def __call__(self, scope, receive, send) -> None:
        self.calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


def ask(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[Inner, list[dict]]:
    inner, sent = Inner(), []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(StaticAssets(inner)(scope, receive, send))
    return inner, sent


def a_script() -> Path:
    """A script of a few hundred kB: more than three of Starlette's 64 KiB chunks, less than MAX_BYTES."""
    return min((p for p in (STATIC / "js").glob("*.js") if 200_000 < p.stat().st_size <= MAX_BYTES), key=lambda p: p.name)


def test_a_hashed_script_is_sent_whole_with_its_type_length_etag_and_cache_control():
    script = a_script()
    inner, sent = ask(f"/static/js/{script.name}")
    assert inner.calls == []
    start, body = sent
    assert start["status"] == 200 and body["body"] == script.read_bytes()
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert headers["content-length"] == str(script.stat().st_size)
    assert headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert headers["cache-control"] == "public, immutable, max-age=31536000"
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers["etag"]) and headers["last-modified"].endswith("GMT")
    head_inner, (head_start, head_body) = ask(f"/static/js/{script.name}", method="HEAD")
    assert head_inner.calls == [] and head_body["body"] == b"" and head_start["headers"] == start["headers"]


@pytest.mark.parametrize(
    "path, method, headers",
    [
        ("/static/js/../../index.html", "GET", None),  # not one file of the assets' folders
        ("/static/js/%2e%2e/index.html", "GET", None),
        ("/static/js/no-such-chunk.js", "GET", None),
        ("/static/", "GET", None),
        ("/index.html", "GET", None),
        ("/_stcore/health", "GET", None),
        ("/static/js/{script}", "POST", None),
        ("/static/js/{script}", "GET", {"Range": "bytes=0-9"}),  # 206 is Streamlit's
        ("/static/js/{script}", "GET", {"If-None-Match": '"x"'}),  # 304 is Streamlit's
        ("/static/js/{script}", "GET", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}),
    ],
)
def test_anything_else_goes_on_to_streamlit(path, method, headers):
    path = path.format(script=a_script().name)
    inner, sent = ask(path, method, headers)
    assert inner.calls == [path] and sent[0]["status"] == 418


def test_a_file_over_the_limit_goes_on_to_streamlit(monkeypatch):
    monkeypatch.setattr("pages._static.MAX_BYTES", 1000)
    inner, sent = ask(f"/static/js/{a_script().name}")
    assert len(inner.calls) == 1 and sent[0]["status"] == 418


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as resp:
        return resp.status, {k.lower(): v for k, v in resp.getheaders() if k.lower() not in SKIPPED}, resp.read()


def test_the_running_app_answers_as_streamlit_does(tmp_path):
    """``streamlit run app.py``: each asset the page loads first, as this sends it and as Streamlit does (a request
    with an old If-Modified-Since goes on to Streamlit, which sends the whole file): same status, headers, bytes."""
    env = {**os.environ, "BEIR_DATA_DIR": str(tmp_path / "beir"), "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache")}
    env.setdefault("OPENAI_API_KEY", "unused")
    with streamlit_server(env, app=ROOT / "app.py") as server:
        _, _, index = fetch(server.url + "/")
        assets = sorted(set(re.findall(rb'(?:src|href)="\.?(/?static/[^"]+)"', index)))
        fonts = sorted(p.name for p in (STATIC / "media").glob("*.woff2"))[:1]
        paths = ["/" + a.decode().lstrip("/") for a in assets] + [f"/static/media/{f}" for f in fonts]
        assert any(p.endswith(".js") for p in paths) and any(p.endswith(".css") for p in paths)
        old = {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}
        for path in paths:
            assert fetch(server.url + path) == fetch(server.url + path, old), path
        # A path that climbs out of the assets' folder is Streamlit's to refuse, as before.
        conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
        conn.request("GET", "/static/js/../../../../etc/passwd")
        resp = conn.getresponse()
        assert resp.status in (400, 404) or b"root:" not in resp.read()


def test_app_py_puts_it_before_streamlits_own_middleware():
    """``st.App`` runs user middleware outside its own; app.py is not imported here (an ``st.App`` made in the test
    process would pin Streamlit's script folder for the other tests)."""
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert "middleware=[Middleware(StaticAssets)]" in source and "from pages._static import StaticAssets" in source
