"""The failure-analysis workflow in real Chromium (issues 28, 29, 31): judge by keyboard and see the metric line
change to the hand-computed value, step a queue with keys, export the judgements; a run imported as a system's run
survives a server restart and fills its rung of the size ladder; a URL that names a model folder makes the server
look at nothing and name no path.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; skipped otherwise.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from bench.live_app import CHROMIUM, CHROMIUM_ARGS, streamlit_server

from .test_browser import app_env, core_top

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)"),
]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the app has finished its run (Streamlit renders over a websocket: wait for content, not load)."""
    page.wait_for_timeout(150)
    page.wait_for_selector(READY, timeout=timeout)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser, **options):
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True, **options)
    return context, context.new_page()


def metric_line(page, column: int) -> str:
    return page.locator(".rk-colwrap").nth(column).locator(".rk-metrics").inner_text()


def test_an_opened_row_is_judged_by_its_buttons_and_its_note_is_kept(tmp_path, browser):
    """The judging bar is built in the page when a row is first opened (view/assets/rows.js fillBar): one button per
    grade of tiny's 0-2 scale with its word, can't tell, a note box; a click judges, Enter saves the note, and both
    come back from the database after a reload (a new session)."""
    env = app_env(tmp_path)
    with streamlit_server(env, log=tmp_path / "server.log") as srv:
        context, page = new_page(browser)
        context.add_init_script("localStorage.setItem('rk-judge', 'ann')")
        url = srv.url + "/?dataset=tiny&split=test&qid=q1&systems=bm25-flat,bm25-multifield"
        page.goto(url)
        page.wait_for_selector('.rk-colwrap[data-judge="on"] details.rk-row', timeout=120_000)
        settle(page)
        row = page.locator(".rk-colwrap").first.locator("details.rk-row").first
        docid = row.get_attribute("data-docid")
        assert row.locator("button.rk-g").count() == 0  # closed rows carry no bar
        row.locator("summary").click()
        bar = row.locator(".rk-judge")
        bar.locator("button.rk-g").first.wait_for(timeout=10_000)
        assert bar.locator("button.rk-g").all_inner_texts() == ["0 not relevant", "1 relevant", "2 highly relevant", "can't tell"]
        page.get_by_role("switch", name="Export").check()  # a panel opens above the columns: the row stays open
        settle(page)
        assert row.get_attribute("open") is not None and bar.locator("button.rk-g").count() == 4
        bar.get_by_role("button", name="2 highly relevant").click()
        settle(page)
        assert row.locator("summary .rk-ub").inner_text().startswith(("2", "≠2"))
        if row.get_attribute("open") is None:  # the rerun drew the column again; an opened row stays open
            row.locator("summary").click()
        note = row.locator("input.rk-note")
        note.fill("the abstract says so")
        note.press("Enter")
        settle(page)
        page.reload()
        page.wait_for_selector('.rk-colwrap[data-judge="on"] details.rk-row', timeout=60_000)
        settle(page)
        row = page.locator(f'.rk-colwrap >> nth=0 >> details.rk-row[data-docid="{docid}"]')
        row.locator("summary").click()
        assert row.locator("input.rk-note").input_value() == "the abstract says so"
        assert row.locator('button.rk-g[aria-pressed="true"]').inner_text() == "2 highly relevant"
        assert row.locator("button.rk-clear").count() == 1
        context.close()


def test_judge_three_documents_by_keyboard_step_a_queue_and_export(tmp_path, browser):
    import ir_measures
    from ir_measures import nDCG

    env = app_env(tmp_path)
    with streamlit_server(env, log=tmp_path / "server.log") as srv:
        context, page = new_page(browser)
        page.goto(srv.url + "/?dataset=tiny&split=test&qid=q1&systems=bm25-flat,bm25-multifield&qrels=merged")
        page.locator("details.rk-row").first.wait_for(timeout=120_000)
        settle(page)
        name = page.locator("#rk-jn-input")
        name.fill("ann")
        name.press("Enter")
        page.wait_for_selector('.rk-colwrap[data-judge="on"]', timeout=30_000)
        settle(page)
        top = core_top({"env": env}, "bm25-flat", "q1")
        official = {"d1": 2, "d3": 1, "d2": 0}
        unjudged = [d for d in top["docid"] if d not in official]
        assert len(unjudged) >= 2
        # focus the first unjudged row of the first column and judge it and the next ones by key
        rows = page.locator(".rk-colwrap").first.locator("details.rk-row")
        first = next(i for i in range(rows.count()) if rows.nth(i).get_attribute("data-docid") == unjudged[0])
        rows.nth(first).locator("summary").focus()
        judged = {}
        order = list(top["docid"])
        for key in ("1", "0", "1"):
            focused = page.evaluate("document.activeElement.closest('details.rk-row').dataset.docid")
            page.keyboard.press(key)
            judged[focused] = int(key)
            settle(page)
        # the users' badges are drawn, and the focus went on down the column
        badges = page.locator(".rk-colwrap").first.locator("summary .rk-ub").all_inner_texts()
        shown = [f"≠{g}" if d in official and official[d] != g else str(g) for d, g in judged.items()]
        assert sorted(badges) == sorted(shown)
        run = {"q1": {d: -float(i) for i, d in enumerate(order)}}
        merged = {**{d: g for d, g in judged.items() if d not in official}, **official}
        want = ir_measures.calc_aggregate([nDCG @ 10], {"q1": merged}, run)[nDCG @ 10]
        assert f"→ {want:.3f}" in metric_line(page, 0)
        # a queue, stepped with the keys
        page.goto(srv.url + "/?dataset=tiny&split=test&qid=q1&systems=bm25-flat,bm25-multifield&queue=variance")
        page.locator(".rk-queue").wait_for(timeout=60_000)
        settle(page)
        where = page.locator(".rk-queue b").inner_text()
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("j")
        settle(page)
        after = page.locator(".rk-queue b").inner_text()
        assert where != after and re.fullmatch(r"\d+ of \d+", after) and "queue=variance" in page.url
        stepped = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["qid"][0]
        page.keyboard.press("k")
        settle(page)
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["qid"][0] != stepped
        # the judgements, exported as TREC qrels from Data & runs
        page.goto(srv.url + "/data_runs?dataset=tiny")
        page.get_by_role("button", name="TREC qrels (plain)").wait_for(timeout=60_000)
        settle(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="TREC qrels (plain)").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        lines = sorted(line.split() for line in text.splitlines() if line.strip())
        assert lines == sorted(["q1", "0", d, str(g)] for d, g in judged.items())
        context.close()


