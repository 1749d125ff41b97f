"""Judging the holes: the depth-k pool, holes against the official qrels, the queue's stated priority rule, progress
counts, the computed query lists (most unjudged, my notes) and the variance of nDCG@10 across systems."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from retrieval.evaluate import evaluate
from retrieval.judgements import CANT_TELL, open_store
from retrieval.judgements.pooling import judging_queue, order_queue, pool, progress
from retrieval.run import Run
from retrieval.stats import highest_variance

from .judgements_fixtures import tiny_ds  # noqa: F401  (fixture)


def _run(name: str, ranking: dict[str, list[str]]) -> Run:
    return Run.from_dict({q: {d: float(len(ds) - i) for i, d in enumerate(ds)} for q, ds in ranking.items()}, name=name)


# Official qrels of the tiny dataset: q1: d1 d3 d2; q2: d2 d6; q3: d3; q4: d4.
RUNS = {
    "a": _run("a", {"q1": ["d5", "d1", "d4", "d6"], "q2": ["d4", "d2", "d1"], "q3": ["d3", "d5"]}),
    "b": _run("b", {"q1": ["d4", "d5", "d2", "d1"], "q2": ["d1", "d5", "d6"], "q3": ["d6", "d3"]}),
    "c": _run("c", {"q1": ["d5", "d6", "d1", "d3"], "q2": ["d5", "d1", "d2"], "q4": ["d2"]}),
}


@pytest.fixture
def j(tiny_ds, tmp_path):  # noqa: F811
    return open_store(f"sqlite:///{tmp_path / 'j.sqlite3'}").dataset(tiny_ds, "test")


def test_pool_counts_systems_weights_and_ranks() -> None:
    p = pool(RUNS, k=3).set_index(["qid", "docid"])
    d5 = p.loc[("q1", "d5")]
    assert d5["systems"] == 3 and d5["best_rank"] == 1 and d5["ranks"] == {"a": 1, "b": 2, "c": 1}
    assert d5["weight"] == pytest.approx(1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(2))
    assert ("q1", "d3") not in p.index  # c ranks it 4th: outside the top 3
    # top 1: a q1 d5, q2 d4, q3 d3; b q1 d4, q2 d1, q3 d6; c q1 d5 (shared with a), q2 d5, q4 d2
    assert len(pool(RUNS, k=1)) == 8
    with pytest.raises(ValueError):
        pool(RUNS, k=0)


def test_queue_follows_the_stated_priority_rule(j) -> None:
    queue = j.queue(RUNS, k=3)
    official = set(zip(j.official.frame["qid"], j.official.frame["docid"]))
    assert not any((q, d) in official for q, d in zip(queue["qid"], queue["docid"]))
    keys = list(zip(-queue["systems"], -queue["weight"], queue["best_rank"], queue["qid"], queue["docid"]))
    assert keys == sorted(keys)  # systems desc, weight desc, best rank asc, qid, docid
    assert (queue.iloc[0]["qid"], queue.iloc[0]["docid"]) == ("q1", "d5")  # all three runs rank it in the top 3
    # q2: d5 (b 2nd, c 1st) and d4 (a 1st) and d1 (a 3rd, b 1st, c 2nd): d1 before d5 before d4
    q2 = queue[queue["qid"] == "q2"]["docid"].tolist()
    assert q2.index("d1") < q2.index("d5") < q2.index("d4")


def test_order_breaks_ties_by_weight_then_best_rank_then_ids() -> None:
    frame = pd.DataFrame(
        {
            "qid": ["2", "1", "1", "1", "1"],
            "docid": ["x", "b", "a", "c", "d"],
            "systems": [1, 1, 1, 1, 2],
            "weight": [0.5, 0.5, 0.5, 0.9, 0.1],
            "best_rank": [3, 3, 3, 1, 9],
        }
    )
    assert order_queue(frame)["docid"].tolist() == ["d", "c", "a", "b", "x"]


def test_progress_and_holes_after_judging(j) -> None:
    before = j.progress(RUNS, k=3)
    assert (
        before.filled == 0
        and before.holes == len(j.queue(RUNS, k=3))
        and str(before) == f"0 of {before.holes} holes in the top-3 pool judged"
    )
    j.set("q1", "d5", 1, judge="ann")
    j.set("q1", "d4", CANT_TELL, judge="bob")  # looked at: fills the hole, though not a grade
    j.set("q1", "d1", 0, judge="ann")  # officially judged already: not a hole
    after = j.progress(RUNS, k=3)
    assert (after.holes, after.filled, after.left) == (before.holes, 2, before.holes - 2)
    assert str(after) == f"2 of {before.holes} holes in the top-3 pool judged"
    assert j.progress(RUNS, k=3, judge="ann").filled == 1
    queue = j.queue(RUNS, k=3)
    assert ("q1", "d5") not in set(zip(queue["qid"], queue["docid"])) and len(queue) == before.holes - 2
    holes = j.holes("q1", RUNS, k=3)
    assert set(holes["docid"]) == {"d5", "d4", "d6"} and holes.set_index("docid")["filled"].to_dict() == {
        "d5": True,
        "d4": True,
        "d6": False,
    }
    # the split-level holes of q1 are the query's holes
    split_holes = judging_queue(RUNS, j.official, None, k=3)
    assert set(split_holes[split_holes["qid"] == "q1"]["docid"]) == {"d5", "d4", "d6"}
    assert progress(RUNS, j.official, None, k=3).queries == 4  # q1, q2, q3 and q4 (c ranks d2 there) have holes


def test_stale_judgements_do_not_fill_holes(j, tiny_ds) -> None:  # noqa: F811
    j.set("q1", "d5", 1, judge="ann")
    from sqlalchemy import update

    from retrieval.judgements.schema import JudgementRow

    with j.db.session(write=True) as s:  # as if made on another version of the corpus
        s.execute(update(JudgementRow).values(corpus_checksum="0" * 64))
    assert j.progress(RUNS, k=3).filled == 0
    assert not j.holes("q1", RUNS, k=3).set_index("docid")["filled"]["d5"]


def test_most_unjudged_and_my_notes(j) -> None:
    most = j.most_unjudged(RUNS, k=3)
    assert most["open"].is_monotonic_decreasing and most.iloc[0]["qid"] in {"q1", "q2"}
    counts = dict(zip(most["qid"], most["open"]))
    queue = j.queue(RUNS, k=3)
    assert counts == queue.groupby("qid").size().to_dict()
    for docid in j.holes("q2", RUNS, k=3)["docid"]:
        j.set("q2", docid, 0, judge="ann")
    assert "q2" not in set(j.most_unjudged(RUNS, k=3)["qid"])
    j.set_query_note("q3", "check", judge="ann")
    assert j.noted_queries("ann") == ["q3"]


def test_highest_variance_across_systems(j) -> None:
    evals = {name: evaluate(run, j.official) for name, run in RUNS.items()}
    frame = highest_variance(evals)
    assert list(frame.columns[:2]) == ["variance", "mean"] and set(frame.columns[2:]) == set(RUNS)
    assert frame["variance"].is_monotonic_decreasing
    values = pd.DataFrame({name: ev.per_query["nDCG@10"] for name, ev in evals.items()})
    assert frame["variance"].to_dict() == pytest.approx(values.var(axis=1, ddof=0).to_dict())
    assert len(highest_variance(evals, n=2)) == 2


def test_one_query_holes_are_the_pools_holes_of_that_query(tiny_ds) -> None:  # noqa: F811
    """Compare's per-query holes (a plain-Python path, asked at every rerun) equal the split-wide pandas path
    (``holes(pool(...))``) restricted to the query, filled flags and order included, at several depths; random runs
    with many equal weights check the order rule on ties."""
    import random

    from retrieval.judgements.pooling import holes, query_holes

    official = tiny_ds.qrels("test")
    rng = random.Random(3)
    docs = [f"d{i}" for i in range(1, 12)]
    runs = dict(RUNS)
    for name in ("r1", "r2", "r3", "r4"):
        runs[name] = _run(name, {q: rng.sample(docs, 8) for q in ("q1", "q2", "q3", "q4", "q9")})
    filled = pd.DataFrame([("q1", "d5"), ("q2", "d4"), ("q9", "d7")], columns=["qid", "docid"])
    for k in (1, 3, 10):
        whole = holes(pool(runs, k), official, filled)
        for qid in ("q1", "q2", "q3", "q4", "q9", "nope"):
            one = query_holes(qid, runs, official, filled, k)
            expected = whole[whole["qid"] == qid].reset_index(drop=True)
            assert list(one.columns) == list(expected.columns)
            assert one[["qid", "docid", "systems", "best_rank", "filled"]].equals(
                expected[["qid", "docid", "systems", "best_rank", "filled"]].astype({"filled": bool})
            ), (k, qid)
            assert one["weight"].tolist() == pytest.approx(expected["weight"].tolist(), abs=1e-12)
            assert one["ranks"].tolist() == expected["ranks"].tolist()
    with pytest.raises(ValueError):
        query_holes("q1", runs, official, None, 0)
