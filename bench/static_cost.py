"""What a first visit's static files cost the server: ``pages/_static.py`` against Streamlit's own ``StaticFiles``.

One ``streamlit run app.py``. Chromium opens Compare once, to learn which of Streamlit's files a first visit loads
(about 70 here). Then rounds alternate between fetching all of them as a browser does (``pages/_static.py`` answers
each in one piece) and fetching them with an ``If-Modified-Since`` of 1970, which that middleware leaves to
Streamlit (its ``StaticFiles`` sends the whole file, in 64 KiB chunks through a worker thread). Each round is timed
as the server process's CPU seconds and as wall time; the bytes received must be equal. In a cold start those files
are fetched while the server's warm-up holds the GIL, so the server's CPU per visit is what this reports; the
cold start itself is in ``bench/browser_latency.py`` (``--base`` for a checkout without the middleware).

    BEIR_DATA_DIR=../shared/beir RETRIEVAL_CACHE_DIR=... python -m bench.static_cost [--rounds 10] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.browser_latency import cpu_seconds  # noqa: E402
from bench.common import Row, Section, machine_info, median, ratio_table, write_results  # noqa: E402
from bench.live_app import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

STREAMLIT = {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}  # not ours to answer: Streamlit's StaticFiles


async def first_visit_files(url: str) -> list[str]:
    """The static files (``/static/...``) Chromium fetches for a first visit to Compare."""
    from playwright.async_api import async_playwright

    from bench.browser_latency import FIRST_RESULT, SYSTEMS

    found: set[str] = set()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await (await browser.new_context()).new_page()
        page.on("requestfinished", lambda r: found.add(r.url) if r.url.startswith(url + "/static/") else None)
        await page.goto(f"{url}/?dataset=scifact&split=test&systems={SYSTEMS}")
        await page.wait_for_selector(FIRST_RESULT, timeout=120_000)
        await asyncio.sleep(1.0)
        await browser.close()
    return sorted(found)


def visit(files: list[str], headers: dict[str, str]) -> bytes:
    out = []
    for url in files:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as resp:
            out.append(resp.read())
    return b"".join(out)


def measure(rounds: int) -> Section:
    env = {**os.environ, "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "unused")}
    section = Section("static files")
    with streamlit_server(env, app=ROOT / "app.py") as server:
        files = asyncio.run(first_visit_files(server.url))
        ours_bytes, theirs_bytes = visit(files, {}), visit(files, STREAMLIT)  # also the untimed warm-up
        cpu: dict[str, list[float]] = {"ours": [], "streamlit": []}
        wall: dict[str, list[float]] = {"ours": [], "streamlit": []}
        for r in range(rounds):
            for who in ("ours", "streamlit") if r % 2 == 0 else ("streamlit", "ours"):
                c0, t0 = cpu_seconds(server.pid)["server"], time.perf_counter()
                visit(files, {} if who == "ours" else STREAMLIT)
                wall[who].append(time.perf_counter() - t0)
                cpu[who].append(cpu_seconds(server.pid)["server"] - c0)
    size = f"{len(files)} files, {len(ours_bytes) / 1e6:.1f} MB"
    for what, values in (("server CPU", cpu), ("wall time, one request at a time", wall)):
        mine, theirs = median(values["ours"]), median(values["streamlit"])
        section.rows.append(
            Row(
                "static",
                f"a first visit's static files ({size}): {what}, median of {rounds}",
                f"{1000 * mine:.0f} ms",
                f"{1000 * theirs:.0f} ms",
                theirs / mine if mine else None,
                "speed-up (Streamlit's StaticFiles / pages/_static.py)",
                "",
                "same bytes" if ours_bytes == theirs_bytes else "BYTES DIFFER",
            )
        )
    section.lines.append("files: " + ", ".join(f.rsplit("/", 1)[-1] for f in files))
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    info = machine_info()
    section = measure(args.rounds)
    print(ratio_table(section.rows))
    if not args.no_write:
        command = "python -m bench.static_cost " + " ".join(argv if argv is not None else sys.argv[1:])
        print(f"written: {write_results([section], info, command, started, 'static')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
