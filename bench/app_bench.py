"""App latency: Compare-page warm rerun (AppTest, via ``bench/app_latency.py``) and cold start in Chromium.

Cold start: a fresh ``streamlit run app.py`` server (nothing in Streamlit's caches) over a warm retrieval
cache (the BM25 runs of the default view already built); Chromium is launched first, then the clock runs
from ``page.goto`` to the first ranked document card being visible (``st-key-card-...``): content, not
page load. The server's own start (process to healthy) is reported beside it. Each round starts a new server.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .common import REPO, Row, Section, fmt, median

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
FIRST_CARD = '[class*="st-key-card-"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], *, timeout: float = 90.0):
    """A headless ``streamlit run app.py`` on a free port; yields ``(url, seconds to healthy)``."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{proc.stdout.read()[-2000:] if proc.stdout else ''}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"streamlit did not become healthy within {timeout:.0f} s")
            time.sleep(0.05)
        yield url, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cold_start(env: dict[str, str], rounds: int = 3, timeout_ms: int = 180_000) -> dict[str, list[float]]:
    """Seconds from navigation to the first visible ranked card, on a fresh server each round."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"server": [], "cold": [], "second": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(rounds):
                with streamlit_server(env) as (url, server_seconds):
                    out["server"].append(server_seconds)
                    for label in ("cold", "second"):  # second: a new session on the now-warm server
                        context = browser.new_context()
                        page = context.new_page()
                        start = time.perf_counter()
                        page.goto(url, wait_until="commit")
                        page.wait_for_selector(FIRST_CARD, state="visible", timeout=timeout_ms)
                        out[label].append(time.perf_counter() - start)
                        context.close()
        finally:
            browser.close()
    return out


def warm_rerun(data_dir: Path, cache_root: Path, systems: str = "bm25-flat,bm25-multifield",
               reruns: int = 30) -> tuple[dict[str, list[float]], str]:
    """Warm Compare reruns in ms from the app helper's ``bench/app_latency.py`` (AppTest), or why not.

    Its ``main`` prints p50/p90; the raw values are taken from the lists it hands to its ``percentile``
    helper, so p95 is computed here from the same measurements.
    """
    if not (REPO / "bench" / "app_latency.py").is_file():
        return {}, "bench/app_latency.py not found"
    module = importlib.import_module("bench.app_latency")
    captured: list[list[float]] = []
    original = getattr(module, "percentile", None)
    if original is not None:
        def recording(values, q):
            captured.append(list(values))
            return original(values, q)

        module.percentile = recording
    saved = {k: os.environ.get(k) for k in ("BEIR_DATA_DIR", "RETRIEVAL_CACHE_DIR")}
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            rc = module.main(["--systems", systems, "--reruns", str(reruns), "--data-dir", str(data_dir),
                              "--cache-dir", str(cache_root)])
    finally:
        if original is not None:
            module.percentile = original
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if rc:
        return {}, f"bench/app_latency.py exited {rc}: {printed.getvalue()[-300:]}"
    names = [" ".join(line.split(" p50")[0].split()) for line in printed.getvalue().splitlines() if " p50 " in line]
    if captured and len(captured) == len(names):
        return dict(zip(names, captured)), ""
    return {}, "could not read the measurements of bench/app_latency.py: " + printed.getvalue()[-300:]


def prepare_cache(dataset, cache) -> None:
    """Build the runs the default Compare view shows at once (BM25), so the start is cold for the app only."""
    from retrieval.runner import get_run

    for spec in ("bm25-flat", "bm25-multifield"):
        get_run(dataset, "test", spec, cache=cache, progress=False)


def run(dataset, *, cache, data_dir: Path, rounds: int = 3, rerun_systems: str = "bm25-flat,bm25-multifield",
        rerun_count: int = 30) -> Section:
    section = Section("App")
    started = time.perf_counter()
    if not (REPO / "app.py").is_file():
        section.skipped = "app not found (no app.py)"
        return section
    prepare_cache(dataset, cache)
    env = {**os.environ, "BEIR_DATA_DIR": str(data_dir), "RETRIEVAL_CACHE_DIR": str(cache.root), "HF_HUB_OFFLINE": "1"}

    reruns, why = warm_rerun(data_dir, cache.root, rerun_systems, rerun_count)
    for name, values in reruns.items():
        section.rows.append(Row("app", f"Compare {name}: p50 / p95 ({len(values)} reruns, bench/app_latency.py)",
                                f"{_percentile(values, 50):.0f} / {_percentile(values, 95):.0f} ms", "", None, "absolute",
                                note=f"columns: {rerun_systems}"))
    if why:
        section.lines.append(f"warm rerun skipped: {why}")

    if not Path(CHROMIUM).is_file():
        section.lines.append(f"cold start skipped: no Chromium at {CHROMIUM}")
    else:
        times = cold_start(env, rounds)
        section.rows += [
            Row("app", f"cold start to first ranking, Chromium (median of {rounds} fresh servers)", f"{median(times['cold']):.2f} s", "",
                None, "absolute", note=f"server to healthy {median(times['server']):.1f} s, not included"),
            Row("app", "second session on the same server", f"{median(times['second']):.2f} s", "", None, "absolute"),
        ]
        section.lines.append("cold start seconds per round: " + ", ".join(fmt(t) for t in times["cold"])
                             + "; second session: " + ", ".join(fmt(t) for t in times["second"]))
    section.seconds = time.perf_counter() - started
    return section


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))
