"""The Compare page, headless (AppTest), on the tiny fixture and on real SciFact.

Expected rankings come from the core (``get_run`` over the same cache), expected grades from the
qrels, so the page is checked against what the contract says, never against hard-coded output
(except facts of the dataset, such as SciFact query 1's judged document).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import (
    beir_root,
    choose_systems,
    env_restored,
    needs_scifact,
    pick_choice,
    query_header,
    query_picker,
    sidebar_select,
    systems_picker,
)

ROOT = Path(__file__).resolve().parent.parent
REAL_BEIR = beir_root()  # read before any fixture points BEIR_DATA_DIR elsewhere
COMPARE = str(ROOT / "pages" / "compare.py")
HEADER = re.compile(r"^#{4,5} (?P<name>.+)$")  # ##### for a column without a run
CARD = re.compile(
    r"^\*\*#(?P<rank>\d+)\*\* · doc (?P<docid>\S+) · score (?P<score>-?[\d.]+)(?: · :(?P<color>\w+)-badge\[:material/\w+: (?P<badge>[^\]]+)\])?"
)
MISSED = re.compile(
    r"^:(?P<color>\w+)-badge\[:material/\w+: (?P<badge>[^\]]+)\] doc (?P<docid>\S+) · (?P<where>#\d+|not in top \d+)"
)


def unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md).replace("\u2060", "")


def columns(at) -> dict[str, dict]:
    """Per system column (by its header): cards as (rank, docid, score, badge) and missed documents."""
    out: dict[str, dict] = {}
    current = None
    for md in at.main.markdown:
        value = md.value
        if m := HEADER.match(value):
            current = out.setdefault(unescape(m["name"]), {"cards": [], "missed": []})
        elif current is not None and (m := CARD.match(value)):
            current["cards"].append((int(m["rank"]), unescape(m["docid"]), float(m["score"]), m["badge"]))
        elif current is not None and (m := MISSED.match(value)):
            current["missed"].append((unescape(m["docid"]), m["badge"], m["where"]))
    return out


def expected_badge(grade: int | None) -> str:
    if grade is None:
        return "unjudged"
    return f"relevant ({grade})" if grade > 0 else "not relevant"


def app(env: dict[str, str], query_params: dict[str, str] | None = None, page: str = COMPARE):
    from streamlit.testing.v1 import AppTest

    os.environ.update(env)
    at = AppTest.from_file(page, default_timeout=300)
    # These tests read the card view's Markdown; the compact view (the default) has its own tests below.
    for k, v in {"view": "cards", **(query_params or {})}.items():
        at.query_params[k] = v
    return at


@pytest.fixture(scope="module")
def tiny_env(tiny_app_env):
    """The session's tiny BEIR folder and cache (BM25 indexed once per session), applied for this module."""
    with env_restored(tiny_app_env):
        yield tiny_app_env


def core_run(env: dict[str, str], dataset: str, split: str, spec: str):
    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.runner import get_run

    ds = open_dataset(dataset, env["BEIR_DATA_DIR"], download=False)
    return ds, get_run(ds, split, spec, cache=Cache(env["RETRIEVAL_CACHE_DIR"]), progress=False)


def check_column(col: dict, run, qrels_for_query: dict[str, int], qid: str, k: int = 10) -> None:
    """The column shows the run's own top k (rank, docid, score) with badges from the qrels."""
    top = run.for_query(qid, k)
    assert [(r, d) for r, d, _, _ in col["cards"]] == list(zip(top["rank"].astype(int), top["docid"]))
    assert [s for _, _, s, _ in col["cards"]] == pytest.approx(top["score"].round(4).tolist(), abs=1e-4)
    assert [b for _, _, _, b in col["cards"]] == [expected_badge(qrels_for_query.get(d)) for d in top["docid"]]


# ---- tiny fixture -----------------------------------------------------------------------------------


