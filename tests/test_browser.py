"""The real app in real Chromium: `streamlit run app.py`, Compare renders rankings, badges and
hostile document text as text, uploads work, and the URL restores the view.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse
from pathlib import Path

import pytest

from bench.live_app import CHROMIUM, CHROMIUM_ARGS, streamlit_server

from .conftest import write_tiny_beir

SHOTS = Path(os.environ.get("APP_SCREENSHOT_DIR", "/tmp/app-screenshots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)"),
]

# Extra hostile document: if any of this became markup, window.__pwned would be set.
HOSTILE = {
    "_id": "d7",
    "title": "Vitamin D <script>window.__pwned='script'</script> :smile: **bold**",
    "text": "vitamin D <img src=x onerror=\"window.__pwned='img'\"> [click](javascript:window.__pwned='link') "
    "<svg onload=\"window.__pwned='svg'\"></svg> www.example.com $x^2$"
    # Long enough that the compact row's snippet leaves text out: the rest comes only with "Full text".
    + " Later on, more markup about vitamin D levels in the blood of older adults." * 4
    + " <img src=y onerror=\"window.__pwned='full'\"> the end.",
}


HOSTILE_QUERY = {"_id": "q5", "text": "<img src=x onerror=\"window.__pwned='query'\"> vitamin <b>levels</b>"}


def app_env(root: Path) -> dict:
    """The tiny fixture (plus one hostile document) under ``root``, and the server environment that reads it."""
    ds = write_tiny_beir(root / "beir")
    with open(ds / "corpus.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(HOSTILE) + "\n")
    with open(ds / "queries.jsonl", "a", encoding="utf-8") as fh:  # a judged query whose text is markup too
        fh.write(json.dumps(HOSTILE_QUERY) + "\n")
    with open(ds / "qrels" / "test.tsv", "a", encoding="utf-8") as fh:
        fh.write(f"{HOSTILE_QUERY['_id']}\t{HOSTILE['_id']}\t1\r\n")
        fh.write("q3\td6\t0\r\n")  # judged not relevant, and ranked by BM25: the compact view's ✗
    return {**os.environ, "BEIR_DATA_DIR": str(root / "beir"), "RETRIEVAL_CACHE_DIR": str(root / "cache")}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app.py` on a free port over the tiny fixture, one for the module's tests."""
    pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("browser")
    env = app_env(root)
    with streamlit_server(env, log=root / "server.log") as srv:
        yield {"url": srv.url, "env": env, "root": root}


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; each test gets its own context (fresh cookies, storage and session)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(server, browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        pg = context.new_page()
        pg.dialogs = []  # every alert/confirm/prompt the page tries to open
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        yield pg
    finally:
        context.close()


def card(pg, spec: str, docid: str):
    return pg.locator(".st-key-card-" + "".join(c if c.isalnum() else "_" for c in f"{spec}-{docid}"))


def assert_nothing_ran(pg) -> None:
    assert pg.dialogs == []
    assert pg.evaluate("window.__pwned") is None
    assert pg.locator("img[src='x'], svg[onload]").count() == 0
    scripts = pg.evaluate("Array.from(document.scripts).map(s => s.textContent).join('\\n')")
    assert "__pwned" not in scripts and "alert(1)" not in scripts


def core_top(server, spec: str, qid: str, k: int = 10):
    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.runner import get_run

    ds = open_dataset("tiny", server["env"]["BEIR_DATA_DIR"], download=False)
    run = get_run(ds, "test", spec, cache=Cache(server["env"]["RETRIEVAL_CACHE_DIR"]), progress=False)
    return run.for_query(qid, k)


def test_compare_renders_rankings_badges_and_hostile_text_as_text(server, page):
    page.goto(server["url"] + "/?dataset=tiny&qid=q1&systems=bm25-flat,bm25-multifield&view=cards")
    card(page, "bm25-flat", "d1").wait_for(timeout=120_000)  # first load indexes the fixture
    card(page, "bm25-multifield", "d1").wait_for(timeout=60_000)
    assert page.get_by_role("heading", name="BM25 (flat)").is_visible()
    assert page.get_by_role("heading", name="BM25 (multifield)").is_visible()
    # Rankings: each card says its rank and document, in the run's order (from the core's cache).
    top = core_top(server, "bm25-flat", "q1")
    for rank, docid in zip(top["rank"], top["docid"]):
        assert card(page, "bm25-flat", docid).inner_text().startswith(f"#{rank} · doc {docid}")
    # Badges from the qrels: d1 graded 2, d3 graded 1, d5 never judged.
    assert "relevant (2)" in card(page, "bm25-flat", "d1").inner_text()
    assert "unjudged" in card(page, "bm25-flat", "d5").inner_text()
    if "d3" in set(top["docid"]):
        assert "relevant (1)" in card(page, "bm25-flat", "d3").inner_text()
    # Hostile document text shows literally and nothing runs.
    d5 = card(page, "bm25-flat", "d5")
    assert d5.get_by_text("Unsafe <script>alert(1)</script>", exact=True).is_visible()
    assert "<img src=x onerror=alert(2)>" in d5.inner_text()
    assert "<script>window.__pwned='script'</script>" in card(page, "bm25-flat", "d7").inner_text()
    assert card(page, "bm25-flat", "d7").locator("a").count() == 0  # no links made from text
    # The browser benchmark clicks Random through this locator (bench/browser_latency.py: random_click): one match.
    assert page.locator("button", has_text="Random").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compare-tiny.png"), full_page=True)
    assert_nothing_ran(page)
    # The full document opens in a dialog, still as text.
    d5.get_by_role("button", name="Open").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Plain text (as stored)").wait_for(timeout=30_000)
    assert "A document with <img src=x onerror=alert(2)> markup about" in dialog.inner_text()
    dialog.get_by_text("Plain text (as stored)").click()
    # (the Markdown views now match too: copied text has no invisible joiners; the plain-text view is stText)
    dialog.get_by_test_id("stText").get_by_text(
        "A document with <img src=x onerror=alert(2)> markup about vitamin D.", exact=True
    ).wait_for(timeout=10_000)
    page.screenshot(path=str(SHOTS / "document-dialog.png"))
    assert_nothing_ran(page)
    # "Why here" highlights the same hostile text by BM25 term contribution, still as text.
    dialog.get_by_role("tab", name="Why here: BM25 (flat)").click()
    dialog.get_by_text("Highlight:").first.wait_for(timeout=60_000)
    assert "Unsafe <script>alert(1)</script>" in dialog.inner_text() and "<img src=x onerror=alert(2)>" in dialog.inner_text()
    assert dialog.locator("img, script").count() == 0
    page.screenshot(path=str(SHOTS / "document-dialog-why-here.png"))
    assert_nothing_ran(page)


def test_url_restores_the_view_and_uploads_add_a_column(server, page, tmp_path):
    page.goto(server["url"] + "/?dataset=tiny&qid=q3&systems=bm25-flat&view=cards")
    card(page, "bm25-flat", "d3").wait_for(timeout=120_000)
    wait_url(page, "qid=q3", "systems=bm25-flat")
    page.reload()
    card(page, "bm25-flat", "d3").wait_for(timeout=60_000)
    page.get_by_text("Query q3:").wait_for(timeout=30_000)  # the header is a page element: drawn by its script
    # A bad run file gets a clear message naming file and line; a good one becomes a column.
    page.get_by_text("Add a TREC run file").click()
    bad = tmp_path / "broken.trec"
    bad.write_text("q3 Q0 d3 1 2.0 t\nq3 Q0 d6 2 two t\n", encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(bad))
    page.get_by_text("Could not read broken.trec, line 2").first.wait_for(timeout=30_000)  # on the page and in a toast
    good = tmp_path / "mine.trec"
    good.write_text("q3 Q0 d6 1 3.0 mine\nq3 Q0 d3 2 1.0 mine\n", encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(good))
    card(page, "upload:mine", "d3").wait_for(timeout=30_000)
    assert card(page, "upload:mine", "d3").inner_text().startswith("#2 · doc d3")
    assert "relevant (1)" in card(page, "upload:mine", "d3").inner_text()
    assert page.get_by_role("heading", name="mine (uploaded)").is_visible()
    page.screenshot(path=str(SHOTS / "compare-upload.png"), full_page=True)
    assert_nothing_ran(page)
    # The view's controls are native radios (pages/_choice.py): a click or an arrow key picks, the URL follows, and
    # the focus stays on the radio.
    url_has = "([k, v]) => new URLSearchParams(location.search).get(k) === v"
    page.get_by_role("radiogroup", name="View").get_by_role("radio", name="Compact").click()
    page.locator(".rk-col details.rk-row").first.wait_for(timeout=30_000)
    page.wait_for_function(url_has, arg=["view", "compact"], timeout=30_000)
    per_column = page.get_by_role("radiogroup", name="Documents per column")
    per_column.get_by_role("radio", name="5", exact=True).click()
    page.wait_for_function(url_has, arg=["k", "5"], timeout=30_000)
    per_column.get_by_role("radio", name="5", exact=True).press("ArrowRight")
    page.wait_for_function(url_has, arg=["k", "10"], timeout=30_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    assert per_column.get_by_role("radio", name="10", exact=True).is_checked()
    assert page.evaluate("document.activeElement.value") == "10"
    assert_nothing_ran(page)


def wait_url(pg, *parts: str, timeout: int = 10_000) -> None:
    """Waits until the address bar holds every one of ``parts``: the app writes its state there from the run that
    draws the page, but the browser can paint that run's elements a frame or more before it updates the URL."""
    pg.wait_for_function("parts => parts.every(p => location.href.includes(p))", arg=list(parts), timeout=timeout)


def row(pg, column: int, docid: str):
    """The compact row of ``docid`` in the ``column``-th column (0-based)."""
    return pg.locator(".rk-col").nth(column).locator(f'details.rk-row[data-docid="{docid}"]')


def test_compact_view_is_the_default_and_links_a_document_across_columns(server, page):
    page.goto(server["url"] + "/?dataset=tiny&qid=q1&systems=bm25-flat,bm25-multifield")
    page.locator(".rk-col").nth(1).locator("details.rk-row").first.wait_for(timeout=120_000)
    wait_url(page, "view=compact", "k=10")
    top = core_top(server, "bm25-flat", "q1")
    rows = page.locator(".rk-col").first.locator("details.rk-row")
    assert rows.count() == len(top)
    # One line per row: every row of the first column is in view at 1500x1000 (ten rows at most here).
    for i in range(min(10, rows.count())):
        box = rows.nth(i).bounding_box()
        assert box is not None and box["height"] < 40 and box["y"] + box["height"] <= 1000
    assert rows.first.inner_text().startswith(f"#{top['rank'].iloc[0]}")
    # Hovering a row marks the same document in the other column, and only that one.
    docid = top["docid"].iloc[0]
    other = row(page, 1, docid)
    before = other.evaluate("e => getComputedStyle(e).backgroundColor")
    row(page, 0, docid).locator(":scope > summary").hover()
    page.wait_for_function(
        "([sel, before]) => getComputedStyle(document.querySelectorAll('.rk-col')[1].querySelector(sel)).backgroundColor !== before",
        arg=[f'details.rk-row[data-docid="{docid}"]', before],
        timeout=5_000,
    )
    marked = other.evaluate("e => getComputedStyle(e).backgroundColor")
    unrelated = page.locator(".rk-col").nth(1).locator(f'details.rk-row:not([data-docid="{docid}"])').first
    assert unrelated.evaluate("e => getComputedStyle(e).backgroundColor") != marked
    bg = "([sel, want]) => getComputedStyle(document.querySelectorAll('.rk-col')[1].querySelector(sel)).backgroundColor === want"
    sel = f'details.rk-row[data-docid="{docid}"]'
    page.mouse.move(5, 5)  # away from the rows: the mark goes
    page.wait_for_function(bg, arg=[sel, before], timeout=5_000)
    # An open row keeps its document marked in every column while the mouse is elsewhere; closed, the mark goes.
    row(page, 0, docid).locator(":scope > summary").click()
    page.mouse.move(5, 5)
    page.wait_for_function(bg, arg=[sel, marked], timeout=5_000)
    row(page, 0, docid).locator(":scope > summary").click()
    page.mouse.move(5, 5)
    page.wait_for_function(bg, arg=[sel, before], timeout=5_000)
    # Opening a row (a click, no server round trip) keeps it marked and shows its text; hostile text stays text.
    row(page, 0, "d5").locator(":scope > summary").click()
    assert "Unsafe <script>alert(1)</script>" in row(page, 0, "d5").inner_text()
    assert row(page, 0, "d5").locator("script, img").count() == 0
    assert row(page, 0, "d5").get_by_role("button", name="Full text").count() == 0  # its snippet is the whole text
    # "Full text" asks the server for the whole document (not sent with the rows); the row stays open with it,
    # other open rows stay open, and the hostile text at its end is still text.
    opened = row(page, 0, "d7")
    opened.locator(":scope > summary").click()
    assert opened.locator(".rk-full").count() == 0 and "the end." not in opened.inner_text()
    opened.get_by_role("button", name="Full text").click()
    # Waits until the full text is painted in the open row (a closed row's text reads as empty): the rerun that
    # sends it can replace the column more than once on a busy machine.
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect(opened.locator(".rk-full")).to_contain_text(
        "<img src=y onerror=\"window.__pwned='full'\"> the end.", timeout=30_000
    )
    assert opened.locator("img, svg, script").count() == 0
    assert opened.evaluate("e => e.open") and row(page, 0, "d5").evaluate("e => e.open")
    # "Why here?" opens the document's dialog, with a tab per column's explanation.
    opened.get_by_role("button", name="Why here?").click()
    page.get_by_role("tab", name="Why here: BM25 (multifield)").wait_for(timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compare-compact-why.png"))
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="hidden", timeout=10_000)
    page.screenshot(path=str(SHOTS / "compare-compact-tiny.png"))
    assert_nothing_ran(page)


def test_compact_badges_are_the_qrels_in_the_browser(server, page):
    """The default view's badges as Chromium shows them, every row of both columns against the qrels (glyph, tooltip
    and class): relevant ✓ with the grade, judged not relevant ✗, unjudged ?."""
    from retrieval.beir import open_dataset

    from .test_compact_view import expected_compact_badge

    qrels = open_dataset("tiny", server["env"]["BEIR_DATA_DIR"], download=False).qrels("test")
    graded = max(qrels.frame["relevance"]) > 1  # tiny's q1 has a grade 2: the tick carries the grade
    seen = set()
    for qid in ("q1", "q3"):
        page.goto(server["url"] + f"/?dataset=tiny&qid={qid}&systems=bm25-flat,bm25-multifield")
        page.locator(".rk-col").nth(1).locator("details.rk-row").first.wait_for(timeout=120_000)
        wait_url(page, "view=compact")
        top = core_top(server, "bm25-flat", qid)
        assert page.locator(".rk-col").first.locator("details.rk-row").count() == len(top)
        for column in range(2):
            rows = page.locator(".rk-col").nth(column).locator("details.rk-row")
            for i in range(rows.count()):
                docid = rows.nth(i).get_attribute("data-docid")
                badge = rows.nth(i).locator(":scope > summary .rk-b")
                cls = next(c for c in badge.get_attribute("class").split() if c != "rk-b")
                got = (cls, badge.get_attribute("title"), badge.inner_text())
                assert got == expected_compact_badge(qrels.for_query(qid).get(docid), graded), (qid, column, docid)
                seen.add(cls)
    assert seen == {"rk-rel", "rk-non", "rk-unj"}
    assert_nothing_ran(page)


def test_query_picker_searches_by_id_or_text_and_picks_with_keys_or_a_click(server, page):
    page.goto(server["url"] + "/?dataset=tiny&qid=q1&systems=bm25-flat,bm25-multifield")
    page.locator(".rk-col").nth(1).locator("details.rk-row").first.wait_for(timeout=120_000)
    box = page.get_by_role("combobox", name="Query (type to search by text or id)")
    assert box.input_value().startswith("q1 · ")
    # A pick changes the URL (a new history entry) and fetches nothing but Streamlit's own assets on first use (a
    # font): the favicon is inline (pages/_nav.py); served as a file, Chromium fetched it again after every pick.
    fetched = []
    page.on(
        "request", lambda r: None if r.url.startswith(("blob:", "data:", server["url"] + "/static/")) else fetched.append(r.url)
    )
    box.click()  # every judged query of the split, the one on view first selected
    options = page.get_by_role("listbox").get_by_role("option")  # not the sidebar's native selects' options
    assert [options.nth(i).inner_text()[:2] for i in range(options.count())] == ["q1", "q2", "q3", "q4", "q5"]
    assert page.locator('[role="option"][aria-selected="true"]').inner_text().startswith("q1 · ")
    # An id: the exact id first; Enter picks it and the columns follow.
    box.fill("q3")
    assert options.first.inner_text().startswith("q3 · ")
    page.keyboard.press("Enter")
    page.get_by_text("Query q3:").wait_for(timeout=30_000)
    wait_url(page, "qid=q3")
    assert box.input_value().startswith("q3 · ")
    # Words of the text, in any order; Escape gives the box its query back and changes nothing.
    box.click()
    box.fill("disease coffee")
    assert options.count() == 1 and options.first.inner_text() == "q2 · coffee heart disease"
    page.keyboard.press("Escape")
    assert box.input_value().startswith("q3 · ") and page.get_by_role("listbox").is_hidden()
    box.click()
    box.fill("no such words")
    assert options.count() == 0 and page.get_by_text("No query matches").is_visible()
    # A query's text is text in the list and in the box, never markup.
    box.fill("levels")
    assert options.first.inner_text() == "q5 · " + HOSTILE_QUERY["text"]
    assert page.get_by_role("listbox").locator("img, b").count() == 0
    page.keyboard.press("Enter")
    page.get_by_text("Query q5:").wait_for(timeout=30_000)
    assert box.input_value() == "q5 · " + HOSTILE_QUERY["text"]
    box.click()
    # A click on an option picks it.
    box.fill("heart")
    options.first.click()
    page.get_by_text("Query q2:").wait_for(timeout=30_000)
    wait_url(page, "qid=q2")
    assert box.input_value() == "q2 · coffee heart disease"
    assert fetched == []
    assert_nothing_ran(page)


def test_systems_picker_adds_with_keys_or_a_click_and_removes_with_its_button_or_backspace(server, page):
    """pages/_systems.py in Chromium: typing filters, Enter or a click adds, Backspace in the empty box or a chip's
    button removes; each change is one column more or less and reaches the URL."""
    multi = page.locator('[class*="st-key-column_bm25"][class*="multifield"] .rk-row')
    flat = page.locator('[class*="st-key-column_bm25"][class*="flat"] .rk-row')
    page.goto(server["url"] + "/?dataset=tiny&qid=q1&systems=bm25-flat")
    flat.first.wait_for(timeout=120_000)
    box = page.get_by_role("combobox", name="Systems (2 to 4)")
    box.click()
    options = page.get_by_role("listbox").get_by_role("option")  # not the sidebar's native selects' options
    assert "BM25 (flat)" not in options.all_inner_texts()  # chosen ones are not offered again
    box.type("multi")
    assert options.all_inner_texts() == ["BM25 (multifield)"]
    box.press("Enter")
    multi.first.wait_for(timeout=120_000)
    in_url = "s => location.search.includes(s)"  # the URL is written at the end of the run, after the rows
    page.wait_for_function(in_url, arg="systems=bm25-flat%2Cbm25-multifield&", timeout=30_000)
    box.press("Backspace")  # the box is empty: the last chip goes
    multi.first.wait_for(state="detached", timeout=30_000)
    flat.first.wait_for(timeout=30_000)  # its column is drawn again, as the only one
    page.wait_for_function(in_url, arg="systems=bm25-flat&", timeout=30_000)
    box.click()
    options.filter(has_text="BM25 (multifield)").click()
    multi.first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Remove BM25 (flat)").click()
    flat.first.wait_for(state="detached", timeout=30_000)
    multi.first.wait_for(timeout=30_000)
    page.wait_for_function(in_url, arg="systems=bm25-multifield&", timeout=30_000)
    assert_nothing_ran(page)


def test_failure_tables_sort_show_markup_as_text_and_a_row_click_opens_compare(server, page):
    """Failure cases' tables (pages/_table.py): every number in view, a header click sorts, the hostile query's
    markup is text, and a row click opens that query in Compare with the page's systems."""
    page.goto(server["url"] + "/?dataset=tiny&qid=q1&systems=bm25-flat,bm25-multifield")  # builds both runs
    page.locator(".rk-col").nth(1).locator("details.rk-row").first.wait_for(timeout=120_000)
    page.get_by_test_id("stSidebarNav").get_by_text("Failure cases").click()
    table = page.locator(".st-key-w_f_disagree table")
    table.locator("tbody tr").first.wait_for(timeout=60_000)
    cells = [r.split("\t") for r in table.locator("tbody tr").all_inner_texts()]
    assert [c.strip() for c in table.locator("thead th").all_inner_texts()] == [
        "qid",
        "RBO",
        "overlap@10",
        "tau",
        "shared",
        "query",
    ]
    rbo = [float(c[1]) for c in cells]
    assert rbo == sorted(rbo)  # the most disagreeing first
    assert HOSTILE_QUERY["text"] in [c[-1] for c in cells]  # the markup as text
    assert_nothing_ran(page)
    box, wrap = table.locator("tbody tr").first.bounding_box(), table.locator("xpath=..").bounding_box()
    assert box["x"] + box["width"] <= wrap["x"] + wrap["width"] + 1  # no column off to the side
    # a header click sorts by that column (numbers: largest first), again reverses it
    table.get_by_role("button", name="RBO").click()
    assert table.locator("thead th").nth(1).get_attribute("aria-sort") == "descending"
    resorted = [float(r.split("\t")[1]) for r in table.locator("tbody tr").all_inner_texts()]
    assert resorted == sorted(rbo, reverse=True)
    # a row is a link to its query in Compare (a new tab opens it whole) ...
    row = table.locator("tbody tr").nth(1)
    qid = row.inner_text().split("\t")[0]
    href = row.get_by_role("link", name=qid).get_attribute("href")
    assert href.startswith(server["url"] + "/?dataset=tiny&split=test&systems=bm25-flat,bm25-multifield&")
    assert href.endswith("&qid=" + urllib.parse.quote(qid, safe=""))
    # ... and a click on the row goes there in this page (one run, of Compare)
    row.locator("td").nth(2).click()
    page.get_by_role("heading", name="Compare").wait_for(timeout=60_000)
    page.get_by_text(f"Query {qid}:").wait_for(timeout=60_000)
    page.wait_for_function(
        "q => { const u = new URLSearchParams(location.search); "
        "return u.get('qid') === q && u.get('systems') === 'bm25-flat,bm25-multifield' && u.get('mode') === 'judged'; }",
        arg=qid,
        timeout=30_000,
    )
    page.locator(".rk-col").nth(1).locator("details.rk-row").first.wait_for(timeout=60_000)
    assert_nothing_ran(page)
    # Back returns to Failure cases; Enter on a focused row opens its query as a click does
    page.go_back()
    page.get_by_role("heading", name="Failure cases").wait_for(timeout=60_000)
    row = table.locator("tbody tr").nth(2)
    row.wait_for(timeout=60_000)
    qid = row.inner_text().split("\t")[0]
    row.focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Compare").wait_for(timeout=60_000)
    page.get_by_text(f"Query {qid}:").wait_for(timeout=60_000)


def test_a_dark_system_theme_gets_the_light_page_the_rows_are_drawn_for(server, browser):
    """The app's own rows and controls have light colours: .streamlit/config.toml fixes the light theme, so a
    browser that prefers dark does not put them on a dark page."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, color_scheme="dark")
    with contextlib.closing(context):
        page = context.new_page()
        page.goto(server["url"] + "/?dataset=tiny&qid=q1&systems=bm25-flat,bm25-multifield")
        page.locator(".rk-col details.rk-row").first.wait_for(timeout=120_000)
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        app_bg = page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
        assert app_bg == "rgb(255, 255, 255)"


def test_long_columns_fill_in_and_the_sidebar_selects_pick_the_split(tmp_path, browser):
    """100 documents per column: the rows that fill the screen come first, the others after that frame
    (pages/_rows.py); every row arrives, in rank order, and the link between columns covers them all. The
    sidebar's native selects (pages/_choice.py) pick the split, which the URL and the page then show."""
    ds = tmp_path / "beir" / "many"
    (ds / "qrels").mkdir(parents=True)
    docs = [
        {"_id": f"m{i:02d}", "title": f"Doc {i}", "text": "alpha " * (i % 9 + 1) + f"filler {i} " * (i % 5 + 1)}
        for i in range(80)
    ]
    (ds / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    (ds / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "alpha"}) + "\n", encoding="utf-8")
    (ds / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tm07\t1\n", encoding="utf-8")
    (ds / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tm08\t1\n", encoding="utf-8")
    env = {**os.environ, "BEIR_DATA_DIR": str(tmp_path / "beir"), "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache")}
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    with streamlit_server(env, log=tmp_path / "server.log") as srv, contextlib.closing(context):
        page.goto(srv.url + "/?dataset=many&qid=q1&systems=bm25-flat,bm25-multifield&k=100")
        for column in (0, 1):
            page.locator(".rk-col").nth(column).locator("details.rk-row").nth(79).wait_for(state="attached", timeout=120_000)
        ranks = (
            page.locator(".rk-col").first.locator("details.rk-row .rk-r").all_text_contents()
        )  # off-screen rows are not laid out (content-visibility)
        assert ranks == [f"#{r}" for r in range(1, 81)]
        last = page.locator(".rk-col").first.locator("details.rk-row").nth(79).get_attribute("data-docid")
        other = row(page, 1, last)
        before = other.evaluate("e => getComputedStyle(e).backgroundColor")
        row(page, 0, last).locator(":scope > summary").click()  # opened (scrolled into view): marked in both columns
        page.wait_for_function(
            "([e, b]) => getComputedStyle(e).backgroundColor !== b", arg=[other.element_handle(), before], timeout=5_000
        )
        split = page.get_by_label("Split")
        assert page.get_by_label("Dataset").input_value() == "many" and split.input_value() == "test"
        assert split.evaluate("s => Array.from(s.options, o => o.value)") == ["dev", "test"]
        split.select_option("dev")
        page.wait_for_url("**split=dev**", timeout=60_000)
        page.get_by_text("many / dev").first.wait_for(timeout=60_000)
        assert page.get_by_label("Split").input_value() == "dev"
        page.screenshot(path=str(SHOTS / "long-columns-dev-split.png"))


def test_a_bookmarked_page_url_opens_that_page_in_the_apps_navigation(tmp_path, browser):
    """A server's very first request for a page URL (Streamlit's pages-folder mode) still gets app.py's
    navigation: the right page, the app's four page titles, the URL's dataset."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    outside = []  # requests for anything not on the app's server (the page's Material icon as favicon was one)
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "blob:", "data:")) else outside.append(r.url))
    with streamlit_server(app_env(tmp_path), log=tmp_path / "server.log") as fresh, contextlib.closing(context):
        page.goto(fresh.url + "/failures?dataset=tiny")
        page.get_by_role("heading", name="Failure cases").wait_for(timeout=120_000)
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_text("Data & runs").wait_for(timeout=30_000)
        links = [t.strip() for t in nav.get_by_role("link").all_inner_texts()]
        assert [ln.splitlines()[-1].strip() for ln in links] == ["Compare", "Model size", "Failure cases", "Data & runs"], links
        wait_url(page, "/failures?", "dataset=tiny")
        page.get_by_text("Needs cached runs of at least two systems on tiny (test)").wait_for(timeout=30_000)
        assert outside == []
        assert page.evaluate("document.querySelector(\"link[rel='shortcut icon']\").href").startswith("data:image/png;base64,")
        page.screenshot(path=str(SHOTS / "deep-link-failures.png"), full_page=True)
        # Later requests (the navigation is now app.py's for the whole server) deep-link too.
        page.goto(fresh.url + "/data_runs")
        page.get_by_role("heading", name="Data & runs").wait_for(timeout=60_000)
