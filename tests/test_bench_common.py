"""Benchmark plumbing: ratio table, verdicts, interleaved timing order, machine description, report file."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from bench.common import (
    Row,
    Section,
    fmt,
    interleaved,
    machine_info,
    machine_slug,
    percentile,
    ratio_table,
    render_report,
    results_path,
    write_report,
    write_results,
)


def test_verdict_reads_the_target_in_either_direction():
    assert Row("b", "m", "1", "1", 1.6, "speed-up", ">= 1.5").verdict == "met"
    assert Row("b", "m", "1", "1", 1.4, "speed-up", ">= 1.5").verdict == "missed"
    assert Row("b", "m", "1", "1", 1.04, "overhead", "<= 1.05").verdict == "met"
    assert Row("b", "m", "1", "1", 1.06, "overhead", "<= 1.05").verdict == "missed"
    assert Row("b", "m", "1", "1", None, "x", ">= 1").verdict == ""
    assert Row("b", "m", "1", "1", 2.0, "x", "").verdict == ""


def test_ratio_table_has_one_line_per_row_and_marks_targets():
    rows = [Row("monot5", "pairs/s", "3.0", "2.0", 1.5, "speed-up", ">= 1.5"), Row("app", "p50", "80 ms", "", None, "absolute")]
    lines = ratio_table(rows).splitlines()
    assert len(lines) == 4
    assert "| 1.50 |" in lines[2] and ">= 1.5 (met)" in lines[2]
    assert "| n/a |" in lines[3]


def test_fmt_keeps_significant_digits_without_exponents():
    assert fmt(1234.5) == "1,234"
    assert fmt(12.345) == "12.3"
    assert fmt(0.012345) == "0.0123"
    assert fmt(0) == "0"


def test_interleaved_warms_up_untimed_and_rotates_the_order(monkeypatch):
    import types

    from bench import common

    clock = [0.0]  # a clock that only the contenders move: each round's time is exactly what its contender took
    monkeypatch.setattr(common, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    calls = []

    def contender(name: str, seconds: float):
        def run() -> None:
            calls.append(name)
            clock[0] += seconds

        return run

    times = interleaved({"a": contender("a", 1.0), "b": contender("b", 0.25)}, rounds=3)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert times == {"a": [1.0, 1.0, 1.0], "b": [0.25, 0.25, 0.25]}  # the warm-up is not counted


def test_machine_description_and_file_name(tmp_path):
    info = machine_info()
    for key in ("cpu", "cores", "ram", "torch", "torch threads", "transformers", "pyserini"):
        assert info[key]
    slug = machine_slug({"hostname": "Box_1", "cpu": "AMD EPYC 9R45 (x2)", "cores": "2"})
    assert slug == "box-1-amd-epyc-9r45-x2-2c"
    path = results_path({"hostname": "h", "cpu": "c", "cores": "2"}, dt.date(2026, 1, 2), tmp_path)
    assert path == tmp_path / "2026-01-02-h-c-2c.md"


def test_report_is_written_atomically_with_machine_and_sections(tmp_path):
    rows = [Row("bm25", "queries/s", "10", "20", 0.5, "speed-up")]
    sections = [Section("BM25", rows, ["a detail"], 3.0), Section("App", skipped="app not found")]
    text = render_report(sections, {"hostname": "h", "cpu": "c"}, "python -m bench", dt.datetime(2026, 1, 2, 3, 4, 5))
    path = write_report(text, tmp_path / "r.md")
    written = path.read_text(encoding="utf-8")
    assert written == text
    assert "| bm25 | queries/s | 10 | 20 | 0.50 |" in written
    assert "- cpu: c" in written and "- a detail" in written and "skipped: app not found" in written
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]  # no temporary file left behind


def test_results_go_to_the_dated_machine_file_with_the_end_load(tmp_path):
    info = {"hostname": "h", "cpu": "AMD EPYC", "cores": "2"}
    started = dt.datetime(2026, 1, 2, 3, 4, 5)
    path = write_results([Section("S", [Row("b", "m", "1", "2", 2.0, "x")])], info, "python x.py", started, "t-1", tmp_path)
    assert path == results_path(info, started.date(), tmp_path, "t-1") and path.name.startswith("2026-01-02-")
    written = path.read_text(encoding="utf-8")
    assert "Command: `python x.py`" in written and "- load average at end: " in written and "| b | m | 1 | 2 |" in written


def test_percentile_interpolates_linearly_between_ranks():
    values = [40.0, 10.0, 30.0, 20.0]  # order does not matter
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 40.0
    assert percentile(values, 50) == statistics.median(values) == 25.0
    assert percentile(values, 90) == pytest.approx(37.0)  # rank 0.9 * 3 = 2.7: 30 + 0.7 * (40 - 30)
    # the same definition as statistics.quantiles(method="inclusive") at every percentile it gives
    data = [3.1, 9.4, 2.2, 7.7, 5.0, 1.3, 8.8, 6.6, 4.5, 10.9, 0.2]
    assert [percentile(data, q) for q in range(1, 100)] == pytest.approx(statistics.quantiles(data, n=100, method="inclusive"))
    with pytest.raises(ValueError):
        percentile([], 50)