def test_compare_tiny_shows_run_ranks_and_qrels_badges(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
    at.run()
    assert not at.exception
    ds, flat = core_run(tiny_env, "tiny", "test", "bm25-flat")
    _, multi = core_run(tiny_env, "tiny", "test", "bm25-multifield")
    cols = columns(at)
    assert list(cols) == ["BM25 (flat)", "BM25 (multifield)"]
    judged = ds.qrels("test").for_query("q1")
    check_column(cols["BM25 (flat)"], flat, judged, "q1")
    check_column(cols["BM25 (multifield)"], multi, judged, "q1")
    badges = {d: b for _, d, _, b in cols["BM25 (flat)"]["cards"]}
    # Known documents of the fixture: d1 is graded 2, d2 is judged 0, d5 is not judged for q1.
    assert badges["d1"] == "relevant (2)"
    assert badges.get("d5") == "unjudged"
    if "d2" in badges:
        assert badges["d2"] == "not relevant"
    # Per-query metrics come from retrieval.evaluate.
    from retrieval.evaluate import evaluate

    ev = evaluate(flat, ds.qrels("test")).query("q1")
    metric_lines = [m.value for m in at.main.markdown if m.value.startswith("nDCG@10 **")]
    assert (
        metric_lines[0] == f"nDCG@10 **{ev['nDCG@10']:.3f}** · R@100 **{ev['R@100']:.3f}** · Judged@10 **{ev['Judged@10']:.3f}**"
    )
    # The page's widgets show the URL's view, and the URL keeps it.
    assert sidebar_select(at, "Dataset")["value"] == "tiny" and query_picker(at)["qid"] == "q1"
    assert systems_picker(at)["chosen"] == ["bm25-flat", "bm25-multifield"]
    assert at.query_params["systems"] == "bm25-flat,bm25-multifield"


def test_compare_systems_picker_lists_every_system_and_its_change_sets_the_columns(tiny_env):
    """pages/_systems.py: every system is an option, those without weights or index here are marked off; a change
    (the element's trigger value) becomes the view: known systems only, no repeats, four at most."""
    from pages import _cached as data

    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
    at.run()
    picker = systems_picker(at)
    specs = [o[0] for o in picker["options"]]
    assert specs == data.system_options("tiny") and picker["max"] == 4 and picker["title"] == "Systems (2 to 4)"
    assert [o[1] for o in picker["options"]] == [data.display_name(s) for s in specs]
    assert picker["off"] == [s for s in specs if not data.system_info(s)[1]]
    choose_systems(at, ["bm25-multifield", "dense:nope", "bm25-multifield", "bm25-flat"])
    assert not at.exception
    assert systems_picker(at)["chosen"] == ["bm25-multifield", "bm25-flat"]
    assert at.query_params["systems"] == "bm25-multifield,bm25-flat"
    assert list(columns(at)) == ["BM25 (multifield)", "BM25 (flat)"]
    choose_systems(at, specs[:6])
    assert systems_picker(at)["chosen"] == specs[:4] and len(columns(at)) == 4


def test_compare_tiny_changing_the_query_updates_the_url_and_lists_missed_documents(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
    at.run()
    at.query_params["qid"] = "q4"  # what a pick in the picker does (state.on_pick); a real one: tests/test_browser.py
    at.run()
    assert not at.exception
    assert at.query_params["qid"] == "q4" and query_picker(at)["qid"] == "q4"
    cols = columns(at)
    ds, flat = core_run(tiny_env, "tiny", "test", "bm25-flat")
    check_column(cols["BM25 (flat)"], flat, ds.qrels("test").for_query("q4"), "q4")
    # With one document per column, the relevant documents outside the top 1 are listed as missed.
    pick_choice(at, "w_k", 5)
    at.query_params["qid"] = "q2"
    at.run()
    cols = columns(at)
    ranks = flat.rank_lookup("q2")
    expected = sorted((d for d, g in ds.qrels("test").for_query("q2").items() if g > 0 and not (d in ranks and ranks[d] <= 5)))
    assert sorted(d for d, _, _ in cols["BM25 (flat)"]["missed"]) == expected


def test_compare_tiny_values_from_the_url_are_shown_as_text(tiny_env):
    hostile = "[x](javascript:alert(1))**<b>"
    at = app(tiny_env, {"dataset": "tiny", "qid": hostile, "systems": "bm25-flat"})
    at.run()
    assert not at.exception
    warning = next(w.value for w in at.main.warning if "is not in" in w.value)
    assert "\\[x\\]\\(javascript" in warning and "\\*\\*\\<b\\>" in warning
    assert query_picker(at)["qid"] == "q1" and at.query_params["qid"] == "q1"  # falls back to a real query


def test_compare_tiny_random_picks_a_judged_query(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat"})
    at.run()
    seen = set()
    for _ in range(8):
        at.button[[b.label for b in at.button].index("Random")].click().run()
        assert not at.exception
        seen.add(query_picker(at)["qid"])
    assert seen <= {"q1", "q2", "q3", "q4"} and len(seen) > 1


def test_compare_tiny_unavailable_systems_say_why(tiny_env):
    from pages import _cached
    from retrieval.errors import UnknownSystem
    from retrieval.systems import parse_system

    # The app keeps a system's availability for the process's life (a server's environment does not change); an
    # earlier test of this process may have resolved it under another HF_HUB_OFFLINE: resolve it again under this one.
    _cached._choice.cache_clear()
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,monot5:3b"})
    at.run()
    assert not at.exception
    try:
        ok, message = parse_system("monot5:3b").availability()
    except UnknownSystem as exc:
        ok, message = False, f"not available: {exc}"
    if ok:
        pytest.skip("monoT5-3B weights are on this machine")
    # one short line with how to fill the column; the reason in its tooltip
    lines = [c for c in at.main.caption if "Weights not here" in c.value]
    assert len(lines) == 1 and "import-run" in lines[0].value and message in lines[0].proto.help


def test_compare_tiny_free_text_runs_bm25_live_without_badges(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "systems": "bm25-flat"})
    at.run()
    pick_choice(at, "w_mode", "free")
    at.text_input(key="w_live").input("coffee heart").run()
    assert not at.exception
    # the header names the typed query (as text) where a dataset query shows its id and judgements
    head = query_header(at)
    assert (head["label"], head["text"]) == ("Typed query:", "coffee heart") and "no judgements" in head["caption"]
    cols = columns(at)
    cards = cols["BM25 (flat)"]["cards"]
    assert cards and cards[0][1] in {"d2", "d6"} and all(b is None for *_, b in cards)


def test_compare_tiny_upload_adds_a_column_and_reports_bad_lines(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat"})
    at.run()
    pick_choice(at, "w_upload_open", True)
    at.file_uploader(key="w_upload").upload("broken.trec", b"q1 Q0 d1 1 2.5 tag\nq1 Q0 d3 2 oops tag\n").run()
    assert not at.exception
    errors = [unescape(e.value) for e in at.error]
    assert any("broken.trec, line 2" in e and "not a number" in e for e in errors), errors
    at.file_uploader(key="w_upload").upload("mine.trec", b"q1 Q0 d3 1 5.0 mine\nq1 Q0 d1 2 4.0 mine\nq1 Q0 d4 3 4.0 mine\n").run()
    assert not at.exception
    assert "upload:mine" in systems_picker(at)["chosen"]
    cols = columns(at)
    # Ties (d1 and d4 at 4.0) follow the tie rule: docid descending puts d4 first.
    assert [(r, d, b) for r, d, _, b in cols["mine (uploaded)"]["cards"]] == [
        (1, "d3", "relevant (1)"),
        (2, "d4", "unjudged"),
        (3, "d1", "relevant (2)"),
    ]


def test_compare_tiny_opens_a_document_in_full(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat"})
    at.run()
    at.button(key="open_bm25-flat_d5").click().run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "A document with <img src=x onerror=alert(2)> markup about vitamin D." in texts


# ---- real SciFact -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scifact_env(session_cache):
    if not (REAL_BEIR / "scifact" / "corpus.jsonl").is_file():
        pytest.skip(f"real BEIR SciFact not found at {REAL_BEIR}")
    env = {"BEIR_DATA_DIR": str(REAL_BEIR), "RETRIEVAL_CACHE_DIR": str(session_cache.root)}
    with env_restored(env):
        yield env


def dense_spec_if_available(env) -> str | None:
    """The MiniLM dense system when the neural module is here and its weights are installed."""
    from retrieval.errors import RetrievalError
    from retrieval.systems import parse_system

    try:
        system = parse_system("dense:all-MiniLM-L6-v2")
    except RetrievalError:
        return None
    return "dense:all-MiniLM-L6-v2" if system.availability()[0] else None


@needs_scifact
def test_compare_scifact_query_1_and_3_badges(scifact_env):
    specs = ["bm25-flat", "bm25-multifield"]
    dense = dense_spec_if_available(scifact_env)
    if dense:
        specs.append(dense)
    runs = {s: core_run(scifact_env, "scifact", "test", s)[1] for s in specs}  # built once into the session cache
    ds = core_run(scifact_env, "scifact", "test", "bm25-flat")[0]
    qrels = ds.qrels("test")
    at = app(scifact_env, {"qid": "1", "systems": ",".join(specs)})  # dataset and split default to scifact/test
    at.run()
    assert not at.exception
    cols = columns(at)
    assert len(cols) == len(specs)
    for spec, (name, col) in zip(specs, cols.items()):
        check_column(col, runs[spec], qrels.for_query("1"), "1")
        rank = runs[spec].rank_lookup("1").get("31715818")
        if rank is None or rank > 10:
            where = f"#{rank}" if rank else f"not in top {runs[spec].depth()}"
            assert ("31715818", "relevant (1)", where) in col["missed"], (name, col["missed"])
    # Query 3: BM25 ranks its relevant document 14717500 in the top 10; the badge says so.
    at.query_params["qid"] = "3"
    at.run()
    cols = columns(at)
    flat_cards = cols["BM25 (flat)"]["cards"]
    check_column(cols["BM25 (flat)"], runs["bm25-flat"], qrels.for_query("3"), "3")
    assert ("14717500", "relevant (1)") in [(d, b) for _, d, _, b in flat_cards]
    # Each card lists the document's rank in the other columns, from their runs.
    other = runs["bm25-multifield"].rank_lookup("3")
    captions = [c.value for c in at.main.caption if c.value.startswith("Other columns:")]
    first = flat_cards[0][1]
    want = f"BM25 \\(multifield\\) #{other[first]}" if first in other else "BM25 \\(multifield\\) not in top"
    assert want in captions[0]
    if dense:
        assert any("MiniLM" in name for name in cols)
    # "Most contrasting": the largest nDCG@10 difference between A and B, one click away.
    from retrieval import stats
    from retrieval.evaluate import evaluate

    cmp = stats.compare_pair(evaluate(runs[specs[0]], qrels), evaluate(runs[specs[1]], qrels), with_tests=False)
    top_qid = str(cmp.contrasting(1).index[0])
    pick_choice(at, "w_contrast", True)
    at.selectbox(key="w_contrast_pick").set_value(top_qid).run()  # one compact list, not twelve buttons
    assert not at.exception
    assert query_picker(at)["qid"] == top_qid and at.query_params["qid"] == top_qid
