"""App latency: Compare-page warm rerun (AppTest, via ``bench/app_latency.py``) and cold start in Chromium.

Cold start: a fresh ``streamlit run app.py`` server (nothing in Streamlit's caches) over a warm retrieval
cache (the BM25 runs of the default view already built); Chromium is launched first, then the clock runs
from ``page.goto`` to the frame that paints the first ranked document (a card or a compact row, stamped in the
page): content, not page load. The server's own start (process to healthy) is reported beside it. Each round starts a new server.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from unittest import mock

from .browser_latency import FIRST_PAINT_JS
from .common import REPO, Row, Section, fmt, median, percentile
from .live_app import CHROMIUM, CHROMIUM_ARGS, streamlit_server


def cold_start(env: dict[str, str], rounds: int = 3, timeout_ms: int = 180_000) -> dict[str, list[float]]:
    """Seconds from navigation to the first visible ranked card, on a fresh server each round."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"server": [], "cold": [], "second": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(rounds):
                with streamlit_server(env) as server:
                    out["server"].append(server.seconds)
                    for label in ("cold", "second"):  # second: a new session on the now-warm server
                        context = browser.new_context()
                        # stamped in the page (browser_latency.FIRST_PAINT_JS): a Playwright wait polls every 500 ms
                        context.add_init_script(FIRST_PAINT_JS)
                        page = context.new_page()
                        start = time.time()
                        page.goto(server.url, wait_until="commit")
                        painted = page.wait_for_function("window.__firstRow", timeout=timeout_ms)
                        out[label].append(float(painted.json_value()) / 1000 - start)
                        context.close()
        finally:
            browser.close()
    return out


def warm_rerun(
    data_dir: Path, cache_root: Path, systems: str = "bm25-flat,bm25-multifield", reruns: int = 30
) -> tuple[dict[str, list[float]], str]:
    """Warm Compare reruns in ms per row, measured by ``bench/app_latency.py`` (AppTest), or why not."""
    from . import app_latency

    # The page reads its folders from the environment; patch.dict puts the environment back as it was.
    with mock.patch.dict(os.environ, {"BEIR_DATA_DIR": str(data_dir), "RETRIEVAL_CACHE_DIR": str(cache_root)}):
        try:
            return app_latency.measure(systems=systems.split(","), reruns=reruns, progress=False).rows, ""
        except app_latency.LatencyError as exc:
            return {}, f"bench/app_latency.py: {exc}"


def prepare_cache(dataset, cache) -> None:
    """Build the runs the default Compare view shows at once (BM25), so the start is cold for the app only."""
    from retrieval.runner import get_run

    for spec in ("bm25-flat", "bm25-multifield"):
        get_run(dataset, "test", spec, cache=cache, progress=False)


def run(
    dataset, *, cache, data_dir: Path, rounds: int = 3, rerun_systems: str = "bm25-flat,bm25-multifield", rerun_count: int = 30
) -> Section:
    section = Section("App")
    started = time.perf_counter()
    if not (REPO / "app.py").is_file():
        section.skipped = "app not found (no app.py)"
        return section
    prepare_cache(dataset, cache)
    env = {**os.environ, "BEIR_DATA_DIR": str(data_dir), "RETRIEVAL_CACHE_DIR": str(cache.root), "HF_HUB_OFFLINE": "1"}

    reruns, why = warm_rerun(data_dir, cache.root, rerun_systems, rerun_count)
    for name, values in reruns.items():
        section.rows.append(
            Row(
                "app",
                f"Compare {name}: p50 / p95 ({len(values)} reruns, bench/app_latency.py)",
                f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f} ms",
                "",
                None,
                "absolute",
                note=f"columns: {rerun_systems}",
            )
        )
    if why:
        section.lines.append(f"warm rerun skipped: {why}")

    if not CHROMIUM.is_file():
        section.lines.append(f"cold start skipped: no Chromium at {CHROMIUM}")
    else:
        times = cold_start(env, rounds)
        section.rows += [
            Row(
                "app",
                f"cold start to first ranking, Chromium (median of {rounds} fresh servers)",
                f"{median(times['cold']):.2f} s",
                "",
                None,
                "absolute",
                note=f"server to healthy {median(times['server']):.1f} s, not included",
            ),
            Row("app", "second session on the same server", f"{median(times['second']):.2f} s", "", None, "absolute"),
        ]
        section.lines.append(
            "cold start seconds per round: "
            + ", ".join(fmt(t) for t in times["cold"])
            + "; second session: "
            + ", ".join(fmt(t) for t in times["second"])
        )
    section.seconds = time.perf_counter() - started
    return section
