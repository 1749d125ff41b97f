"""Failure inspection in the app (AppTest): the document dialog's "why here", ranking agreement on
Failure cases, reproduce commands and model fetching on Data & runs, upload feedback.

Expected values come from ``retrieval`` (explanations, agreement, commands) over the same cache.
"""

from __future__ import annotations

import re

import pytest

from .conftest import env_restored, page_tables, pick_choice, table_row_link
from .test_app_compare import app, core_run, unescape
from .test_app_pages import PAGES, select_dataframe_row


@pytest.fixture(scope="module")
def tiny_env(tiny_app_env):
    with env_restored(tiny_app_env):
        yield tiny_app_env


def md_values(at) -> list[str]:
    return [m.value for m in at.markdown]


def test_document_dialog_explains_bm25_with_parts_that_sum_to_the_score(tiny_env):
    from retrieval.explain.bm25 import explain_bm25
    from retrieval.systems import parse_system

    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
    at.run()
    at.session_state["doc_tabs_d5"] = f"Why here: {parse_system('bm25-flat').display_name}"  # the tab a click opens
    at.button(key="open_bm25-flat_d5").click().run()
    assert not at.exception

    ds, run = core_run(tiny_env, "tiny", "test", "bm25-flat")
    _, multi = core_run(tiny_env, "tiny", "test", "bm25-multifield")
    shown = ["bm25-flat"] + (["bm25-multifield"] if "d5" in set(multi.for_query("q1", 10)["docid"]) else [])
    assert [t.label for t in at.tabs] == ["Text", *(f"Why here: {parse_system(s).display_name}" for s in shown)]
    expected = explain_bm25(ds, parse_system("bm25-flat"), ds.queries["q1"], "d5", run=run, qid="q1")
    headline = next(unescape(v) for v in md_values(at) if "BM25 score" in v and "the run's score" in v)
    total = float(re.search(r"BM25 score (-?[\d.]+)", headline).group(1))
    assert total == pytest.approx(expected.total, abs=1e-4) == pytest.approx(expected.run_score, abs=1e-4)
    tables = [d.value for d in at.dataframe if "part" in d.value.columns]
    assert tables and list(tables[0].columns) == ["term", "field", "tf", "df", "idf", "norm", "part", "share"]
    assert tables[0]["part"].sum() == pytest.approx(total, abs=1e-4)
    # the document's hostile markup stays text inside the highlighting (escaped, never HTML)
    body = [v for v in md_values(at) if "background[" in v]
    assert body and any("\\<img" in v for v in body)
    assert not any(re.search(r"(?<!\\)[<>]", v) for v in body)


def test_why_here_on_a_typed_query_attaches_no_judged_querys_run_score(tiny_env):
    """A typed query's document is explained for that text alone: the judged query last on view (q1, in the URL)
    must not lend it q1's run score and rank."""
    from retrieval.beir import load_queries

    text = load_queries(tiny_env["BEIR_DATA_DIR"] + "/tiny/queries.jsonl")["q1"]
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
    at.run()  # judged first: q1's runs are built, so there is a run score to lend
    pick_choice(at, "w_mode", "free")
    at.text_input(key="w_live").set_value(text).run()
    opens = [b for b in at.button if (b.key or "").startswith("open_bm25-flat_")]
    assert opens, "the typed query found no document"
    at.session_state[f"doc_tabs_{opens[0].key.removeprefix('open_bm25-flat_')}"] = "Why here: BM25 (flat)"
    opens[0].click().run()
    assert not at.exception
    headline = next(unescape(v) for v in md_values(at) if "BM25 score" in v)
    assert "the run's score" not in headline


