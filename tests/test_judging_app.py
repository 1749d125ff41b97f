"""Judging in the app (issue 28), headless through AppTest on the tiny dataset: a row's judgement reaches the
database and the page, merged metrics equal ir_measures on hand-built qrels, conflicts lose nothing, read-only
and unreachable stores browse on, the holes panel, queues, the baseline, graded badges and the export."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import compact_columns, env_restored, send_trigger, write_tiny_beir

COMPARE = "pages/compare.py"
SYSTEMS = "bm25-flat,bm25-multifield"


@pytest.fixture
def env(tmp_path):
    write_tiny_beir(tmp_path / "beir")
    values = {"BEIR_DATA_DIR": str(tmp_path / "beir"), "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    with env_restored([*values, "RETRIEVAL_READONLY", "RETRIEVAL_DB_URL"]):
        import os

        os.environ.update(values)
        os.environ.pop("RETRIEVAL_READONLY", None)
        os.environ.pop("RETRIEVAL_DB_URL", None)
        yield values


def compare(params: dict[str, str], judge: str | None = "ann"):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / COMPARE), default_timeout=120)
    at.query_params.update({"dataset": "tiny", "split": "test", "qid": "q1", "systems": SYSTEMS, **params})
    if judge:
        at.session_state["_judge"] = judge
    at.run()
    assert not at.exception, at.exception
    return at


def column_id(at, spec: str) -> str:
    return next(
        el.proto.id
        for el in at.main.get("bidi_component")
        if el.proto.component_name == "rk_column" and el.proto.id.endswith(f"column_{spec}")
    )


def judge(at, spec: str, docid: str, value: str, note: str | None = None) -> None:
    send_trigger(at, column_id(at, spec), "judge", json.dumps({"docid": docid, "value": value, "note": note}))
    assert not at.exception, at.exception


def store_judgements(env) -> list:
    from pathlib import Path

    from retrieval.beir import BeirDataset
    from retrieval.judgements import open_store

    ds = BeirDataset(Path(env["BEIR_DATA_DIR"]) / "tiny", "tiny")
    return open_store().dataset(ds, "test").for_query("q1")


def user_badges(html: str) -> dict[str, str]:
    """{docid: the user badge's text} of a compact column."""
    out = {}
    for docid, summary in re.findall(r'<details class="rk-row [^"]*" data-docid="([^"]+)"[^>]*><summary>(.*?)</summary>', html):
        m = re.search(r'<span class="rk-ub[^"]*"[^>]*>([^<]*)</span>', summary)
        if m:
            out[docid] = m.group(1)
    return out


def test_a_judgement_from_a_row_is_stored_and_drawn_in_every_column(env):
    at = compare({})
    judge(at, "bm25-flat", "d5", "1", "about vitamin D too")
    stored = store_judgements(env)
    assert [(j.docid, j.judge, j.grade, j.note, j.stale) for j in stored] == [("d5", "ann", 1, "about vitamin D too", False)]
    for html in compact_columns(at):  # the badge is in every column that shows d5, beside the official one
        if 'data-docid="d5"' in html:
            assert user_badges(html)["d5"] == "1"
    judge(at, "bm25-multifield", "d5", "cant")
    assert store_judgements(env)[0].cant_tell and user_badges(compact_columns(at)[0])["d5"] == "?"
    judge(at, "bm25-flat", "d5", "clear")
    assert store_judgements(env) == [] and "d5" not in user_badges(compact_columns(at)[0])


def test_without_a_name_nothing_is_written_and_the_page_says_why(env):
    at = compare({}, judge=None)
    assert 'data-judge="off"' in compact_columns(at)[0]
    judge(at, "bm25-flat", "d5", "1")
    assert store_judgements(env) == []
    assert any("Give your name" in w.value for w in at.warning)


def test_merged_metrics_equal_ir_measures_on_the_hand_built_qrels(env):
    """q1's official qrels are d1=2, d3=1, d2=0; ann adds d5=1 and says d2 is 2 (official wins: stays 0)."""
    import ir_measures
    from ir_measures import nDCG

    at = compare({"qrels": "merged"})
    judge(at, "bm25-flat", "d5", "1")
    judge(at, "bm25-flat", "d2", "2")
    html = compact_columns(at)[0]
    flat = re.findall(r'data-docid="([^"]+)"', html.split('<div class="rk-col">')[1])
    run = {"q1": {d: -float(i) for i, d in enumerate(dict.fromkeys(flat))}}
    qrels = {"q1": {"d1": 2, "d3": 1, "d2": 0, "d5": 1}}
    want = ir_measures.calc_aggregate([nDCG @ 10], qrels, run)[nDCG @ 10]
    official = ir_measures.calc_aggregate([nDCG @ 10], {"q1": {"d1": 2, "d3": 1, "d2": 0}}, run)[nDCG @ 10]
    line = re.search(r'<div class="rk-metrics">(.*?)</div>', html).group(1)
    assert f"nDCG@10 <b>{official:.3f}</b>" in line and f"→ <b>{want:.3f}</b>" in line
    assert want != official
    at.query_params["qrels"] = "official"
    at.run()
    assert "→" not in re.search(r'<div class="rk-metrics">(.*?)</div>', compact_columns(at)[0]).group(1)


def test_a_conflict_keeps_both_values_and_offers_to_save_ones_own(env):
    a = compare({}, judge="ann")
    b = compare({}, judge="ann")  # the same judge in a second tab
    judge(b, "bm25-flat", "d5", "0")  # B writes first; A still shows no judgement
    judge(a, "bm25-flat", "d5", "1", "the abstract says so")
    assert [j.grade for j in store_judgements(env)] == [0]  # A's write was refused, not applied
    assert 'data-note="the abstract says so"' in compact_columns(a)[0]  # nothing typed is lost: the note box gets it back
    warning = " ".join(w.value for w in a.warning)
    assert "d5" in warning and "0" in warning
    a.button(key="force_q1_d5").click().run()
    assert [(j.grade, j.note) for j in store_judgements(env)] == [(1, "the abstract says so")]
    from pathlib import Path

    from retrieval.beir import BeirDataset
    from retrieval.judgements import open_store

    ds = BeirDataset(Path(env["BEIR_DATA_DIR"]) / "tiny", "tiny")
    actions = [e.action for e in open_store().dataset(ds, "test").history("q1", "d5")]
    assert actions == ["set", "rejected", "set"]  # nothing lost: the refused value is in the history


def test_read_only_and_unreachable_stores_browse_and_say_why(env):
    import os

    compare({})  # the runs are built first: a read-only server builds nothing (a demo's cache is prepared)
    os.environ["RETRIEVAL_READONLY"] = "1"
    at = compare({})
    assert compact_columns(at) and "read-only" in compact_columns(at)[0]
    judge(at, "bm25-flat", "d5", "1")
    assert any("read-only" in w.value.replace("\\", "").lower() for w in at.warning)
    os.environ.pop("RETRIEVAL_READONLY")
    os.environ["RETRIEVAL_DB_URL"] = "postgresql://nobody@127.0.0.1:1/nothing"
    at = compare({"qrels": "merged"})
    html = compact_columns(at)[0]
    assert "rk-row" in html and "Judging is off" in html and "→" not in html  # browses; metrics official


def test_graded_badges_show_the_grade(env):
    html = compact_columns(compare({}))[0]
    assert "✓2</span>" in html and "✓1</span>" in html  # tiny's q1: d1 grade 2, d3 grade 1


def test_the_holes_panel_lists_unjudged_top_documents_and_drops_judged_ones(env):
    from .conftest import pick_choice

    at = compare({})
    pick_choice(at, "w_holes", True)
    holes_panel = [h for h in compact_columns(at) if 'data-spec="holes-panel"' in h]
    (panel,) = holes_panel
    listed = re.findall(r'data-docid="([^"]+)"><summary>', panel)
    shown = set()
    for html in compact_columns(at):
        if 'data-spec="holes-panel"' not in html:
            shown |= set(re.findall(r'data-docid="([^"]+)"><summary>', html))
    assert set(listed) == shown - {"d1", "d2", "d3"}  # q1's official qrels judge d1, d2, d3
    send_trigger(
        at,
        next(el.proto.id for el in at.main.get("bidi_component") if el.proto.id.endswith("column_holes-panel")),
        "judge",
        json.dumps({"docid": listed[0], "value": "0"}),
    )
    (panel,) = [h for h in compact_columns(at) if 'data-spec="holes-panel"' in h] or [""]
    assert listed[0] not in panel


def test_a_queue_steps_through_its_list_and_lives_in_the_url(env):
    from pages._queue import KEY

    at = compare({"queue": "lost:bm25-flat|bm25-multifield"})
    bar = next(json.loads(el.proto.json) for el in at.main.get("bidi_component") if el.proto.component_name == "rk_queue")
    assert "loses to" in bar["title"]
    at = compare({"queue": "variance", "systems": "bm25-flat,bm25-multifield"})
    element = next(el for el in at.main.get("bidi_component") if el.proto.component_name == "rk_queue")
    data = json.loads(element.proto.json)
    from pages import _queue
    from view import queues

    listed = _queue.qids("tiny", "test", queues.parse("variance"), ["bm25-flat", "bm25-multifield"])
    assert len(listed) >= 2 and element.proto.id.endswith(KEY)
    assert data["where"] == (
        f"{listed.index('q1') + 1} of {len(listed)}" if "q1" in listed else f"not in it ({len(listed)} queries)"
    )
    send_trigger(at, element.proto.id, "step", "next")
    assert at.query_params["qid"] == queues.step(listed, "q1", 1) and at.query_params["queue"] == "variance"


def test_the_queue_picker_opens_a_list_at_its_first_query_and_closes_it(env):
    from pages import _queue
    from view import queues

    from .conftest import choice, pick_choice

    at = compare({"systems": "bm25-flat,bm25-multifield"})
    picker = choice(at, "w_queue")
    labels = dict(picker["options"])
    assert picker["kind"] == "select" and picker["value"] == "" and picker["hide"] is True
    assert labels["variance"] == "Highest variance across the columns" and labels["judge"] == "Judging queue"
    assert labels[queues.Queue("lost", "bm25-flat", "bm25-multifield").text()] == "BM25 (multifield) loses to BM25 (flat)"
    pick_choice(at, "w_queue", "variance")
    listed = _queue.qids("tiny", "test", queues.parse("variance"), ["bm25-flat", "bm25-multifield"])
    assert at.query_params["queue"] == "variance" and at.query_params["qid"] == listed[0]
    assert choice(at, "w_queue")["value"] == "variance"
    pick_choice(at, "w_queue", "no such list")  # not an option: nothing happens
    assert at.query_params["queue"] == "variance"
    pick_choice(at, "w_queue", "")
    assert "queue" not in at.query_params


def test_export_is_a_switch_and_its_buttons_are_sent_only_when_on(env):
    from .conftest import pick_choice

    at = compare({"systems": "bm25-flat,bm25-multifield"})
    assert [b.label for b in at.get("download_button")] == []  # closed: nothing of it travels with each click
    pick_choice(at, "w_export", True)
    assert [b.label for b in at.get("download_button")] == ["HTML", "Markdown"]
    pick_choice(at, "w_export", False)
    assert [b.label for b in at.get("download_button")] == []


def test_the_baseline_is_chosen_in_a_column_and_moves_are_against_it(env):
    at = compare({"systems": "bm25-flat,bm25-multifield,rrf:bm25-flat+bm25-multifield"})
    assert 'class="rk-base"' in compact_columns(at)[0]  # the first column, by default
    send_trigger(at, column_id(at, "bm25-multifield"), "base", "")
    assert at.query_params["baseline"] == "bm25-multifield"
    cols = compact_columns(at)
    assert 'class="rk-base"' in cols[1] and 'class="rk-base"' not in cols[0]
    assert "against the baseline (BM25 (multifield)" in cols[2] and "against the baseline (BM25 (multifield)" in cols[0]


def test_the_view_exports_as_html_with_everything_escaped():
    from view import export

    col = export.ExportColumn(
        "BM25 <flat>",
        "bm25-flat",
        "nDCG@10 0.9",
        (export.ExportRow(1, "d5", "Unsafe <script>alert(1)</script>", 1.0, "unjudged", "ann: 1 (<b>not bold</b>)", ""),),
    )
    page = export.view_html("tiny", "test", "q1", "vitamin D", [col], [("ann", "<i>note</i>")])
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;not bold" in page and "&lt;i&gt;note" in page
    md = export.view_markdown("tiny", "test", "q1", "vitamin D", [col], [("ann", "a | b")])
    assert "| 1 |" in md and "a \\| b" in md
