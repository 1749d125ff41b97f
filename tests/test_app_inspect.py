"""Failure inspection in the app (AppTest): the document dialog's "why here", ranking agreement on
Failure cases, reproduce commands and model fetching on Data & runs, upload feedback.

Expected values come from ``retrieval`` (explanations, agreement, commands) over the same cache.
"""

from __future__ import annotations

import re

import pytest

from .conftest import env_restored
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

    at = app(tiny_env, {"dataset": "tiny", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
    at.run()
    at.button(key="open_bm25-flat_d5").click().run()
    assert not at.exception
    from retrieval.systems import parse_system

    ds, run = core_run(tiny_env, "tiny", "test", "bm25-flat")
    _, multi = core_run(tiny_env, "tiny", "test", "bm25-multifield")
    shown = ["bm25-flat"] + (["bm25-multifield"] if "d5" in set(multi.for_query("q1", 10)["docid"]) else [])
    assert [t.label for t in at.tabs] == ["Text", *(f"Why here: {parse_system(s).display_name}" for s in shown)]
    expected = explain_bm25(ds, "bm25-flat", ds.queries["q1"], "d5", run=run, qid="q1")
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
    table = next(d.value for d in at.dataframe if "rbo" in d.value.columns)
    want = agreement.most_disagreeing(expected, 15)
    assert list(table["qid"]) == list(want["qid"]) and table["rbo"].tolist() == pytest.approx(want["rbo"].tolist())
    assert list(table["rbo"]) == sorted(table["rbo"])
    # the wins tables show their numbers first: qid, B − A, A, B, then the query text
    wins = [d.value for d in at.dataframe if "B − A" in d.value.columns]
    assert len(wins) == 2 and all(list(w.columns)[:2] == ["qid", "B − A"] and list(w.columns)[-1] == "query" for w in wins)
    # a row of the disagreeing list opens that query in Compare (outside the navigation: the URL carries it)
    select_dataframe_row(at, "w_f_disagree", 0)
    assert not at.exception
    assert at.query_params["qid"] == str(want["qid"].iloc[0])
