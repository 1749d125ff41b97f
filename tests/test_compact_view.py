"""Compare's compact view (the default) and the view state the URL carries, headless (AppTest), plus the
display-text rules behind it (whole-word highlighting of real terms, no invisible characters in plain text)."""

from __future__ import annotations

import html
import re
import shutil

import pytest

from view import cards, text
from view.columns import Badge, OtherRank, RankedDoc

from .conftest import (
    choice,
    compact_columns,
    env_restored,
    pick_choice,
    query_header,
    query_picker,
    send_trigger,
    sidebar_select,
    systems_picker,
    write_tiny_beir,
)
from .test_app_compare import app, core_run


@pytest.fixture(scope="module")
def tiny_env(tiny_app_env):
    """The session's tiny BEIR folder and cache, applied for this module."""
    with env_restored(tiny_app_env):
        yield tiny_app_env


ROW = re.compile(r'<details class="rk-row (rk-[0-9a-f]+)" data-docid="([^"]*)"><summary><span class="rk-r">#(\d+)</span>')


def compact_rows(at) -> list[list[tuple[int, str, str]]]:
    """Per column: (rank, docid, css class) of each row, from the rows elements' HTML."""
    return [[(int(m[3]), html.unescape(m[2]), m[1]) for m in ROW.finditer(body)] for body in compact_columns(at)]


