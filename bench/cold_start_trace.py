"""Where a cold start's time goes: ``streamlit run`` launched to the first ranked document painted, phase by phase.

    BEIR_DATA_DIR=/work/shared/beir RETRIEVAL_CACHE_DIR=... HF_HUB_OFFLINE=1 \\
        python bench/cold_start_trace.py --rounds 4 [--base ../base-checkout]

The browser benchmark (:mod:`bench.browser_latency`) times the whole of it; this says which phase moved. Each round
launches the server through a small wrapper that stamps, in the server's process (wall clock, seconds from the
launch): Streamlit imported, app.py imported, the warm-up started and done (``pages._nav``, where the app has one),
the first script run's start and end. Chromium adds the server answering its health check, the HTML received, the
frontend's scripts loaded (``DOMContentLoaded``, its static files fetched) and the frame that painted the first
ranked row. Rounds alternate between the checkouts; the medians go last. A diagnosis, not a pass/fail: the wrapper
patches Streamlit's script runner to read the clock, so its totals sit a few ms above the browser benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Runs as the server's main script: stamps the phases into $TRACE_OUT once the first script run ends.
WRAPPER = r"""
import json, os, sys, threading, time
T = {"python up": time.time()}
import streamlit
T["streamlit imported"] = time.time()
from streamlit.runtime.scriptrunner import script_runner
run_script, runs = script_runner.ScriptRunner._run_script, []
def timed(self, *args, **kwargs):
    runs.append(1)
    first = len(runs) == 1
    if first:
        T["first run starts"] = time.time()
    try:
        return run_script(self, *args, **kwargs)
    finally:
        if first:
            T["first run ends"] = time.time()
            with open(os.environ["TRACE_OUT"], "w") as fh:
                json.dump(T, fh)
script_runner.ScriptRunner._run_script = timed
def watch():  # pages._nav's warm-up, where the app has one: wrapped as soon as app.py has imported it
    nav = None
    while nav is None or getattr(nav.__spec__, "_initializing", False):  # in sys.modules while its body still runs
        time.sleep(0.002)
        nav = sys.modules.get("pages._nav")
    T["app.py imported"] = time.time()
    warm = getattr(nav, "warm_first_page", None)
    if warm is None:
        return
    def stamped():
        T["warm-up starts"] = time.time()
        try:
            warm()
        finally:
            T["warm-up done"] = time.time()
    nav.warm_first_page = stamped
threading.Thread(target=watch, daemon=True).start()
from streamlit.web import cli
sys.argv = ["streamlit", "run", *sys.argv[1:]]
cli.main()
"""

PAGE = """() => {
  const o = performance.timeOrigin, nav = performance.getEntriesByType('navigation')[0];
  const files = performance.getEntriesByType('resource').filter(e => e.name.includes('/static/'));
  return {'HTML received': (o + nav.responseEnd) / 1000, 'DOMContentLoaded': (o + nav.domContentLoadedEventEnd) / 1000,
          'static files fetched': (o + Math.max(0, ...files.map(e => e.responseEnd))) / 1000, 'static files': files.length};
}"""


async def trace(browser, env: dict, app: Path, wrapper: Path) -> dict[str, float]:
    """One cold start of ``app``: seconds from the launch to each phase (and the number of static files)."""
    from bench import browser_latency as bl
    from bench.live_app import streamlit_server

    bl.compile_bytecode(app)
    context = await bl._stamped_context(browser)
    page = await context.new_page()
    out = Path(tempfile.mkdtemp()) / "trace.json"
    launched = time.time()
    try:
        with streamlit_server({**env, "TRACE_OUT": str(out)}, app=app, launcher=[str(wrapper)]) as server:
            healthy = time.time()
            await page.goto(f"{server.url}/?dataset=scifact&split=test&systems={bl.SYSTEMS}", wait_until="commit")
            painted = float(await (await page.wait_for_function("window.__firstRow", timeout=180_000)).json_value()) / 1000
            while not out.exists():
                await asyncio.sleep(0.02)
            stamps = {**json.loads(out.read_text()), "healthy": healthy, **await page.evaluate(PAGE), "painted": painted}
    finally:
        await context.close()
    files = stamps.pop("static files")
    return {**{k: v - launched for k, v in stamps.items()}, "static files": files}


async def measure(apps: dict[str, Path], rounds: int) -> dict[str, list[dict[str, float]]]:
    from playwright.async_api import async_playwright

    from bench import browser_latency as bl

    env = bl.environment()
    wrapper = Path(tempfile.mkdtemp()) / "traced_streamlit.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    out: dict[str, list[dict[str, float]]] = {who: [] for who in apps}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(bl.CHROMIUM), args=bl.CHROMIUM_ARGS)
        for r in range(rounds):
            for who in apps if r % 2 == 0 else list(apps)[::-1]:
                phases = await trace(browser, env, apps[who], wrapper)
                out[who].append(phases)
                line = " · ".join(f"{k} {v:.2f}" for k, v in sorted(phases.items(), key=lambda kv: kv[1]) if k != "static files")
                print(f"{who}: {line}", flush=True)
        await browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--base", type=Path, default=None, help="a checkout of the baseline (its app.py), alternated with ours")
    args = p.parse_args(argv)
    apps = {"ours": ROOT / "app.py", **({"base": args.base.resolve() / "app.py"} if args.base else {})}
    res = asyncio.run(measure(apps, args.rounds))
    print("\nmedians (s from launch):")
    for who, traces in res.items():
        names = sorted(
            {k for t in traces for k in t if k != "static files"}, key=lambda k: statistics.median(t.get(k, 0) for t in traces)
        )
        print(f"  {who}: " + " · ".join(f"{k} {statistics.median(t[k] for t in traces if k in t):.2f}" for k in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
