"""Explanation display values and upload checks, without Streamlit."""

from __future__ import annotations

import re

import pytest

from retrieval.beir import BeirDataset
from retrieval.explain.spans import WeightedSpan
from retrieval.run import Run
from retrieval.systems import parse_system
from view import choices
from view import explain_display as display


def test_weighted_markdown_keeps_text_literal_and_levels_by_weight():
    text = "<b>x</b> [link](http://e.com) *bold* end"
    spans = [
        WeightedSpan("text", 0, 8, 0.1),
        WeightedSpan("text", 9, 29, 1.0),
        WeightedSpan("text", 30, 36, 0.5),
        WeightedSpan("text", 37, 40, -0.2),
    ]
    md = display.weighted_markdown(text, spans)
    assert md.count(":red-background[") == 1 and md.count(":orange-background[") == 1
    assert md.count(":yellow-background[") == 1 and md.count(":blue-background[") == 1
    # take away our markers: what is left is the source with every punctuation mark escaped
    inner = re.sub(r"(?<!\\)\]|\*\*|:(red|orange|yellow|blue)(-background)?\[", "", md)
    assert re.sub(r"\\(.)", r"\1", inner).replace("\u2060", "") == text
    assert not re.search(r"(?<!\\)[<>*\[\]()]", inner)


def test_weighted_markdown_limit_overlaps_and_zero_weights():
    spans = [
        WeightedSpan("text", 0, 5, 1.0),
        WeightedSpan("text", 2, 8, 1.0),
        WeightedSpan("text", 11, 14, 0.0),
        WeightedSpan("text", 15, 30, 1.0),
    ]
    md = display.weighted_markdown("alpha beta gam delta epsilon", spans, limit=18)
    assert md == ":red-background[:red[**alpha**]] beta gam :red-background[:red[**del**]]"
    assert display.weighted_markdown("plain", []) == "plain"


def test_bm25_table_parts_sum_to_the_score(tiny_dir, tmp_path):
    from retrieval.cache import Cache
    from retrieval.explain.bm25 import explain_bm25

    ds = BeirDataset(tiny_dir, "tiny")
    expl = explain_bm25(ds, parse_system("bm25-flat"), "vitamin D bone", "d1", cache=Cache(tmp_path / "c"))
    table = display.bm25_table(expl)
    assert list(table.columns) == ["term", "field", "tf", "df", "idf", "norm", "part", "share"]
    assert table["part"].sum() == pytest.approx(expl.total, abs=1e-9) and table["share"].sum() == pytest.approx(1.0)


def test_spans_in_keeps_the_top_weights_in_document_order():
    spans = [WeightedSpan("text", i, i + 1, w) for i, w in enumerate([0.1, 0.9, 0.5, 0.7])] + [WeightedSpan("title", 0, 1, 5.0)]
    assert [s.start for s in display.spans_in(spans, "text", top=2)] == [1, 3]
    assert len(display.spans_in(spans, "title")) == 1


def test_upload_checks():
    assert choices.upload_too_large("a.trec", 10) is None
    msg = choices.upload_too_large("a.trec", 60 * 1024 * 1024, max_mb=50)
    assert "a.trec is 60.0 MB" in msg and "limited to 50 MB" in msg
    run = Run.parse_trec("q1 Q0 d1 1 2 t\nq1 Q0 x1 2 1 t\nq9 Q0 x2 1 1 t\nq9 Q0 x1 2 0 t\n")
    report = choices.unknown_ids(run, {"q1": "a"}, {"d1": object()}, examples=1)
    assert report == {"queries": (1, ["q9"]), "documents": (2, ["x1"])}
    assert choices.unknown_ids_message(report, "tiny").startswith("The run names 1 queries not in tiny (e.g. q9) and 2 documents")
    assert (
        choices.unknown_ids_message(choices.unknown_ids(run, {"q1": "", "q9": ""}, {"d1": 0, "x1": 0, "x2": 0}), "tiny") is None
    )


def test_by_rank_colours_by_place_not_by_value():
    spans = [WeightedSpan("text", 0, 2, 0.75), WeightedSpan("text", 3, 5, 0.72), WeightedSpan("text", 6, 8, 0.68)]
    md = display.weighted_markdown("aa bb cc", display.by_rank(spans))
    assert md == ":red-background[:red[**aa**]] :orange-background[:orange[bb]] :yellow-background[cc]"
    legend = display.rank_legend(3)
    assert legend.index("red") < legend.index("orange") < legend.index("yellow") and "closest" in legend


def test_one_scale_across_title_and_text():
    text_only = [WeightedSpan("text", 0, 2, 0.5)]
    assert display.weighted_markdown("aa", text_only).startswith(":red-background")  # alone, 0.5 is its own maximum
    assert display.weighted_markdown("aa", text_only, scale=1.0).startswith(":orange-background")  # the title held 1.0
