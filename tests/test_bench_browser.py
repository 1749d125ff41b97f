"""The browser benchmark's floor page and its report of N sessions at once (no browser, no timing)."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench import browser_latency as bl

FLOOR = Path(__file__).resolve().parent.parent / "bench" / "apps" / "floor.py"


def row_text(at: AppTest) -> str:
    (html,) = at.get("html")
    return html.proto.body


def test_the_floor_page_draws_one_row_and_random_redraws_it():
    at = AppTest.from_file(str(FLOOR)).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Random"]
    assert 'class="rk-row"' in row_text(at)  # what the benchmark waits for, as on Compare
    for _ in range(5):
        at.button[0].click().run()
        assert not at.exception
        qid = at.session_state["qid"]
        assert 1 <= int(qid) <= 1000
        assert re.search(rf"query {qid} · document {int(qid) * 7}<", row_text(at))


def sessions_result(times: list[float], firsts: list[float]) -> tuple:
    return times, 0, 0, {"server": 30.0, "chromium": 150.0, "renderer": 110.0, "browser": 28.0, "gpu-process": 10.0}, firsts


def test_the_report_sets_the_sessions_at_once_against_the_floor():
    ours = [100.0 + 10 * i for i in range(48)]  # p95 = 100 + 10 * 44.65
    floor = [50.0 + 5 * i for i in range(48)]
    res = {
        "load": [(0.5, 0.5, 0.5)],
        "clicks": {},
        "cold": {},
        "cold_returning": {},
        "concurrent": {"ours": sessions_result(ours, ours[:8]), bl.FLOOR: sessions_result(floor, floor[:8])},
    }
    section = bl.report(res, ["ours"], 8)
    rows = {r.metric: r for r in section.rows}
    mine, theirs = bl.percentile(ours, 95), bl.percentile(floor, 95)
    assert rows["8 sessions at once: p95"].ours == f"{mine:.0f} ms"
    assert "missed" in rows["8 sessions at once: p95"].note
    against = next(r for m, r in rows.items() if "against the floor" in m)
    assert (against.ours, against.baseline) == (f"{mine:.0f} ms", f"{theirs:.0f} ms")
    assert against.ratio == theirs / mine
    lines = [line for line in section.lines if line.startswith("8 sessions clicking Random at once")]
    assert len(lines) == 2 and bl.FLOOR in lines[1]
    assert "the first clicks, all at the same instant: 100-170 ms" in lines[0]
    assert "renderer 110, browser 28, gpu-process 10" in lines[0]


def test_no_floor_row_without_a_floor_measurement():
    res = {
        "load": [(0.5, 0.5, 0.5)],
        "clicks": {},
        "cold": {},
        "cold_returning": {},
        "concurrent": {"ours": sessions_result([100.0] * 8, [100.0] * 8)},
    }
    section = bl.report(res, ["ours"], 8)
    assert not [r for r in section.rows if "floor" in r.metric]
    assert "met" in next(r for r in section.rows if r.metric == "8 sessions at once: p95").note


def test_two_rounds_of_sessions_pool_into_one_result():
    first = ([100.0] * 8, 1, 2, {"server": 30.0, "chromium": 150.0}, [100.0] * 2)
    second = ([200.0] * 24, 0, 1, {"server": 50.0, "chromium": 250.0, "renderer": 1.0}, [300.0] * 2)
    assert bl.pool(None, first) is first
    times, errors, quiet, cpu, firsts = bl.pool(first, second)
    assert times == [100.0] * 8 + [200.0] * 24 and (errors, quiet) == (1, 3)
    assert cpu == {"server": 45.0, "chromium": 225.0}  # per click over all 32 (a kind one round lacks is left out)
    assert firsts == [100.0, 100.0, 300.0, 300.0]
    res = {
        "load": [(0.5, 0.5, 0.5)],
        "clicks": {},
        "cold": {},
        "cold_returning": {},
        "concurrent": {"ours": (times, errors, quiet, cpu, firsts)},
    }
    (line,) = [line for line in bl.report(res, ["ours"], 2).lines if "sessions clicking Random" in line]
    assert "all at the same instant in each of 2 rounds, the contenders' order swapped: 100-300 ms" in line