def test_failures_shows_agreement_and_most_disagreeing_queries_open_compare(tiny_env):
    from retrieval import agreement

    ds, flat = core_run(tiny_env, "tiny", "test", "bm25-flat")
    _, multi = core_run(tiny_env, "tiny", "test", "bm25-multifield")
    expected = agreement.agreement_frame(flat, multi, ds.qrels("test").qids)
    at = app(tiny_env, {"dataset": "tiny", "systems": "bm25-flat,bm25-multifield"}, PAGES["failures"])
    at.run()
    assert not at.exception
    assert any(s.value.startswith("Ranking agreement") and f"({len(expected)} queries)" in s.value for s in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["median RBO (p=0.9)"] == f"{expected['rbo'].median():.3f}"
    assert metrics["queries with disjoint top 10"] == str(int((expected["overlap@10"] == 0).sum()))
    tables = page_tables(at)
    table = tables["w_f_disagree"]["frame"]
    want = agreement.most_disagreeing(expected, 15)
    assert list(table["qid"]) == list(want["qid"]) and table["rbo"].tolist() == pytest.approx(want["rbo"].tolist())
    assert list(table["rbo"]) == sorted(table["rbo"])
    assert [row[1] for row in tables["w_f_disagree"]["cells"]] == [f"{x:.3f}" for x in want["rbo"]]  # shown as formatted
    # the wins tables show their numbers first: qid, B − A, A, B, then the query text (wide: it gives way)
    for key in ("w_f_top_a", "w_f_top_b"):
        cols = tables[key]["cols"]
        assert [c["label"] for c in cols] == ["qid", "B − A", "A", "B", "query"]
        assert [c["num"] for c in cols] == [False, True, True, True, False] and cols[-1]["wide"]
        assert all(re.fullmatch(r"[+-]\d\.\d{3}", row[1]) for row in tables[key]["cells"])
    # a row of the disagreeing list links to that query in Compare, with this page's A and B
    qid = str(want["qid"].iloc[-1])
    path, params = table_row_link(at, "w_f_disagree", qid)
    assert (
        path == "./"
        and params.pop("view") in ("compact", "cards")
        and params
        == {"dataset": "tiny", "split": "test", "systems": "bm25-flat,bm25-multifield", "mode": "judged", "k": "10", "qid": qid}
    )


# ---- Data & runs --------------------------------------------------------------------------------------


def test_data_runs_shows_each_cached_runs_command(tiny_env):
    from retrieval.cache import Cache
    from retrieval.reproduce import cached_run_commands

    core_run(tiny_env, "tiny", "test", "bm25-flat")
    expected = cached_run_commands(Cache(tiny_env["RETRIEVAL_CACHE_DIR"]), data_dir=tiny_env["BEIR_DATA_DIR"])
    at = app(tiny_env, page=PAGES["data_runs"])
    at.run()
    assert not at.exception
    runs = next(d.value for d in at.dataframe if "command" in d.value.columns)
    row = next(
        i
        for i, (ds, sp, sy) in enumerate(zip(runs["dataset"], runs["split"], runs["system"]))
        if (ds, sp, sy) == ("tiny", "test", "bm25-flat")
    )
    want = expected[(expected["dataset"] == "tiny") & (expected["split"] == "test") & (expected["system"] == "bm25-flat")][
        "command"
    ].iloc[-1]
    assert runs["command"].iloc[row] == want and want.startswith("python -m retrieval run --dataset tiny")
    select_dataframe_row(at, "w_d_runs", row)
    assert not at.exception
    assert want in [c.value for c in at.code]


def test_data_runs_models_have_size_and_offline_fetch_fails_in_view(tiny_env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = app(tiny_env, page=PAGES["data_runs"])
    at.run()
    models = next(d.value for d in at.dataframe if "on disk (MB)" in d.value.columns).set_index("system")
    minilm = models.loc["dense:all-MiniLM-L6-v2"]
    if minilm["available here"] == "yes":  # the offline package is installed here
        assert float(minilm["on disk (MB)"].replace(",", "")) > 10 and "package" in minilm["where"]
    assert models.loc["monot5:3b", "on disk (MB)"] == "n/a: not on this machine"  # text with why, never "None"
    assert models.loc["monot5:3b", "where"] == "not on this machine"
    at.selectbox(key="w_m_fetch").set_value("monot5:3b").run()
    at.button(key="w_m_go").click().run()
    assert not at.exception
    errors = [unescape(e.value) for e in at.error]
    assert any("Fetching castorini/monot5-3b-msmarco-10k failed" in e and "HF_HUB_OFFLINE is set" in e for e in errors)


def test_data_runs_takes_a_local_model_folder_for_the_session(tiny_env, tiny_t5_dir, tmp_path):
    at = app(tiny_env, page=PAGES["data_runs"])
    at.run()
    at.selectbox(key="w_m_for").set_value("monot5:base").run()
    at.text_input(key="w_m_path").input(str(tmp_path)).run()
    at.button(key="w_m_use").click().run()
    assert any("has no config.json" in unescape(e.value) for e in at.error)
    at.text_input(key="w_m_path").input(str(tiny_t5_dir)).run()
    at.button(key="w_m_use").click().run()
    assert not at.exception
    assert at.session_state["_model_paths"] == {"monot5:base": str(tiny_t5_dir)}
    assert any(str(tiny_t5_dir) in unescape(s.value) for s in at.success)
    models = next(d.value for d in at.dataframe if "on disk (MB)" in d.value.columns).set_index("system")
    assert models.loc["monot5:base", "available here"] == "yes" and str(tiny_t5_dir) in models.loc["monot5:base", "where"]


def test_upload_feedback_limit_and_unknown_ids(tiny_env, monkeypatch):
    from view import choices

    at = app(tiny_env, {"dataset": "tiny"}, PAGES["data_runs"])
    at.run()

    def uploader():  # the run upload's, not the judgements import's
        return next(u for u in at.get("file_uploader") if u.proto.label == "TREC run")

    uploader().set_value(("bad.trec", b"q1 Q0 d1 1 2.0\n", "text/plain")).run()
    assert any("bad.trec, line 1" in unescape(e.value) and "expected 6 columns" in unescape(e.value) for e in at.error)
    good = "q1 Q0 d1 1 3.0 t\nq1 Q0 nope1 2 2.0 t\nzz9 Q0 d2 1 1.0 t\nq2 Q0 nope2 1 1.0 t\n"
    uploader().set_value(("mine.trec", good.encode(), "text/plain")).run()
    assert not at.exception
    assert any("Added mine: 3 queries, 4 results" in unescape(s.value) for s in at.success)
    warning = next(unescape(w.value) for w in at.warning if "not in tiny" in unescape(w.value))
    assert "1 queries not in tiny (e.g. zz9)" in warning and "2 documents not in tiny (e.g. nope1, nope2)" in warning
    monkeypatch.setattr(choices, "UPLOAD_MAX_MB", 0.00001)
    at.run()  # the uploader's own (browser-side) limit is part of its identity: a new widget
    uploader().set_value(("big.trec", good.encode(), "text/plain")).run()
    assert any("big.trec is" in unescape(e.value) and "limited to" in unescape(e.value) for e in at.error), (
        [e.value for e in at.error],
        [s.value for s in at.success],
        at.exception,
    )


# ---- the dialog's neural explanations -------------------------------------------------------------------


def _model_dir_with(tmp_path, tiny_t5_dir):
    """A RETRIEVAL_MODEL_DIR holding the tiny random T5 as monoT5-base (so the app's plain spec finds it)."""
    target = tmp_path / "models" / "castorini" / "monot5-base-msmarco-10k"
    target.mkdir(parents=True)
    for f in tiny_t5_dir.iterdir():
        if f.is_file():
            (target / f.name).write_bytes(f.read_bytes())
    return tmp_path / "models"


def test_document_dialog_shows_occlusion_saliency_and_dense_sentences(tiny_env, tiny_t5_dir, tmp_path, monkeypatch):
    from pages import _cached
    from retrieval.explain.saliency import explain_reranker
    from retrieval.systems import parse_system

    monkeypatch.setenv("RETRIEVAL_MODEL_DIR", str(_model_dir_with(tmp_path, tiny_t5_dir)))
    _cached.forget_models()  # availability is memoised per process; earlier tests saw no monoT5 here
    specs = ["monot5:base"]
    dense = parse_system("dense:all-MiniLM-L6-v2")
    if dense.availability()[0]:
        specs.append(dense.spec)
    ds, rerank = core_run(tiny_env, "tiny", "test", "monot5:base")
    runs = {s: core_run(tiny_env, "tiny", "test", s)[1] for s in specs}
    shared = [
        d for d in rerank.for_query("q1", 10)["docid"] if all(d in set(r.for_query("q1", 10)["docid"]) for r in runs.values())
    ]
    docid = shared[0]  # shown in every column, so every column gets a "why here" tab
    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": ",".join(specs)})
    at.run()
    at.session_state[f"doc_tabs_{docid}"] = f"Why here: {parse_system('monot5:base').display_name}"
    at.button(key=f"open_monot5:base_{docid}").click().run()
    assert not at.exception
    labels = [t.label for t in at.tabs]
    assert f"Why here: {parse_system('monot5:base').display_name}" in labels
    sal = explain_reranker(ds, parse_system("monot5:base"), ds.queries["q1"], docid)
    headline = next(unescape(m.value) for m in at.markdown if "method: **word occlusion**" in m.value)
    assert f"Score {sal.base_score:.4f}" in headline
    words = next(d.value for d in at.dataframe if "saliency" in d.value.columns)
    assert list(words["word"]) == [w.label for w in sal.top(10)]
    assert any("negative" in unescape(c.value) for c in at.caption)  # the legend names the negative colour
    assert not [d for d in at.dataframe if "sentence" in d.value.columns]  # lazy: only the open tab was computed
    if len(specs) == 2:
        from retrieval.explain.dense import explain_dense

        expl = explain_dense(ds, dense, ds.queries["q1"], docid)
        at.session_state[f"doc_tabs_{docid}"] = f"Why here: {dense.display_name}"  # the user opens the dense tab
        at.button(key=f"open_monot5:base_{docid}").click().run()
        sentences = next(d.value for d in at.dataframe if "sentence" in d.value.columns)
        assert list(sentences["sentence"]) == [s.text for s in expl.sentences[:3]]
        assert any(f"cosine {expl.score:.4f}" in unescape(m.value) for m in at.markdown)


def test_why_here_says_when_the_model_is_missing_or_the_run_is_uploaded(tiny_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def script():
        import streamlit as st

        from pages import _document, _state
        from retrieval.run import Run

        key = _state.uploads().add(Run.parse_trec("q1 Q0 d1 1 1 t\n", name="mine"))
        _document.why_here("tiny", "monot5:3b", "vitamin", "d1")
        st.divider()
        _document.why_here("tiny", key, "vitamin", "d1")

    at = AppTest.from_function(script, default_timeout=120)
    at.run()
    assert not at.exception
    assert any(
        w.value.startswith("Cannot explain: the model is not here.") and "HF_HUB_OFFLINE" in unescape(w.value) for w in at.warning
    )
    assert any("uploaded run" in i.value for i in at.info)


@pytest.fixture(autouse=True)
def _fresh_availability():
    """Each test sees availability as its own environment makes it (the app memoises it per process)."""
    from pages import _cached

    _cached.forget_models()
    yield
    _cached.forget_models()


def test_reproduce_block_for_a_compare_column(tiny_env):
    from streamlit.testing.v1 import AppTest

    core_run(tiny_env, "tiny", "test", "bm25-flat")

    def script():
        from pages import _repro, _state
        from retrieval.run import Run

        key = _state.uploads().add(Run.parse_trec("q1 Q0 d1 1 1 t\n", name="mine"))
        for spec in ("bm25-flat", "monot5:3b", key):
            _repro.reproduce_block("tiny", "test", spec, expanded=True)

    at = AppTest.from_function(script, default_timeout=120)
    at.run()
    assert not at.exception
    codes = [c.value for c in at.code]
    assert codes[0].startswith("python -m retrieval run --dataset tiny --data-dir") and codes[0].endswith(
        "--split test --system bm25-flat"
    )
    # a run not built yet still gets its command (today's defaults: first stage, depth, dtype spelled out)
    assert "--system monot5:3b --first-stage bm25-flat --depth 100 --dtype" in codes[1]
    assert len(codes) == 2 and any("uploaded run" in c.value for c in at.caption)
