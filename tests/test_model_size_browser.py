"""Model size in real Chromium, every view at 1500x1000 and 1000x1000: screenshots, and the labels as drawn cover no
other label, point, line or rule, are never wider than the estimate they were placed with, and nothing runs off
the page.

Needs Debian's chromium and the playwright package (skipped otherwise). With the real SciFact (``BEIR_DATA_DIR``)
the session cache gets its two BM25 runs, so One dataset shows measured runs too (and any other run the cache
holds, e.g. ``RETRIEVAL_TEST_CACHE`` pointing at a cache with a MiniLM run). Screenshots go to
``$APP_SCREENSHOT_DIR/model-size`` (default /tmp/app-screenshots).
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path

import pytest

from bench.live_app import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from view import labels as lay

from .conftest import SCIFACT, beir_root, write_tiny_beir

SHOTS = Path(os.environ.get("APP_SCREENSHOT_DIR", "/tmp/app-screenshots")) / "model-size"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)"),
]

VIEWS = {
    "one-scifact": {"chart": "One dataset", "scope": "scifact"},
    "one-nfcorpus": {"chart": "One dataset", "scope": "nfcorpus"},
    "average": {"chart": "BEIR average"},
    "average-scifact": {"chart": "BEIR average", "avg": "scifact"},
    "grid": {"chart": "Every dataset (grid)"},
    "paper": {"chart": "Paper figure (Rosa et al. 2022)"},
}
WINDOWS = ((1500, 1000), (1000, 1000))

# Every chart's drawn marks, in page pixels: label texts (each line's own width), points, sampled lines, rules.
GEOMETRY_JS = """() => {
  const rect = r => [r.left, r.top, r.right, r.bottom];
  const main = document.querySelector('[data-testid="stMainBlockContainer"]').getBoundingClientRect();
  return {main: rect(main), charts: Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"] svg')).map(svg => {
    const all = sel => Array.from(svg.querySelectorAll(sel));
    const labels = all('g.mark-text.role-mark text').map(t => {
      const spans = Array.from(t.querySelectorAll('tspan'));
      const lines = spans.length ? spans : [t];
      return {text: lines.map(s => s.textContent).join('\\n'), box: rect(t.getBoundingClientRect()),
              widths: lines.map(s => s.getComputedTextLength())};
    });
    const lines = all('g.mark-line.role-mark path').map(p => {
      const m = p.getScreenCTM(), n = p.getTotalLength(), pts = [];
      for (let d = 0; d <= n; d += 1) { const q = p.getPointAtLength(d); pts.push([m.a * q.x + m.c * q.y + m.e, m.b * q.x + m.d * q.y + m.f]); }
      return pts;
    });
    return {labels, lines, box: rect(svg.getBoundingClientRect()),
            points: all('g.mark-symbol.role-mark path').map(p => rect(p.getBoundingClientRect())),
            rules: all('g.mark-rule.role-mark line').map(l => rect(l.getBoundingClientRect()))};
  })};
}"""


def drawn_collisions(chart: dict, tol: float = 0.5) -> list[str]:
    """Labels as drawn that overlap another label, a point, a line or a rule (by more than ``tol`` pixels)."""

    def inside(box, x, y) -> bool:
        return box[0] + tol < x < box[2] - tol and box[1] + tol < y < box[3] - tol

    def overlap(a, b) -> bool:
        return a[0] + tol < b[2] and b[0] + tol < a[2] and a[1] + tol < b[3] and b[1] + tol < a[3]

    found, labels = [], chart["labels"]
    for i, label in enumerate(labels):
        box, text = label["box"], label["text"]
        found += [f"{text!r} / label {o['text']!r}" for o in labels[i + 1 :] if overlap(box, o["box"])]
        found += [f"{text!r} / point {p}" for p in chart["points"] if overlap(box, p)]
        found += [f"{text!r} / rule {r}" for r in chart["rules"] if overlap(box, [r[0], r[1] - 0.5, r[2], r[3] + 0.5])]
        found += [f"{text!r} / line at {pts[0]}" for pts in chart["lines"] if any(inside(box, x, y) for x, y in pts)]
    return found


def settle(page) -> None:
    """Wait for the page's runs to end: the first visit asks for one more run once the page measured its width."""
    page.wait_for_selector('[data-testid="stVegaLiteChart"] svg', timeout=180_000)
    for _ in range(2):
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
        time.sleep(1.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory, session_cache):
    pytest.importorskip("playwright.sync_api")
    real = (SCIFACT / "corpus.jsonl").is_file()
    if real:  # measured runs for One dataset: the two BM25 conditions on SciFact (seconds; kept in the session cache)
        from retrieval.beir import open_dataset
        from retrieval.runner import get_run

        ds = open_dataset("scifact", beir_root(), download=False)
        for spec in ("bm25-flat", "bm25-multifield"):
            get_run(ds, "test", spec, cache=session_cache, progress=False)
        data = beir_root()
    else:
        data = tmp_path_factory.mktemp("model-size-browser") / "beir"
        write_tiny_beir(data)
    env = {**os.environ, "BEIR_DATA_DIR": str(data), "RETRIEVAL_CACHE_DIR": str(session_cache.root), "HF_HUB_OFFLINE": "1"}
    log = tmp_path_factory.mktemp("model-size-server") / "server.log"
    with streamlit_server(env, log=log) as srv:
        yield {"url": srv.url, "measured": real}


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w[0]}x{w[1]}")
def test_every_model_size_view_is_legible_in_chromium(server, browser, window):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": window[0], "height": window[1]})
    try:
        page = context.new_page()
        report = {}
        for name, query in VIEWS.items():
            page.goto(server["url"] + "/model_size?" + urllib.parse.urlencode(query))
            settle(page)
            page.screenshot(path=str(SHOTS / f"{name}-{window[0]}.png"))
            for i, chart in enumerate(page.locator('[data-testid="stVegaLiteChart"]').all()[:4]):
                chart.screenshot(path=str(SHOTS / f"{name}-{window[0]}-chart{i + 1}.png"))
            geo = page.evaluate(GEOMETRY_JS)
            report[name] = geo
            main = geo["main"]
            problems = []
            for chart in geo["charts"]:
                problems += drawn_collisions(chart)
                if chart["box"][2] > main[2] + 1:  # nothing runs off the page's column
                    problems.append(f"a chart ends at x={chart['box'][2]:.0f}, past the page's {main[2]:.0f}")
                for label in chart["labels"]:
                    assert not label["text"].endswith("…"), label["text"]
                    for line, width in zip(label["text"].split("\n"), label["widths"]):
                        if width > lay.text_size(line)[0] + 0.5:  # the estimate the label was placed with
                            problems.append(f"{line!r} is {width:.1f} px wide, estimated {lay.text_size(line)[0]:.1f}")
            assert not problems, (name, window, problems[:8])
            if not name.startswith("grid"):
                assert any(c["labels"] for c in geo["charts"]), name
            if name in ("grid", "paper"):  # the key is above the charts, inside the page
                key = page.locator(".ms-key").first.bounding_box()
                first = page.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
                assert key["y"] + key["height"] <= first["y"] and key["x"] + key["width"] <= main[2] + 1
            if name == "one-scifact" and server["measured"]:
                texts = {label["text"].replace("\n", " ") for c in geo["charts"] for label in c["labels"]}
                texts |= {page.locator("body").inner_text()}  # or named in the legend above the chart
                assert any("BM25 (flat) [test]" in t for t in texts)
        (SHOTS / f"geometry-{window[0]}.json").write_text(json.dumps(report), encoding="utf-8")
    finally:
        context.close()
