"""Qrels with users' judgements and metrics on them: merged / mine / official by the stated rules, metrics equal to
ir_measures on hand-written qrels, evaluate()'s cut at the deepest cutoff, no caching of changing qrels."""

from __future__ import annotations

import ir_measures
import numpy as np
import pandas as pd
import pytest

from retrieval.beir import Qrels
from retrieval.evaluate import cached_evaluate, evaluate, evaluation_depth
from retrieval.judgements import CANT_TELL, choose_qrels, open_store
from retrieval.judgements.qrels import combine_judges
from retrieval.run import Run

from .judgements_fixtures import tiny_ds  # noqa: F401  (fixture)

MEASURES = ("nDCG@10", "P@2", "RR@10", "R@100", "Judged@10", "AP")

# The tiny dataset's official qrels: q1: d1=2 d3=1 d2=0; q2: d2=1 d6=1; q3: d3=1; q4: d4=1.
USER = [  # (judge, qid, docid, value)
    ("ann", "q1", "d5", 1),  # new
    ("ann", "q1", "d2", 1),  # conflicts with the official 0: official wins
    ("ann", "q3", "d6", 1),  # new
    ("ann", "q4", "d4", 0),  # conflicts with the official 1
    ("ann", "q2", "d3", CANT_TELL),  # never a grade
    ("bob", "q1", "d5", 0),  # judges disagree on q1/d5: ann 1, bob 0, carl 1 -> majority 1
    ("bob", "q3", "d6", 1),
    ("bob", "q3", "d1", 2),  # new
    ("carl", "q1", "d5", 1),
]
RUN = {"q1": ["d5", "d2", "d1", "d4"], "q2": ["d3", "d6"], "q3": ["d1", "d6", "d3"], "q4": ["d4", "d1"]}


def _run() -> Run:
    return Run.from_dict({q: {d: float(len(ds) - i) for i, d in enumerate(ds)} for q, ds in RUN.items()}, name="r")


def _ir_measures(qrels: list[tuple[str, str, int]], measures=MEASURES) -> dict[str, dict[str, float]]:
    """Per-query values straight from ir_measures on hand-written qrels and the run's scores."""
    run = [ir_measures.ScoredDoc(q, d, float(len(ds) - i)) for q, ds in RUN.items() for i, d in enumerate(ds)]
    out: dict[str, dict[str, float]] = {}
    for m in ir_measures.iter_calc(
        [ir_measures.parse_measure(x) for x in measures], [ir_measures.Qrel(q, d, r) for q, d, r in qrels], run
    ):
        out.setdefault(m.query_id, {})[str(m.measure)] = m.value
    return out


@pytest.fixture
def judged(tiny_ds, tmp_path):  # noqa: F811
    j = open_store(f"sqlite:///{tmp_path / 'j.sqlite3'}").dataset(tiny_ds, "test")
    for judge, q, d, v in USER:
        j.set(q, d, v, judge=judge)
    return j


OFFICIAL = [("q1", "d1", 2), ("q1", "d3", 1), ("q1", "d2", 0), ("q2", "d2", 1), ("q2", "d6", 1), ("q3", "d3", 1), ("q4", "d4", 1)]


def test_merged_qrels_by_the_rules(judged) -> None:
    chosen = judged.qrels("merged")
    got = sorted(map(tuple, chosen.qrels.frame.itertuples(index=False)))
    assert got == sorted(OFFICIAL + [("q1", "d5", 1), ("q3", "d6", 1), ("q3", "d1", 2)])
    assert chosen.qrels.source == "merged" and chosen.qrels.split == "test"
    assert (chosen.added, chosen.agreements, chosen.disagreements, chosen.cant_tell, chosen.stale) == (3, 0, 1, 1, 0)
    conflicts = sorted(map(tuple, chosen.conflicts.itertuples(index=False)))
    assert conflicts == [("q1", "d2", 0, 1), ("q4", "d4", 1, 0)]
    text = chosen.describe()
    assert "official + 3 user judgements of all judges (majority rule, ties to the lower grade)" in text
    assert "2 conflicts with the official qrels (official kept)" in text and "1 pairs on which judges disagree" in text


def test_one_judge_and_the_other_rules(judged) -> None:
    bob = judged.qrels("merged", judge="bob")
    assert ("q1", "d5", 0) in set(map(tuple, bob.qrels.frame.itertuples(index=False))) and bob.disagreements == 0
    mine = judged.qrels("mine")
    assert sorted(map(tuple, mine.qrels.frame.itertuples(index=False))) == [
        ("q1", "d2", 1),
        ("q1", "d5", 1),
        ("q3", "d1", 2),
        ("q3", "d6", 1),
        ("q4", "d4", 0),
    ]
    assert mine.queries == 3 and mine.qrels.source == "mine"
    # ann 1, bob 0 on the same pair: majority ties go to the lower grade; max / min as named
    two = pd.DataFrame({"qid": ["q", "q"], "docid": ["d", "d"], "judge": ["ann", "bob"], "grade": [1, 0]})
    assert combine_judges(two, "majority")[0]["relevance"].tolist() == [0]
    assert combine_judges(two, "max")[0]["relevance"].tolist() == [1]
    assert combine_judges(two, "min")[0]["relevance"].tolist() == [0]
    three = pd.concat([two, two.iloc[[0]].assign(judge="carl")])
    assert combine_judges(three, "majority")[0]["relevance"].tolist() == [1]
    assert combine_judges(three, "majority")[1] == 1
    with pytest.raises(ValueError, match="unknown rule"):
        judged.qrels("merged", rule="mean")
    with pytest.raises(ValueError, match="unknown qrels"):
        judged.qrels("everything")


