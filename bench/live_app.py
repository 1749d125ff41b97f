"""The real app as a user gets it: ``streamlit run app.py`` on a free port, and the Chromium it is driven with.

One helper for the app benchmark (``bench/app_bench.py``: cold start) and the browser test
(``tests/test_browser.py``). It lives in ``bench/`` because benchmarks must run without the test suite,
while tests may import from ``bench/`` (they already do); it is not retrieval logic, so not in ``retrieval/``.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; playwright's own browser download is not used
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:<port>
    seconds: float  # from process start to a healthy server
    log: Path  # the server's stdout and stderr
    pid: int = 0  # the server process


@contextlib.contextmanager
def streamlit_server(
    env: Mapping[str, str],
    *,
    log: Path | None = None,
    timeout: float = 90.0,
    app: Path | None = None,
    started: float | None = None,
    port: int | None = None,
    launcher: Sequence[str] = ("-m", "streamlit", "run"),
) -> Iterator[Server]:
    """A headless ``streamlit run app.py`` on a free port, stopped when the block ends.

    ``env`` is the server's whole environment (pass ``{**os.environ, ...}``). Its output goes to ``log``
    (a temporary file when not given), never to a pipe nobody reads. A server that exits or is not healthy
    within ``timeout`` seconds raises ``RuntimeError`` with the end of its log. ``app`` runs another checkout's
    ``app.py`` (the browser benchmark's baseline); ``started`` is a ``time.perf_counter()`` to count from; ``port`` is
    the port to serve on (a free one when not given); ``launcher``, what runs ``app`` after the interpreter (a script
    that wraps ``streamlit run``, as ``bench/cold_start_trace.py`` does to stamp its phases).
    """
    app = Path(app) if app is not None else REPO / "app.py"
    port = port or free_port()
    flags = {
        "server.headless": "true",
        "server.port": str(port),
        "browser.gatherUsageStats": "false",
        "server.fileWatcherType": "none",
    }
    cmd = [sys.executable, *launcher, str(app), *(f"--{k}={v}" for k, v in flags.items())]
    with contextlib.ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="streamlit-"))) / "server.log"
        out = stack.enter_context(open(log, "w", encoding="utf-8"))
        started = time.perf_counter() if started is None else started
        proc = subprocess.Popen(cmd, cwd=app.parent, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                        if resp.read() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.perf_counter() - started > timeout:
                    why = f"exited with {proc.returncode}" if proc.poll() is not None else f"not healthy within {timeout:.0f} s"
                    out.flush()
                    raise RuntimeError(f"streamlit {why}:\n{log.read_text(encoding='utf-8', errors='replace')[-3000:]}")
                time.sleep(0.05)
            yield Server(url, time.perf_counter() - started, log, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
