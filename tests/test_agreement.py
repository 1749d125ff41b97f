"""Ranking agreement: overlap@k, RBO (Webber, Moffat & Zobel 2010) and Kendall's tau, checked against the
published definition recomputed here independently and against hand-worked textbook values."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from retrieval.agreement import (
    agreement,
    agreement_frame,
    agreement_summary,
    kendall_tau_shared,
    most_disagreeing,
    overlap_at_k,
    pairwise_agreement,
    rbo_ext,
    rbo_min,
)
from retrieval.run import Run


def rbo_by_definition(a, b, p, depth=4000, extrapolate=True):
    """RBO as the paper defines it (Eq. 7): (1-p) * sum_d p^(d-1) A_d, summed far enough that p^depth vanishes.

    Below the evaluated lists the agreement is continued the way RBO_ext assumes (Sec. 4.3/5: the shorter
    list's unseen items agree at rate X_s/s, and below the longer list the agreement stays at A_l);
    with ``extrapolate=False`` nothing below the evaluated depth agrees (RBO_min's assumption).
    Overlaps are recomputed from set intersections of prefixes, not incrementally.
    """
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    s, l = len(short), len(long)  # noqa: E741 (the paper's names for the two lengths)
    x = {d: len(set(short[: min(d, s)]) & set(long[:d])) for d in range(1, l + 1)}
    total = 0.0
    for d in range(1, depth + 1):
        if d <= l:
            agree = x[d] / d
            if extrapolate and d > s:
                agree += x[s] * (d - s) / (s * d)
        elif extrapolate:
            agree = x[l] / l + x[s] * (l - s) / (s * l)
        else:
            agree = x[l] / d
        total += p ** (d - 1) * agree
    return (1 - p) * total


def test_identical_and_disjoint_lists():
    docs = [f"d{i}" for i in range(50)]
    for p in (0.5, 0.9, 0.98):
        assert rbo_ext(docs, docs, p) == pytest.approx(1.0, abs=1e-12)
        assert rbo_ext(docs[:10], [f"x{i}" for i in range(10)], p) == 0.0
        assert rbo_min(docs[:10], [f"x{i}" for i in range(10)], p) == 0.0
    assert overlap_at_k(docs, docs) == 1.0 and overlap_at_k(docs, docs[::-1]) == 0.0
    assert kendall_tau_shared(docs, docs) == (1.0, 50)
    assert kendall_tau_shared(docs, docs[::-1])[0] == pytest.approx(-1.0)
    assert rbo_ext([], []) == 1.0 and rbo_ext(["a"], []) == 0.0


def test_hand_worked_values():
    # Swapping the top two: X_1 = 0, X_2 = 2, so RBO_ext = (1-p)/p * (2/2) p^2 + (2/2) p^2 = (1-p) p + p^2 = p.
    for p in (0.5, 0.9):
        assert rbo_ext(["a", "b"], ["b", "a"], p) == pytest.approx(p)
    # [a,b,c] vs [a,c,b], p=0.9: X = 1, 1, 3 -> (0.1/0.9)(0.9 + 0.81/2 + 3*0.729/3) + 1 * 0.729
    expected = 0.1 / 0.9 * (0.9 + 0.405 + 0.729) + 0.729
    assert rbo_ext(["a", "b", "c"], ["a", "c", "b"], 0.9) == pytest.approx(expected, abs=1e-12)
    # RBO_min of identical lists of depth 1: (1-p)/p * (0 - ln(1-p)) = -(1-p) ln(1-p) / p
    assert rbo_min(["a"], ["a"], 0.9) == pytest.approx(-0.1 * math.log(0.1) / 0.9)


@pytest.mark.parametrize("seed", range(4))
def test_rbo_matches_the_definition_on_random_rankings(seed):
    rng = random.Random(seed)
    for _ in range(40):
        pool = [f"d{i}" for i in range(rng.randint(2, 25))]
        a = rng.sample(pool, rng.randint(1, len(pool)))
        b = rng.sample(pool, rng.randint(1, len(pool)))
        p = rng.choice([0.5, 0.8, 0.9, 0.95])
        assert rbo_ext(a, b, p) == pytest.approx(rbo_by_definition(a, b, p), abs=1e-9)
        k = min(len(a), len(b))
        assert rbo_min(a, b, p) == pytest.approx(rbo_by_definition(a[:k], b[:k], p, extrapolate=False), abs=1e-9)
        assert rbo_min(a, b, p) <= rbo_ext(a, b, p) + 1e-12


def test_rbo_is_top_weighted_and_symmetric():
    base = [f"d{i}" for i in range(20)]
    swap_top = [base[1], base[0], *base[2:]]
    swap_bottom = [*base[:18], base[19], base[18]]
    assert rbo_ext(base, swap_top) < rbo_ext(base, swap_bottom) < 1.0
    other = base[::2] + base[1::2]
    assert rbo_ext(base, other) == pytest.approx(rbo_ext(other, base))
    assert rbo_ext(base, other[:7]) == pytest.approx(rbo_ext(other[:7], base))


def test_kendall_tau_on_shared_documents_only():
    tau, shared = kendall_tau_shared(["a", "x", "b", "c"], ["b", "a", "y", "c"])
    # shared a, b, c: ranks (0, 2, 3) vs (1, 0, 3): pairs (a,b) discordant, (a,c) and (b,c) concordant -> 1/3
    assert shared == 3 and tau == pytest.approx(1 / 3)
    assert math.isnan(kendall_tau_shared(["a", "b"], ["a", "z"])[0])
    with pytest.raises(ValueError, match="twice"):
        rbo_ext(["a", "a"], ["a"])


def _run(lists):
    return Run.from_records(((q, d, float(len(docs) - i)) for q, docs in lists.items() for i, d in enumerate(docs)), "r")


def test_agreement_frame_per_query_and_most_disagreeing():
    docs = [f"d{i:02d}" for i in range(30)]
    a = _run({"q1": docs, "q2": docs, "q3": docs[:5]})
    b = _run({"q1": docs, "q2": docs[::-1], "q4": docs})
    frame = agreement_frame(a, b, ["q1", "q2", "q3", "q4"], depth=20)
    assert list(frame.columns) == ["qid", "overlap@10", "rbo", "rbo_min", "kendall_tau", "shared", "depth_a", "depth_b"]
    row = frame.set_index("qid")
    assert row.loc["q1", "rbo"] == pytest.approx(1.0) and row.loc["q1", "overlap@10"] == 1.0
    assert row.loc["q1", "kendall_tau"] == pytest.approx(1.0) and row.loc["q1", "shared"] == 20
    assert row.loc["q2", "overlap@10"] == 0.0  # top 20 of reversed 30: d29..d10 vs d00..d19 share d10..d19
    assert row.loc["q2", "shared"] == 10 and row.loc["q2", "kendall_tau"] == pytest.approx(-1.0)
    assert row.loc["q3", "rbo"] == 0.0 and row.loc["q3", "depth_b"] == 0 and math.isnan(row.loc["q3", "kendall_tau"])
    worst = most_disagreeing(frame, 2)
    assert set(worst["qid"]) == {"q3", "q4"} and worst["rbo"].is_monotonic_increasing
    assert rbo_ext(docs[:20], docs[::-1][:20]) == pytest.approx(row.loc["q2", "rbo"])


def test_pairwise_and_summary():
    docs = [f"d{i}" for i in range(12)]
    runs = {"x": _run({"q1": docs}), "y": _run({"q1": docs[::-1]}), "z": _run({"q1": docs})}
    pairs = pairwise_agreement(runs)
    assert list(map(tuple, pairs[["a", "b"]].to_numpy())) == [("x", "y"), ("x", "z"), ("y", "z")]
    assert pairs.set_index(["a", "b"]).loc[("x", "z"), "rbo"].item() == pytest.approx(1.0)
    summary = agreement_summary(pairs)
    assert set(summary["measure"]) == {"overlap@10", "rbo", "rbo_min", "kendall_tau"}
    xz = summary[(summary.a == "x") & (summary.b == "z") & (summary.measure == "rbo")].iloc[0]
    assert xz["mean"] == pytest.approx(1.0) and xz["count"] == 1
    single = agreement_summary(agreement_frame(runs["x"], runs["y"]))
    assert "a" not in single.columns and len(single) == 4


def test_agreement_truncates_to_depth():
    a = [f"d{i}" for i in range(200)]
    b = a[:100] + [f"x{i}" for i in range(100)]
    ag = agreement(a, b, depth=100)
    assert (ag.depth_a, ag.depth_b, ag.shared) == (100, 100, 100) and ag.rbo == pytest.approx(1.0)
    assert isinstance(agreement_frame(_run({"q": a}), _run({"q": b})), pd.DataFrame)
    assert np.isfinite(ag.rbo_min)