def test_merged_metrics_equal_ir_measures_on_hand_written_qrels(judged) -> None:
    run = _run()
    merged = evaluate(run, judged.qrels("merged").qrels, MEASURES)
    official = evaluate(run, judged.official, MEASURES)
    mine = evaluate(run, judged.qrels("mine").qrels, MEASURES)
    by_hand_merged = _ir_measures(OFFICIAL + [("q1", "d5", 1), ("q3", "d6", 1), ("q3", "d1", 2)])
    by_hand_mine = _ir_measures([("q1", "d2", 1), ("q1", "d5", 1), ("q3", "d1", 2), ("q3", "d6", 1), ("q4", "d4", 0)])
    for ev, by_hand in ((merged, by_hand_merged), (official, _ir_measures(OFFICIAL)), (mine, by_hand_mine)):
        assert set(ev.per_query.index) == set(by_hand)
        for q, values in by_hand.items():
            for m in MEASURES:
                assert ev.query(q)[m] == pytest.approx(values[m], abs=1e-12), (q, m)
    # worked by hand: on q1 the user's d5 (ranked 1st) is relevant, where officially the first relevant is d1 at rank 3
    assert official.query("q1")["RR@10"] == pytest.approx(1 / 3)
    assert merged.query("q1")["RR@10"] == 1.0
    assert merged.query("q1")["P@2"] == 0.5  # d5 relevant, d2 officially 0 (official wins over ann's 1)
    assert mine.query("q1")["P@2"] == 1.0  # mine alone: ann's d2 = 1 counts
    assert "q2" not in mine.per_query.index  # nobody graded q2 (can't tell is no grade): not evaluated with mine


def test_cut_at_the_deepest_cutoff_changes_no_value() -> None:
    rng = np.random.default_rng(7)
    docs = [f"d{i}" for i in range(300)]
    qrels_rows = [(f"q{q}", d, int(rng.integers(0, 3))) for q in range(30) for d in rng.choice(docs, 40, replace=False)]
    qrels = Qrels.from_frame(pd.DataFrame(qrels_rows, columns=["qid", "docid", "relevance"]), "test")
    run = Run.from_dict({f"q{q}": {d: float(s) for d, s in zip(docs, rng.normal(size=len(docs)))} for q in range(30)}, name="r")
    measures = ["nDCG@10", "nDCG@20", "R@100", "RR@10", "Judged@10", "P@5", "AP@100", "Success@10", "P@20", "R@50"]
    parsed = [ir_measures.parse_measure(m) for m in measures]
    assert evaluation_depth(parsed) == 100
    ours = evaluate(run, qrels, measures)
    full = {q: {d: -float(r) for d, r in zip(g["docid"], g["rank"])} for q, g in run.frame.groupby("qid")}
    for m in ir_measures.iter_calc(parsed, qrels.frame.rename(columns={"qid": "query_id", "docid": "doc_id"}), full):
        assert ours.query(m.query_id)[str(m.measure)] == m.value, (m.query_id, str(m.measure))


def test_evaluation_depth_reads_whole_runs_where_it_must() -> None:
    parse = ir_measures.parse_measure
    assert evaluation_depth([parse("nDCG@10"), parse("R@100"), parse("RR@10"), parse("Judged@10")]) == 100
    assert evaluation_depth([parse("nDCG@10"), parse("AP")]) is None  # AP reads the whole ranking
    assert evaluation_depth([parse("nDCG(judged_only=True)@10")]) is None  # unjudged removed first: deeper ones move up
    assert evaluation_depth([parse("Rprec")]) is None


def test_qrels_with_users_judgements_are_never_cached(judged, tmp_path, monkeypatch) -> None:
    import importlib

    ev = importlib.import_module("retrieval.evaluate")  # the module (the package's name "evaluate" is the function)

    class NoCache:
        def key(self, *a, **k):
            raise AssertionError("merged qrels must not reach the cache")

        get_or_build = key

    monkeypatch.setattr(ev, "run_checksum", lambda run: "0" * 64)  # as if the run came from the cache
    run = _run()
    first = cached_evaluate(run, judged.qrels("merged").qrels, cache=NoCache(), dataset_sha256="x", split="test")
    judged.set("q2", "d3", 1, judge="dan")  # a new judgement changes the merged value at once
    second = cached_evaluate(run, judged.qrels("merged").qrels, cache=NoCache(), dataset_sha256="x", split="test")
    assert first.query("q2")["RR@10"] == 0.5 and second.query("q2")["RR@10"] == 1.0


def test_qrels_from_a_frame_is_strict() -> None:
    frame = pd.DataFrame({"qid": [1, 1], "docid": ["a", "b"], "relevance": [1.0, 0.0]})
    q = Qrels.from_frame(frame, "test", source="mine")
    assert q.frame["qid"].tolist() == ["1", "1"] and q.frame["relevance"].dtype == "int64" and q.source == "mine"
    with pytest.raises(ValueError, match="judge document a twice for query 1"):
        Qrels.from_frame(pd.concat([frame, frame.iloc[[0]]]), "test")
    with pytest.raises(ValueError, match="lacks columns"):
        Qrels.from_frame(frame.drop(columns="relevance"), "test")


def test_choose_official_is_the_official_object(judged) -> None:
    chosen = choose_qrels(judged.official, judged.frame(), "official")
    assert chosen.qrels is judged.official and chosen.describe().startswith("official qrels (7 judgements, 4 queries)")
