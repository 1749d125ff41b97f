"""retrieval.analysis: Compare columns, paired comparisons and tests, failure tables, ETAs, scatter."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from retrieval import failures, runner, stats
from retrieval.beir import Qrels
from retrieval.evaluate import evaluate
from retrieval.run import Run
from view import charts, columns, text

from .conftest import needs_scifact


def qrels_of(rows) -> Qrels:
    frame = pd.DataFrame(rows, columns=["qid", "docid", "relevance"]).astype({"relevance": "int64"})
    return Qrels(frame, "test")


# ---- badges and columns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grade,label,kind",
    [
        (2, "relevant (2)", "relevant"),
        (1, "relevant (1)", "relevant"),
        (0, "not relevant", "not_relevant"),
        (None, "unjudged", "unjudged"),
        (-1, "not relevant (-1)", "not_relevant"),
    ],
)
def test_relevance_badge(grade, label, kind):
    badge = columns.relevance_badge(grade)
    assert (badge.label, badge.kind, badge.grade) == (label, kind, grade)


def test_query_column_uses_run_ranks_with_the_tie_rule_badges_and_other_ranks():
    # d2 and d9 tie on score: the tie rule puts the larger docid first (d9 before d2).
    a = Run.from_records([("q", "d1", 3.0), ("q", "d2", 2.0), ("q", "d9", 2.0), ("q", "d4", 1.0), ("q", "d7", 0.5)], "A")
    b = Run.from_records([("q", "d4", 9.0), ("q", "d1", 8.0)], "B")
    la, lb = columns.RunLookup(a), columns.RunLookup(b)
    judged = {"d1": 2, "d2": 0, "d7": 1, "d8": 1}
    col = columns.query_column(la, "q", 3, judged, {"A": la, "B": lb})
    assert [(d.rank, d.docid) for d in col.docs] == list(zip(a.for_query("q", 3)["rank"], a.for_query("q", 3)["docid"]))
    assert [d.docid for d in col.docs] == ["d1", "d9", "d2"]
    assert [d.badge.label for d in col.docs] == ["relevant (2)", "unjudged", "not relevant"]
    # Only the other column is listed, with its rank or "not in top <depth>".
    assert [(o.system, o.label) for o in col.docs[0].others] == [("B", "#2")]
    assert col.docs[1].others[0].label == "not in top 2"
    # Relevant documents outside the top 3: d7 retrieved at rank 5, d8 never retrieved.
    assert [(m.docid, m.grade, m.rank) for m in col.missed] == [("d7", 1, 5), ("d8", 1, None)]
    assert col.retrieved == 5 and col.depth == 5


def test_query_column_without_judgements_lists_nothing_missed():
    run = Run.from_records([("live", "x", 1.0), ("live", "y", 0.5)], "A")
    col = columns.query_column(columns.RunLookup(run), "live", 10, None)
    assert [d.badge.kind for d in col.docs] == ["unjudged", "unjudged"]
    assert col.missed == ()


def test_query_column_for_a_query_the_run_lacks_is_empty():
    run = Run.from_records([("q", "x", 1.0)], "A")
    col = columns.query_column(columns.RunLookup(run), "other", 10, {"x": 1})
    assert col.docs == () and [(m.docid, m.rank) for m in col.missed] == [("x", None)]


# ---- paired comparisons ---------------------------------------------------------------------------


@pytest.fixture
def two_systems():
    """Five queries, one relevant document each; A finds it at rank 1 on q1-q3, B on q2-q5."""
    qrels = qrels_of([(f"q{i}", f"rel{i}", 1) for i in range(1, 6)])
    rec_a, rec_b = [], []
    for i in range(1, 6):
        rec_a += [(f"q{i}", f"rel{i}", 2.0 if i <= 3 else 0.1), (f"q{i}", "other", 1.0)]
        rec_b += [(f"q{i}", f"rel{i}", 2.0 if i >= 2 else 0.1), (f"q{i}", "other", 1.0)]
    ev_a = evaluate(Run.from_records(rec_a, "A"), qrels)
    ev_b = evaluate(Run.from_records(rec_b, "B"), qrels)
    return ev_a, ev_b


def test_compare_pair_counts_wins_ties_losses_from_evaluate(two_systems):
    ev_a, ev_b = two_systems
    cmp = stats.compare_pair(ev_a, ev_b, "nDCG@10")
    assert (cmp.a_better, cmp.ties, cmp.b_better) == (1, 2, 2)
    assert cmp.n == 5
    assert cmp.mean_a == pytest.approx(ev_a.mean["nDCG@10"]) and cmp.mean_b == pytest.approx(ev_b.mean["nDCG@10"])
    assert list(cmp.frame["diff"]) == pytest.approx(list(ev_b.per_query["nDCG@10"] - ev_a.per_query["nDCG@10"]))
    assert [t.name for t in cmp.tests] == ["paired t-test", "Wilcoxon signed-rank", "paired randomization"]
    assert all(0 < t.p_value <= 1 for t in cmp.tests)
    assert list(cmp.largest("a").index) == ["q1"]
    assert list(cmp.largest("b").index) == ["q4", "q5"]
    assert set(cmp.contrasting(10).index) == {"q1", "q4", "q5"}  # ties are not contrasting


def test_t_test_matches_scipy_on_the_same_pairs():
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(3)
    a = rng.random(40)
    b = np.clip(a + rng.normal(0.05, 0.1, 40), 0, 1)
    t, w, _ = stats.paired_tests(a, b, permutations=100)
    ref_t = scipy_stats.ttest_rel(b, a)
    assert t.p_value == pytest.approx(ref_t.pvalue) and t.statistic == pytest.approx(ref_t.statistic)
    assert w.p_value == pytest.approx(scipy_stats.wilcoxon(b - a).pvalue)


def test_identical_systems_give_p_one_and_say_why(two_systems):
    ev_a, _ = two_systems
    cmp = stats.compare_pair(ev_a, ev_a)
    assert (cmp.a_better, cmp.b_better, cmp.ties) == (0, 0, 5)
    for test in cmp.tests:
        assert test.p_value == 1.0
    assert "same" in cmp.tests[0].note


def test_randomization_test_approximates_the_exact_sign_flip_p_value():
    # Five equal positive differences: exactly 2 of the 32 sign patterns are as extreme, p = 1/16.
    a = np.zeros(5)
    b = np.full(5, 0.2)
    res = stats.randomization_test(a, b, permutations=20_000, seed=1)
    assert res.p_value == pytest.approx(2 / 32, abs=0.01)
    again = stats.randomization_test(a, b, permutations=20_000, seed=1)
    assert again.p_value == res.p_value  # seeded: reproducible


def test_randomization_test_small_p_for_a_consistent_large_effect():
    rng = np.random.default_rng(0)
    a = rng.random(200) * 0.5
    b = a + 0.2 + rng.normal(0, 0.05, 200)
    res = stats.randomization_test(a, b, permutations=2000)
    assert res.p_value == pytest.approx(1 / 2001)


def test_compare_pair_pairs_only_shared_queries():
    qrels = qrels_of([("q1", "d", 1), ("q2", "d", 1)])
    ev_a = evaluate(Run.from_records([("q1", "d", 1.0)], "A"), qrels)
    ev_b = evaluate(Run.from_records([("q2", "d", 1.0)], "B"), qrels)
    ev_b_short = type(ev_b)(ev_b.per_query.loc[["q2"]], ev_b.measures, run_name="B")
    cmp = stats.compare_pair(ev_a, ev_b_short)
    assert list(cmp.frame.index) == ["q2"] and cmp.notes


def test_per_query_frame_rejects_unknown_measures(two_systems):
    ev_a, ev_b = two_systems
    frame = stats.per_query_frame({"A": ev_a, "B": ev_b}, "R@100")
    assert list(frame.columns) == ["A", "B"] and len(frame) == 5
    with pytest.raises(KeyError, match="P@5"):
        stats.per_query_frame({"A": ev_a}, "P@5")


# ---- failures -------------------------------------------------------------------------------------


def test_all_zero_queries_and_unfound_relevant_documents():
    qrels = qrels_of([("q1", "a", 1), ("q1", "b", 2), ("q2", "c", 1), ("q2", "z", 0)])
    far = [("q1", f"n{i}", 100.0 - i) for i in range(12)]
    r1 = Run.from_records(far + [("q1", "a", 1.0), ("q2", "c", 5.0)], "R1")  # q1: a at rank 13
    r2 = Run.from_records([("q1", "x", 1.0), ("q2", "y", 2.0)], "R2")
    ev = {"R1": evaluate(r1, qrels), "R2": evaluate(r2, qrels)}
    assert failures.all_zero_queries(ev, "nDCG@10") == ["q1"]
    lost = failures.unfound_relevant({"R1": r1, "R2": r2}, qrels, k=10)
    assert lost[["qid", "docid", "grade"]].values.tolist() == [["q1", "b", 2], ["q1", "a", 1]]
    assert lost["best_rank"].tolist()[1] == r1.rank_lookup("q1")["a"] == 13
    assert pd.isna(lost["best_rank"].tolist()[0]) and lost["best_system"].tolist() == [None, "R1"]


# ---- ETA ---------------------------------------------------------------------------------------------


def test_estimate_build_seconds_scales_earlier_builds_by_corpus_size():
    history = pd.DataFrame(
        {
            "dataset": ["small", "other", "small"],
            "system": ["dense:x", "bm25-flat", "dense:x"],
            "build_seconds": [10.0, 99.0, 30.0],
        }
    )
    eta = runner.estimate_build_seconds(history, "dense:x", 5000, {"small": 1000, "other": 10})
    assert eta == pytest.approx(20.0 / 1000 * 5000)
    assert runner.estimate_build_seconds(history, "monot5:base", 5000, {"small": 1000}) is None
    assert runner.estimate_build_seconds(pd.DataFrame(), "dense:x", 5000, {}) is None


@pytest.mark.parametrize(
    "secs,shown",
    [(None, "unknown"), (5.4, "5 s"), (75, "1 min 15 s"), (120, "2 min"), (3720, "1 h 2 min"), (math.inf, "unknown")],
)
def test_format_seconds(secs, shown):
    assert text.format_seconds(secs) == shown


# ---- scatter -------------------------------------------------------------------------------------------


def test_scatter_chart_plots_every_query_with_a_query_selection(two_systems):
    ev_a, ev_b = two_systems
    cmp = stats.compare_pair(ev_a, ev_b, permutations=10)
    chart, message = charts.scatter_chart(cmp, {"q1": "first query"})
    assert message == ""
    spec = chart.to_dict()
    values = [row for ds in spec["datasets"].values() for row in ds if "qid" in row]
    # one point per distinct (A, B) pair, sized by how many queries sit there: every query is counted once
    assert sum(r["count"] for r in values) == cmp.n == 5
    assert sorted(q for r in values for q in r["qids"].split(", ")) == [f"q{i}" for i in range(1, 6)]
    assert len({(r["a"], r["b"]) for r in values}) == len(values)
    q1 = next(r for r in values if "q1" in r["qids"].split(", "))
    assert q1["query"] == ("first query" if q1["count"] == 1 else f"{q1['count']} queries here (a click opens {q1['qid']})")
    params = spec.get("params", []) + [p for layer in spec["layer"] for p in layer.get("params", [])]
    assert [p["name"] for p in params] == ["query"] and params[0]["select"]["fields"] == ["qid"]
    # both axes tick every 0.1, so a distance from the diagonal reads the same across and up
    ticks = [layer["encoding"][axis]["axis"]["values"] for layer in spec["layer"] for axis in ("x", "y")]
    assert len(ticks) == 4 and all(t == ticks[0] for t in ticks) and ticks[0][1] == 0.1 and len(ticks[0]) == 11


def test_scatter_chart_fails_soft_without_queries():
    empty = stats.PairedComparison("A", "B", "nDCG@10", pd.DataFrame(columns=["a", "b", "diff"]), 0, 0, 0, ())
    chart, message = charts.scatter_chart(empty)
    assert chart is None and "no queries" in message.lower()


# ---- real SciFact ---------------------------------------------------------------------------------------


@needs_scifact
def test_bm25_flat_vs_multifield_on_scifact(scifact, session_cache):
    from retrieval.runner import get_run

    flat = get_run(scifact, "test", "bm25-flat", cache=session_cache, progress=False)
    multi = get_run(scifact, "test", "bm25-multifield", cache=session_cache, progress=False)
    qrels = scifact.qrels("test")
    ev_f, ev_m = evaluate(flat, qrels), evaluate(multi, qrels)
    cmp = stats.compare_pair(ev_f, ev_m, "nDCG@10", permutations=2000)
    assert cmp.a_better + cmp.ties + cmp.b_better == cmp.n == 300
    assert cmp.mean_a == pytest.approx(0.6789, abs=5e-5) and cmp.mean_b == pytest.approx(0.6647, abs=5e-5)
    assert all(0 < t.p_value <= 1 for t in cmp.tests)
    lost = failures.unfound_relevant({"flat": flat, "multi": multi}, qrels, k=10)
    # Cross-check against the runs themselves: no listed document is in either top 10.
    top10 = set(zip(flat.truncate(10).frame["qid"], flat.truncate(10).frame["docid"])) | set(
        zip(multi.truncate(10).frame["qid"], multi.truncate(10).frame["docid"])
    )
    assert len(lost) > 0 and not any((q, d) in top10 for q, d in zip(lost["qid"], lost["docid"]))
    rel = qrels.frame[qrels.frame["relevance"] > 0]
    found = sum((q, d) in top10 for q, d in zip(rel["qid"], rel["docid"]))
    assert found + len(lost) == len(rel)
    # SciFact test query 1: its relevant document 31715818 is not retrieved by BM25 at all.
    q1 = lost[lost["qid"] == "1"]
    assert q1["docid"].tolist() == ["31715818"] and pd.isna(q1["best_rank"].iloc[0])


def test_tied_queries_become_one_point_sized_by_their_number():
    frame = pd.DataFrame(
        {"a": [0.0, 0.0, 0.0, 1.0, 0.5], "b": [0.0, 0.0, 0.0, 1.0, 0.7]},
        index=pd.Index(["q1", "q2", "q3", "q4", "q5"], name="qid"),
    )
    frame["diff"] = frame["b"] - frame["a"]
    cmp = stats.PairedComparison("A", "B", "nDCG@10", frame, 1, 4, 0, ())
    pts = charts.tied_points(cmp, {"q5": "five"})
    assert len(pts) == 3 and pts["count"].sum() == 5
    top = pts.iloc[0]
    assert (top["a"], top["b"], top["count"], top["qid"], top["qids"]) == (0.0, 0.0, 3, "q1", "q1, q2, q3")
    assert "3 queries here" in top["query"]
    assert pts.set_index("qid").loc["q5", "query"] == "five" and pts.set_index("qid").loc["q5", "outcome"] == "B better"
    chart, _ = charts.scatter_chart(cmp)
    spec = chart.to_dict()
    enc = spec["layer"][1]["encoding"]
    assert enc["size"]["field"] == "count"


def test_agreement_histogram_counts_every_query_per_measure():
    from retrieval import agreement

    frame = pd.DataFrame(
        {
            "qid": ["1", "2", "3"],
            "overlap@10": [0.0, 0.5, 1.0],
            "rbo": [0.05, 0.95, 1.0],
            "rbo_min": 0.0,
            "kendall_tau": [float("nan"), 0.2, 1.0],
            "shared": [0, 5, 10],
            "depth_a": 10,
            "depth_b": 10,
        }
    )
    chart, message = charts.agreement_histogram(frame)
    assert message == ""
    rows = [r for ds in chart.to_dict()["datasets"].values() for r in ds]
    by = pd.DataFrame(rows).groupby("measure")["queries"].sum()
    assert by.to_dict() == {"RBO (p=0.9)": 3, "overlap@10": 3}
    bars = pd.DataFrame(rows).query("measure == 'overlap@10'")
    assert len(bars) == 11  # one bar per possible value 0, 0.1, ..., 1
    centre = ((bars["from"] + bars["to"]) / 2).round(6)
    assert dict(zip(centre, bars["queries"]))[1.0] == 1 and dict(zip(centre, bars["queries"]))[0.5] == 1
    three = pd.DataFrame({**{c: frame[c] for c in frame.columns}, "overlap@10": [3 / 10, 0.1 + 0.2, 0.3]})
    bars3 = pd.DataFrame([r for ds in charts.agreement_histogram(three)[0].to_dict()["datasets"].values() for r in ds]).query(
        "measure == 'overlap@10'"
    )
    assert dict(zip(((bars3["from"] + bars3["to"]) / 2).round(6), bars3["queries"]))[0.3] == 3  # float 0.1 + 0.2 too
    rbo_last = pd.DataFrame(rows).query("measure == 'RBO (p=0.9)' and `from` >= 0.85")["queries"].sum()
    assert rbo_last == 2  # 0.95 and 1.0: 1.0 falls in the last bin, not past it
    assert charts.agreement_histogram(frame.iloc[0:0])[0] is None
    assert list(agreement.most_disagreeing(frame, 1)["qid"]) == ["1"]