def test_an_imported_run_survives_a_restart_and_fills_its_ladder_rung(tmp_path, browser):
    env = app_env(tmp_path)
    run = tmp_path / "cluster.trec"
    run.write_text("q1 Q0 d3 1 3.0 c\nq1 Q0 d1 2 2.0 c\nq2 Q0 d6 1 5.0 c\nq3 Q0 d3 1 1.0 c\nq4 Q0 d4 1 1.0 c\n", encoding="utf-8")
    with streamlit_server(env, log=tmp_path / "server1.log") as srv:
        context, page = new_page(browser)
        page.goto(srv.url + "/data_runs?dataset=tiny")
        uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').last
        uploader.wait_for(state="attached", timeout=60_000)
        settle(page)
        uploader.set_input_files(str(run))
        page.get_by_text("Keep it as the run of a system").wait_for(timeout=60_000)
        settle(page)
        page.get_by_text("Keep it as the run of a system").click()
        settle(page)
        box = page.get_by_role("combobox", name="System").last
        box.click()
        box.fill("monot5:3b")
        page.get_by_role("option", name=re.compile(r"\(monot5:3b\)$")).click()
        settle(page)
        page.get_by_role("textbox", name="Note (where and how it was computed)").fill("on our cluster")
        page.get_by_role("button", name="Keep").click()
        page.get_by_text("Kept:").wait_for(timeout=60_000)
        context.close()
    with streamlit_server(env, log=tmp_path / "server2.log") as srv:  # a new server: nothing in memory
        context, page = new_page(browser)
        page.goto(srv.url + "/?dataset=tiny&split=test&qid=q1&systems=bm25-flat,monot5:small,monot5:base,monot5:large,monot5:3b")
        page.locator(".rk-colwrap").nth(1).wait_for(timeout=120_000)
        settle(page)
        cols = page.locator(".rk-colwrap")
        texts = [cols.nth(i).inner_text() for i in range(cols.count())]
        rung = next(t for t in texts if "monot5-3b" in t)
        assert "imported from cluster.trec" in rung and "on our cluster" in rung
        assert [d for d in (cols.nth(1).locator("details.rk-row").evaluate_all("rs => rs.map(r => r.dataset.docid)"))] == [
            "d3",
            "d1",
        ]
        # the rungs without weights or runs say so in a line, with the nDCG@10 papers report where there is one
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert body.count("Weights not here") == 3
        context.close()


SPY = """
import os, sys
_real_stat, _log = os.stat, os.environ["PATH_SPY_LOG"]
def _stat(path, *args, **kwargs):
    if "secret-folder" in os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else False:
        with open(_log, "a") as fh:
            fh.write(os.fsdecode(path) + "\\n")
    return _real_stat(path, *args, **kwargs)
os.stat = _stat
"""


def test_a_url_naming_a_model_folder_reaches_no_file(tmp_path, browser):
    """Nothing in a URL reaches the file system: a model folder named in a URL's system spec is dropped before
    anything looks at it (the server's every os.stat of it is logged by a spy), and the page names no path."""
    env = app_env(tmp_path)
    probe_dir = tmp_path / "secret-folder"
    probe_dir.mkdir()
    (probe_dir / "config.json").write_text("{}", encoding="utf-8")
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(SPY, encoding="utf-8")
    log = tmp_path / "stat.log"
    env = {**env, "PYTHONPATH": f"{spy}:{env.get('PYTHONPATH', '')}", "PATH_SPY_LOG": str(log)}
    with streamlit_server(env, log=tmp_path / "server.log") as srv:
        context, page = new_page(browser)
        for target in (str(probe_dir), "/root", "../../../etc"):
            specs = [f"dense:all-MiniLM-L6-v2?model_path={target}", f"rrf:bm25-flat+(dense:all-MiniLM-L6-v2?model_path={target})"]
            for spec in specs:
                page.goto(srv.url + "/?dataset=tiny&qid=q1&systems=" + urllib.parse.quote(f"bm25-flat,{spec}", safe=","))
                page.locator("details.rk-row").first.wait_for(timeout=120_000)
                settle(page)
                text = page.locator('[data-testid="stApp"]').inner_text()
                assert target not in text and "secret-folder" not in text and "model_path" not in text
                assert "model_path" not in page.url
        context.close()
    assert not log.exists(), log.read_text()
    # the spy itself works: the test's own look at the folder is logged by a process that has it
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", f"import os; os.stat({str(probe_dir)!r})"], env=env, check=True)
    assert log.read_text().strip() == str(probe_dir)
