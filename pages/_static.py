"""Streamlit's own scripts, styles and fonts (its hashed ``/static/{js,css,media}/`` files), each sent in one piece.

A first visit fetches about 70 of them (3 MB here). Streamlit serves them through Starlette's ``StaticFiles``, which
reads a file in 64 KiB chunks, each read a trip to a worker thread and back. In a cold start the server's GIL is
held by the warm-up thread (``pages._nav``: pandas, SQLAlchemy, the runs) at that very moment, and each of those
trips waits for it. Served here, a file is read in one call, with the headers ``StaticFiles`` gives it
(``FileResponse``'s type, length, date and ETag) and the ``Cache-Control`` Streamlit adds to its hashed assets.
The server's CPU for one visit's files went from 95 to 40 ms (``bench/static_cost.py``), and in the cold-start trace
the browser's scripts were loaded (``DOMContentLoaded``) 0.14-0.16 s sooner (issue 30).

Anything else goes on to Streamlit unchanged: another path, a method other than GET and HEAD, a conditional or
partial request (304 and 206 are Streamlit's), a file that is not there or is larger than :data:`MAX_BYTES` (sent
in chunks as before), and every request when this Streamlit lacks what the headers are copied from.
"""

from __future__ import annotations

import os
import re
from stat import S_ISREG

ASSET = re.compile(r"/static/(?:css|js|media)/[A-Za-z0-9][A-Za-z0-9._-]*")  # no separators, no "..": one file
# The largest a first visit loads is 0.86 MB (protobuf's chunk); a larger one (Plotly's 4.7 MB, on a chart's first use)
# goes on to Streamlit, whose worker thread reads it without holding up the event loop (this reads in it).
MAX_BYTES = 1 << 20
PASS_HEADERS = {b"range", b"if-none-match", b"if-modified-since", b"if-range"}


def _settings() -> tuple[str, str, str] | None:
    """(the static folder, the URL prefix of ``server.baseUrlPath``, the Cache-Control of hashed assets), or None
    where this Streamlit does not have what they come from."""
    try:
        from streamlit import config, file_util
        from streamlit.url_util import make_url_path
        from streamlit.web.server.starlette.starlette_server_config import STATIC_ASSET_CACHE_MAX_AGE_SECONDS
    except ImportError:
        return None
    root = os.path.realpath(file_util.get_static_dir())
    prefix = make_url_path(config.get_option("server.baseUrlPath") or "", "").rstrip("/")
    return root, prefix, f"public, immutable, max-age={STATIC_ASSET_CACHE_MAX_AGE_SECONDS}"


class StaticAssets:
    """ASGI middleware (``st.App(..., middleware=[Middleware(StaticAssets)])``, outside Streamlit's own)."""

    def __init__(self, app) -> None:
        self.app = app
        self.settings = _settings()

    def _file(self, scope) -> str | None:
        """The file a request asks for, where this serves it."""
        if self.settings is None or scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return None
        root, prefix, _ = self.settings
        path = scope.get("path", "")
        if not path.startswith(prefix) or not ASSET.fullmatch(path[len(prefix) :]):
            return None
        if any(name.lower() in PASS_HEADERS for name, _ in scope.get("headers", ())):
            return None
        full = os.path.realpath(os.path.join(root, path[len(prefix) :].lstrip("/")))
        return full if full.startswith(root + os.sep) else None

    async def __call__(self, scope, receive, send) -> None:
        full = self._file(scope)
        body = None
        if full is not None:
            try:
                with open(full, "rb") as f:
                    stat = os.fstat(f.fileno())
                    if S_ISREG(stat.st_mode) and stat.st_size <= MAX_BYTES:
                        body = f.read()
            except OSError:
                body = None
        if body is None or len(body) != stat.st_size:
            await self.app(scope, receive, send)
            return
        from starlette.responses import FileResponse

        headers = FileResponse(full, stat_result=stat).headers
        headers["Cache-Control"] = self.settings[2]
        await send({"type": "http.response.start", "status": 200, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
