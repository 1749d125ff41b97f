"""Evaluation through ir_measures, cross-checked against trec_eval semantics (pytrec_eval)."""

from __future__ import annotations

import pandas as pd
import pytest

from retrieval.beir import BeirDataset, Qrels
from retrieval.evaluate import evaluate, measure_description
from retrieval.run import Run

from .conftest import needs_scifact


def _qrels(rows) -> Qrels:
    return Qrels(pd.DataFrame(rows, columns=["qid", "docid", "relevance"]), "test")


def test_missing_queries_count_as_zero_and_are_reported() -> None:
    qrels = _qrels([("q1", "a", 1), ("q2", "b", 1), ("q3", "c", 1)])
    run = Run.from_records([("q1", "a", 2.0), ("q1", "x", 1.0), ("q2", "x", 1.0), ("q9", "a", 1.0)])
    ev = evaluate(run, qrels)
    assert ev.query("q1")["nDCG@10"] == pytest.approx(1.0)
    assert ev.query("q2") == {"nDCG@10": 0.0, "R@100": 0.0, "RR@10": 0.0, "Judged@10": 0.0}
    assert ev.query("q3") == {"nDCG@10": 0.0, "R@100": 0.0, "RR@10": 0.0, "Judged@10": 0.0}
    assert ev.missing_qids == ("q3",)
    assert "1 of 3 judged queries" in ev.notes[0]
    assert ev.n_queries == 3 and "q9" not in ev.per_query.index  # unjudged queries are not averaged
    assert ev.mean["nDCG@10"] == pytest.approx(1 / 3)
    assert ev.mean["Judged@10"] == pytest.approx((0.5 + 0.0 + 0.0) / 3)


def test_evaluated_order_is_the_displayed_order_under_ties() -> None:
    """Tied scores: relevant 'a' sorts after 'b' under the tie rule, so RR@10 is 1/2 - as displayed."""
    qrels = _qrels([("q", "a", 1)])
    run = Run.from_records([("q", "a", 1.0), ("q", "b", 1.0)])
    assert run.rank_lookup("q")["a"] == 2
    assert evaluate(run, qrels).query("q")["RR@10"] == pytest.approx(0.5)


def test_graded_ndcg() -> None:
    qrels = _qrels([("q", "a", 2), ("q", "b", 1), ("q", "c", 0)])
    best = evaluate(Run.from_records([("q", "a", 3.0), ("q", "b", 2.0), ("q", "c", 1.0)]), qrels)
    worse = evaluate(Run.from_records([("q", "b", 3.0), ("q", "a", 2.0), ("q", "c", 1.0)]), qrels)
    assert best.query("q")["nDCG@10"] == pytest.approx(1.0)
    assert 0 < worse.query("q")["nDCG@10"] < 1
    assert best.query("q")["Judged@10"] == pytest.approx(1.0)


def test_measure_description() -> None:
    assert "Discounted Cumulative Gain" in measure_description("nDCG@10")


def _trec_eval(run: Run, qrels: Qrels, measures: set[str], relevance=None) -> dict[str, dict[str, float]]:
    """trec_eval's own semantics via pytrec_eval, on the raw scores (trec_eval breaks ties itself)."""
    import pytrec_eval

    rel = {q: {d: (relevance(r) if relevance else r) for d, r in docs.items()} for q, docs in qrels.by_query.items()}
    return pytrec_eval.RelevanceEvaluator(rel, measures).evaluate(run.to_dict())


@needs_scifact
def test_scifact_bm25_numbers_agree_with_trec_eval(scifact: BeirDataset, session_cache) -> None:
    from retrieval.runner import get_run

    qrels = scifact.qrels("test")
    run = get_run(scifact, "test", "bm25-flat", cache=session_cache, progress=False)
    ours = evaluate(run, qrels)
    raw = _trec_eval(run, qrels, {"ndcg_cut.10", "recall.100"})
    top10 = _trec_eval(run.truncate(10), qrels, {"recip_rank"})
    judged = _trec_eval(run.truncate(10), qrels, {"P.10"}, relevance=lambda r: 1)  # every judged doc counts
    for qid in qrels.qids:
        got = ours.query(qid)
        assert got["nDCG@10"] == pytest.approx(raw[qid]["ndcg_cut_10"], abs=1e-12)
        assert got["R@100"] == pytest.approx(raw[qid]["recall_100"], abs=1e-12)
        assert got["RR@10"] == pytest.approx(top10[qid]["recip_rank"], abs=1e-12)
        assert got["Judged@10"] == pytest.approx(judged[qid]["P_10"], abs=1e-12)
    assert ours.mean["nDCG@10"] == pytest.approx(0.6789, abs=5e-4)