def test_compact_view_is_the_default_with_one_row_per_document_in_run_order(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield", "view": "compact"})
    del at.query_params["view"]  # no view in the URL: compact is the default
    at.run()
    assert not at.exception
    assert choice(at, "w_view")["value"] == "compact"
    assert at.query_params["view"] == "compact" and at.query_params["k"] == "10"
    cols = compact_rows(at)
    assert len(cols) == 2
    ds, flat = core_run(tiny_env, "tiny", "test", "bm25-flat")
    judged = ds.qrels("test").for_query("q1")
    head = query_header(at)  # the query's line above the columns, as text
    assert (head["label"], head["text"]) == ("Query q1:", ds.queries["q1"])
    relevant = sum(1 for g in judged.values() if g > 0)
    assert head["caption"].startswith(
        f"{len(judged)} judged document{'s' if len(judged) != 1 else ''}, {relevant} relevant · tiny / test"
    )
    top = flat.for_query("q1", 10)
    assert [(r, d) for r, d, _ in cols[0]] == list(zip(top["rank"].astype(int), top["docid"]))
    # The same document has the same class in both columns (the hover/selection link, drawn by the columns' script);
    # the page's style has no per-document rules, so it is the same for every query.
    classes = {d: c for col in cols for _, d, c in col}
    assert all(classes[d] == cards.doc_class(d) for d in classes)
    style = next(el.proto.body for el in at.get("html") if "<style>" in el.proto.body)
    assert ".rk-row.rk-hl" in style and not any(c in style for c in classes.values())
    # No Markdown cards in the compact view: each column is one element with its header, metric line (from
    # retrieval.evaluate), rows, the relevant documents it missed and the command that rebuilds its run.
    assert not [m for m in at.main.markdown if m.value.startswith("**#") or m.value.startswith("#### ")]
    from retrieval.evaluate import evaluate
    from retrieval.reproduce import cached_run_commands

    ds, _ = core_run(tiny_env, "tiny", "test", "bm25-flat")
    flat_html = compact_columns(at)[0]
    assert '<h4 class="rk-h">BM25 (flat)<span class="rk-base"' in flat_html and "bm25 · " in flat_html  # the baseline
    ev = evaluate(flat, ds.qrels("test")).query("q1")
    assert f"nDCG@10 <b>{ev['nDCG@10']:.3f}</b> · R@100 <b>{ev['R@100']:.3f}</b>" in flat_html
    from retrieval.cache import Cache

    commands = cached_run_commands(Cache(tiny_env["RETRIEVAL_CACHE_DIR"]), data_dir=tiny_env["BEIR_DATA_DIR"])
    command = commands[(commands["dataset"] == "tiny") & (commands["system"] == "bm25-flat")]["command"].iloc[-1]
    assert f'<pre class="rk-cmd">{html.escape(command)}</pre>' in flat_html
    # Relevant documents outside the top k are listed as missed (none: no list).
    ranks = flat.rank_lookup("q1")
    expected = sorted(d for d, g in ds.qrels("test").for_query("q1").items() if g > 0 and not (d in ranks and ranks[d] <= 10))
    listed = re.findall(r"<li>.*? · doc (\S+) · ", flat_html)
    assert sorted(html.unescape(d) for d in listed) == expected
    assert ('data-part="missed"' in flat_html) == bool(expected)


# A compact row's summary: rank, then the badge (class, label as its tooltip, glyph).
ROW_BADGE = re.compile(
    r'<details class="rk-row [^"]*" data-docid="([^"]*)"[^>]*><summary><span class="rk-r">#\d+</span>'
    r'<span class="rk-b (rk-[a-z]+)" title="([^"]*)">([^<]*)</span>'
)


def expected_compact_badge(grade: int | None, graded: bool = False) -> tuple[str, str, str]:
    """(class, label, glyph) of a row's official badge for a qrels grade: what a reader sees, written out here (not
    taken from view/cards.py), so a badge that says the opposite of the qrels fails. On a graded scale (grades above
    1) the tick carries the grade."""
    if grade is None:
        return "rk-unj", "official qrels: unjudged", "?"
    if grade > 0:
        return "rk-rel", f"official qrels: relevant ({grade})", f"✓{grade}" if graded else "✓"
    return "rk-non", "official qrels: not relevant", "✗"


def test_compact_badges_are_the_qrels(tmp_path, tiny_cache):
    """Every row's badge in the default (compact) view against the qrels: relevant ✓ with its grade, judged not
    relevant ✗, unjudged ?. The tiny fixture gains one judgement of grade 0 on a document BM25 ranks (q3, d6)."""
    root = tmp_path / "beir"
    folder = write_tiny_beir(root, "tiny")
    with open(folder / "qrels" / "test.tsv", "a", encoding="utf-8") as fh:
        fh.write("q3\td6\t0\r\n")
    env = {"BEIR_DATA_DIR": str(root), "RETRIEVAL_CACHE_DIR": str(tiny_cache.root)}
    seen = set()
    with env_restored(env):
        for qid in ("q1", "q3"):
            at = app(env, {"dataset": "tiny", "qid": qid, "systems": "bm25-flat,bm25-multifield", "view": "compact"})
            at.run()
            assert not at.exception
            ds, flat = core_run(env, "tiny", "test", "bm25-flat")
            judged = ds.qrels("test").for_query(qid)
            columns = compact_columns(at)
            assert len(columns) == 2
            for body in columns:
                rows = [(html.unescape(d), c, html.unescape(t), m) for d, c, t, m in ROW_BADGE.findall(body)]
                assert len(rows) == len(ROW.findall(body)) > 0  # every row has its badge
                for docid, cls, label, glyph in rows:
                    graded = max(ds.qrels("test").frame["relevance"]) > 1  # tiny's q1 has a grade 2
                    assert (cls, label, glyph) == expected_compact_badge(judged.get(docid), graded), (qid, docid)
                    seen.add(cls)
            assert [d for d, *_ in ROW_BADGE.findall(columns[0])] == list(flat.for_query(qid, 10)["docid"])
    assert seen == {"rk-rel", "rk-non", "rk-unj"}  # all three kinds were checked


def test_compact_rows_buttons_open_the_why_here_dialog_and_the_full_text(tiny_env, monkeypatch):
    """The rows' "Why here?" and "Full text" buttons come back as the rows element's trigger values (a real click
    is in tests/test_browser.py); here their callbacks get those values as Streamlit hands them over."""
    from pages import _rows

    monkeypatch.setattr(cards, "SNIPPET_CHARS", 20)  # the tiny documents are short: make snippets leave text out
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield", "view": "compact"})
    at.run()
    assert not at.exception and not at.tabs
    first = compact_rows(at)[0][0][1]  # the top document of the first column
    assert (
        "rk-full" not in compact_columns(at)[0] and 'data-act="full"' in compact_columns(at)[0]
    )  # no full text is sent until asked for
    # "Full text": the callback records the document for this view, and the next run sends its row open with it.
    from retrieval.beir import open_dataset

    view = _rows.view_id("tiny", "q1", open_dataset("tiny", tiny_env["BEIR_DATA_DIR"], download=False).queries["q1"])
    state = {_rows.column_key("bm25-flat"): {"full": first}}
    with monkeypatch.context() as m:
        m.setattr(_rows.st, "session_state", state)
        _rows._on_full(_rows.column_key("bm25-flat"), view, "bm25-flat")
        assert _rows.full_docs(view, "bm25-flat") == {first}
        assert _rows.full_docs(view + "x", "bm25-flat") == set() and _rows.full_docs(view, "bm25-multifield") == set()
    at.session_state["_full_docs"] = state["_full_docs"]
    at.run()
    body = compact_columns(at)[0]
    row = body[body.index(f'data-docid="{html.escape(first)}"') :].split("</details>")[0]
    assert " open><summary>" in row and '<div class="rk-full">' in row and 'data-act="full"' not in row
    assert "rk-full" not in compact_columns(at)[1]  # only the column whose button was clicked
    # "Why here?": the callback opens the document's dialog with every column's explanation.
    picked = []
    with monkeypatch.context() as m:
        m.setattr(_rows.st, "session_state", {_rows.column_key("bm25-flat"): {"why": first}})
        _rows._on_why(_rows.column_key("bm25-flat"), picked.append)
        _rows._on_why("column_other", picked.append)  # no trigger value: nothing opens
    assert picked == [first]


def test_compact_rows_escape_document_text_and_show_moves():
    doc = RankedDoc(
        2, 'd"<x>', 1.5, Badge("relevant (1)", "relevant", 1), (OtherRank("left", 5, 100), OtherRank("far", None, 100))
    )
    row = cards.compact_row_html(
        doc, "<script>alert(1)</script> vitamin", "www.x.org :smile: vitamin D", "vitamin", {"left": "L"}, "left"
    )
    assert "<script>" not in row and "&lt;script&gt;alert(1)&lt;/script&gt;" in row
    assert 'data-docid="d&quot;&lt;x&gt;"' in row
    assert "▲3" in row and "rk-up" in row and "<mark>vitamin</mark>" in row
    assert "\u2060" not in row  # plain HTML text: nothing invisible to copy
    assert cards.move_label(4, None) == ("new", "new")


def test_compact_rows_send_the_full_text_only_when_asked_and_only_when_the_snippet_cut_it():
    doc = RankedDoc(1, "d{1}", 2.0, Badge("unjudged", "unjudged", None), ())
    long_body = "vitamin D and bone. " * 40 + "<b>the end</b>"
    closed = cards.compact_row_html(doc, "T", long_body, "vitamin", {}, None)
    assert 'data-act="full" data-docid="d{1}"' in closed and 'data-act="why"' in closed
    assert "rk-full" not in closed and "the end" not in closed and " open>" not in closed
    opened = cards.compact_row_html(doc, "T", long_body, "vitamin", {}, None, full=True)
    assert " open><summary>" in opened and 'data-act="full"' not in opened
    assert (
        "&lt;b&gt;the end&lt;/b&gt;</p></div>" in opened and opened.count("<mark>vitamin</mark>") == 40
    )  # the whole text, no snippet beside it
    short = cards.compact_row_html(doc, "T", "vitamin D", "vitamin", {}, None, full=True)
    assert 'data-act="full"' not in short and "rk-full" not in short and " open>" not in short  # the snippet is all


def test_compact_column_pieces_are_escaped_html():
    from view.columns import MissedDoc

    missed = cards.missed_html([MissedDoc("d<1>", 2, 14), MissedDoc("d2", 1, None)], {"d<1>": "A <b>title</b>"}, 1000, 10)
    assert "Relevant documents missed (2 not in the top 10)" in missed and "<b>title" not in missed
    assert "doc d&lt;1&gt; · #14 · A &lt;b&gt;title&lt;/b&gt;" in missed and "doc d2 · not in top 1000" in missed
    assert cards.missed_html([], {}, 1000, 10) == ""
    assert cards.metrics_html({}, ["nDCG@10"]).startswith("<i>not evaluated")
    assert cards.metrics_html({"nDCG@10": 0.5, "R@100": 1.0}, ["nDCG@10", "R@100"], 'a "tip"') == (
        'nDCG@10 <b>0.500</b> · R@100 <b>1.000</b> <span class="rk-help" title="a &quot;tip&quot;">?</span>'
    )
    repro = cards.reproduce_html("python -m retrieval run --dataset 'a&b'", "<note>")
    assert "python -m retrieval run --dataset &#x27;a&amp;b&#x27;</pre>" in repro and "&lt;note&gt;" in repro
    assert "<pre" not in cards.reproduce_html(None, "An uploaded run")
    col = cards.board_column_html('x"<y>', "<Name>", "cap<", "", "", "", "")
    assert 'data-spec="x&quot;&lt;y&gt;"' in col and "&lt;Name&gt;</h4>" in col and "cap&lt;</div>" in col


def test_url_carries_documents_per_column_view_mode_and_free_text(tiny_env):
    at = app(
        tiny_env,
        {
            "dataset": "tiny",
            "qid": "q1",
            "systems": "bm25-flat",
            "k": "5",
            "view": "cards",
            "mode": "free",
            "text": "coffee heart",
        },
    )
    at.run()
    assert not at.exception
    assert choice(at, "w_k")["value"] == "5" and choice(at, "w_view")["value"] == "cards"
    assert choice(at, "w_mode")["value"] == "free" and at.text_input(key="w_live").value == "coffee heart"
    at.text_input(key="w_live").input("vitamin").run()
    pick_choice(at, "w_k", 20)
    assert at.query_params["text"] == "vitamin" and at.query_params["k"] == "20" and at.query_params["mode"] == "free"


def test_compare_controls_show_the_view_and_a_pick_or_a_switch_becomes_it(tiny_env):
    """pages/_choice.py: documents per column, view and query mode are radio rows showing the URL's view; a pick
    comes back as a trigger value and becomes the view (an option it does not have is ignored); a toggle is off
    at first, a switch opens its panel and stays for the session (a value that is not a boolean is ignored)."""
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield", "view": "compact", "k": "20"})
    at.run()
    k = choice(at, "w_k")
    assert k["kind"] == "segmented" and k["label"] == "Documents per column" and k["value"] == "20"
    assert [o for o, _ in k["options"]] == ["5", "10", "20", "50", "100"]
    assert choice(at, "w_mode")["options"] == [["judged", "Judged query"], ["free", "Free text"]]
    assert choice(at, "w_view")["options"] == [["compact", "Compact"], ["cards", "Cards"]]
    before = [len(col) for col in compact_rows(at)]
    pick_choice(at, "w_k", 7)  # not an option
    assert not at.exception and at.query_params["k"] == "20" and choice(at, "w_k")["value"] == "20"
    pick_choice(at, "w_k", 5)
    assert at.query_params["k"] == "5" and choice(at, "w_k")["value"] == "5"
    assert [len(col) for col in compact_rows(at)] == [min(n, 5) for n in before]
    pick_choice(at, "w_view", "cards")
    assert at.query_params["view"] == "cards" and choice(at, "w_view")["value"] == "cards"
    contrast = choice(at, "w_contrast")
    assert contrast["kind"] == "toggle" and contrast["value"] is False and "nDCG@10 difference" in contrast["help"]
    assert not [s for s in at.selectbox if s.key == "w_ca"]
    send_trigger(at, contrast["id"], "set", "yes")  # not a boolean
    assert choice(at, "w_contrast")["value"] is False
    pick_choice(at, "w_contrast", True)
    assert choice(at, "w_contrast")["value"] is True and [s for s in at.selectbox if s.key == "w_ca"]
    at.run()
    assert choice(at, "w_contrast")["value"] is True and choice(at, "w_ladder")["value"] is False


def test_sidebar_dataset_and_split_pickers_show_the_view_and_a_pick_becomes_the_urls(tmp_path, tiny_cache):
    """pages/_choice.py: a native select per choice, its options the local datasets and the dataset's splits; a pick
    comes back as a trigger value and becomes the view (and the URL); a value that is not an option is ignored."""
    root = tmp_path / "beir"
    write_tiny_beir(root, "tiny")
    other = write_tiny_beir(root, "tiny2")
    shutil.copy(other / "qrels" / "test.tsv", other / "qrels" / "dev.tsv")
    env = {"BEIR_DATA_DIR": str(root), "RETRIEVAL_CACHE_DIR": str(tiny_cache.root)}
    with env_restored(env):
        at = app(env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat", "view": "compact"})
        at.run()
        assert not at.exception
        ds = sidebar_select(at, "Dataset")
        assert (ds["options"], ds["value"]) == ([["tiny", "tiny"], ["tiny2", "tiny2"]], "tiny")
        assert (sidebar_select(at, "Split")["options"], sidebar_select(at, "Split")["value"]) == ([["test", "test"]], "test")
        send_trigger(at, ds["id"], "pick", "tiny2")
        assert not at.exception and at.query_params["dataset"] == "tiny2"
        split = sidebar_select(at, "Split")
        assert (split["options"], split["value"]) == ([["dev", "dev"], ["test", "test"]], "test")
        assert sidebar_select(at, "Dataset")["value"] == "tiny2" and len(compact_columns(at)) == 1
        send_trigger(at, split["id"], "pick", "dev")
        assert at.query_params["split"] == "dev" and sidebar_select(at, "Split")["value"] == "dev"
        send_trigger(at, split["id"], "pick", "train")  # not one of the options: nothing changes
        assert not at.exception and at.query_params["split"] == "dev" and sidebar_select(at, "Split")["value"] == "dev"


def test_query_picker_sends_every_option_once_per_split_and_hands_a_pick_to_python(tiny_env, monkeypatch):
    """The options are their own element, the same on every rerun of a split (Streamlit's message cache then sends
    only a reference); the box says which query is on view; a pick comes back as the box's trigger value (the real
    typing and clicking is in tests/test_browser.py)."""
    from pages import _query

    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat", "view": "compact"})
    at.run()
    first = query_picker(at)
    assert (
        first["qid"] == "q1"
        and first["label"].startswith("q1 · ")
        and [o[0] for o in first["options"]] == ["q1", "q2", "q3", "q4"]
    )
    at.query_params["qid"] = "q3"
    at.run()
    again = query_picker(at)
    assert again["qid"] == "q3" and again["options"] == first["options"] and again["id"] == first["id"]
    other = _query.options_data(["q1", "q2"], {"q1": "a  b\nc", "q2": "d"})
    assert other["options"] == [["q1", "a b c"], ["q2", "d"]] and other["id"] != first["id"]
    picked = []
    with monkeypatch.context() as m:
        m.setattr(_query.st, "session_state", {_query.KEY: {"pick": "q2"}})
        _query._on_pick(picked.append)
        m.setattr(_query.st, "session_state", {_query.KEY: {}})
        _query._on_pick(picked.append)  # no trigger value: nothing changes
    assert picked == ["q2"]


def test_a_runs_remembered_view_reaches_the_url_in_one_write(monkeypatch):
    """Each URL write is a message and a history.pushState in the browser: a page's run (and a fragment's rerun)
    writes once, at its end; values remembered before are read back in the meantime."""
    import types

    from pages import _state as state

    class Params(dict):
        writes = 0

        def update(self, values):
            Params.writes += 1
            super().update(values)

    url = Params(mode="judged", text="old words")
    monkeypatch.setattr(state, "st", types.SimpleNamespace(query_params=url, session_state={}))
    with state.url_batch():
        state.remember(dataset="scifact", split="test", mode="judged")
        state.remember(systems=["bm25-flat", "bm25-multifield"], text="")
        with state.url_batch():  # a fragment drawn by the page: the page's block writes
            state.remember(qid="3", k=10)
        assert Params.writes == 0 and url["text"] == "old words"
        v = state.view()
        assert (v["qid"], v["k"], v["systems"], v["text"]) == ("3", 10, ["bm25-flat", "bm25-multifield"], "")
    assert Params.writes == 1 and "text" not in url
    assert url == {
        "mode": "judged",
        "dataset": "scifact",
        "split": "test",
        "systems": "bm25-flat,bm25-multifield",
        "qid": "3",
        "k": "10",
    }
    with state.url_batch():
        state.remember(qid="5")
        state.flush_url()  # what state.rerun does before st.rerun, which starts from the URL as it is
        assert url["qid"] == "5" and Params.writes == 2
        state.remember(qid="5", k=10)  # nothing new
    assert Params.writes == 2
    state.remember(k=20)  # outside a run's block (a widget's callback): written at once
    assert url["k"] == "20" and Params.writes == 3


def test_random_is_one_script_run_and_moves_the_url(tiny_env):
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat"})
    at.run()
    seen = set()
    for _ in range(6):
        at.button[[b.label for b in at.button].index("Random")].click().run()
        assert not at.exception
        seen.add(at.query_params["qid"])
        assert query_picker(at)["qid"] == at.query_params["qid"]
    assert len(seen) > 1


@pytest.mark.parametrize(
    "query, doc, marked",
    [
        ("vitamin B 3", "Vitamin B 3 and B12 in 0.3 mg", ["Vitamin"]),
        ("p53 mutations", "The p53 gene; p5 and mutation", ["p53", "mutation"]),
        ("T cell", "T cells and cell walls", ["cells", "cell"]),
    ],
)
def test_highlighting_marks_whole_words_of_two_or_more_characters(query, doc, marked):
    assert [s.text for s in text.highlight(doc, text.query_terms(query)) if s.hit] == marked


def test_escaping_adds_no_invisible_characters_to_ordinary_text():
    plain = "IL-6: 3.5 ng/ml (p < 0.05), e.g. a.b; mail me @ home"
    assert "\u2060" not in text.escape_markdown(plain)
    # ...but still breaks the patterns Streamlit would turn into emoji or links.
    for risky in (":smile:", "www.example.com", "http://x.org", "a@b.org"):
        assert "\u2060" in text.escape_markdown(risky)


def test_size_ladder_opens_one_column_per_size(tiny_env):
    from retrieval.series import ladders
    from retrieval.systems import parse_system

    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat"})
    at.run()
    series, specs = next(iter(ladders().items()))
    assert not [b for b in at.button if (b.key or "").startswith("ladder_")]  # nothing drawn until opened
    pick_choice(at, "w_ladder", True)
    at.button(key=f"ladder_{series}").click().run()
    assert not at.exception
    # A reranker ladder keeps its first stage as the left column (the baseline); at most five columns.
    first = parse_system(specs[0]).first_stage
    columns = ([first.spec] if first is not None else []) + specs
    assert systems_picker(at)["chosen"] == columns[:5]
    assert at.query_params["systems"] == ",".join(columns[:5]) and at.query_params["baseline"] == columns[0]
    # Every size has its column, whether or not its weights are here (a missing one says so in one line).
    headers = [m.value for m in at.main.markdown if m.value.startswith(("#### ", "##### "))]
    assert len(headers) + len(compact_columns(at)) == len(columns[:5])
    missing = [c for c in at.main.caption if "Weights not here" in c.value]
    assert len(headers) == len(missing)


def test_ladders_are_registry_series_in_parameter_order():
    from retrieval.neural.registry import registry
    from retrieval.series import ladders

    found = ladders()
    assert ["monot5:small", "monot5:base", "monot5:large", "monot5:3b"] in found.values()
    for specs in found.values():
        params = [registry()[s].params_millions for s in specs]
        assert len(specs) >= 2 and params == sorted(params)
