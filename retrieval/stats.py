"""Comparing two systems over queries: per-query differences, win/tie/loss and paired significance tests.

Measures come from :func:`retrieval.evaluate.evaluate` (ir_measures); nothing here recomputes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .evaluate import Evaluation

# ---- comparing two systems over queries --------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """A paired significance test: two-sided ``p_value`` (NaN when the test does not apply)."""

    name: str
    statistic: float
    p_value: float
    note: str = ""


@dataclass(frozen=True)
class PairedComparison:
    """System ``a`` against ``b`` on one measure, per query. ``frame``: qid index, a, b, diff (= b - a)."""

    a: str
    b: str
    measure: str
    frame: pd.DataFrame
    a_better: int
    ties: int
    b_better: int
    tests: tuple[TestResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def mean_a(self) -> float:
        return float(self.frame["a"].mean()) if self.n else math.nan

    @property
    def mean_b(self) -> float:
        return float(self.frame["b"].mean()) if self.n else math.nan

    def largest(self, better: str, n: int = 10) -> pd.DataFrame:
        """The ``n`` queries where ``better`` ("a" or "b") beats the other by most (ties excluded)."""
        if better not in ("a", "b"):
            raise ValueError("better must be 'a' or 'b'")
        diff = self.frame["diff"]
        rows = self.frame[diff < 0] if better == "a" else self.frame[diff > 0]
        key = rows["diff"].abs()
        return rows.assign(_k=key).sort_values(["_k"], ascending=False, kind="mergesort").drop(columns="_k").head(n)

    def contrasting(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` queries with the largest absolute difference, either way."""
        rows = self.frame[self.frame["diff"] != 0]
        return rows.assign(_k=rows["diff"].abs()).sort_values("_k", ascending=False, kind="mergesort").drop(columns="_k").head(n)


def per_query_frame(evaluations: Mapping[str, Evaluation], measure: str = "nDCG@10") -> pd.DataFrame:
    """One column per system, one row per query (the union of the evaluations' queries)."""
    cols = {}
    for name, ev in evaluations.items():
        if measure not in ev.per_query.columns:
            raise KeyError(f"{name} was not evaluated with {measure} (has {', '.join(ev.per_query.columns)})")
        cols[name] = ev.per_query[measure]
    frame = pd.DataFrame(cols)
    frame.index.name = "qid"
    return frame


def highest_variance(evaluations: Mapping[str, Evaluation], measure: str = "nDCG@10", n: int | None = None) -> pd.DataFrame:
    """Queries by the variance of ``measure`` across systems, highest first (the query list "highest variance
    across systems"): columns ``variance`` (population variance, ddof=0, over the systems), ``mean``, then one
    per system; ties by qid. Queries a system was not evaluated on are left out."""
    frame = per_query_frame(evaluations, measure).dropna()
    out = pd.DataFrame({"variance": frame.var(axis=1, ddof=0), "mean": frame.mean(axis=1)}).join(frame)
    out = out.reset_index().sort_values(["variance", "qid"], ascending=[False, True], kind="mergesort").set_index("qid")
    return out if n is None else out.head(n)


def compare_pair(
    eval_a: Evaluation,
    eval_b: Evaluation,
    measure: str = "nDCG@10",
    *,
    names: tuple[str, str] | None = None,
    permutations: int = 10_000,
    seed: int = 0,
    with_tests: bool = True,
) -> PairedComparison:
    """Compare per-query values of ``measure``: win/tie/loss counts and three paired tests.

    Only queries present in both evaluations are paired (a note says how many were dropped).
    ``with_tests=False`` skips the significance tests (for a quick list of contrasting queries).
    """
    a_name, b_name = names or (eval_a.run_name or "A", eval_b.run_name or "B")
    a = eval_a.per_query[measure]
    b = eval_b.per_query[measure]
    common = a.index.intersection(b.index, sort=False)
    notes = []
    dropped = len(a.index.union(b.index)) - len(common)
    if dropped:
        notes.append(f"{dropped} queries are evaluated for only one of the two systems and are left out")
    frame = pd.DataFrame({"a": a.loc[common].astype(float), "b": b.loc[common].astype(float)})
    frame["diff"] = frame["b"] - frame["a"]
    frame.index.name = "qid"
    diff = frame["diff"].to_numpy()
    return PairedComparison(
        a_name,
        b_name,
        measure,
        frame,
        a_better=int((diff < 0).sum()),
        ties=int((diff == 0).sum()),
        b_better=int((diff > 0).sum()),
        tests=paired_tests(frame["a"].to_numpy(), frame["b"].to_numpy(), permutations=permutations, seed=seed)
        if with_tests
        else (),
        notes=tuple(notes),
    )


def paired_tests(a: Sequence[float], b: Sequence[float], *, permutations: int = 10_000, seed: int = 0) -> tuple[TestResult, ...]:
    """Paired t-test, Wilcoxon signed-rank and a paired randomization (sign-flip) test, two-sided."""
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length ({len(a)} vs {len(b)})")
    return (paired_t_test(a, b), wilcoxon_test(a, b), randomization_test(a, b, permutations=permutations, seed=seed))


def paired_t_test(a: np.ndarray, b: np.ndarray) -> TestResult:
    from scipy import stats

    name = "paired t-test"
    diff = b - a
    if len(diff) < 2:
        return TestResult(name, math.nan, math.nan, "needs at least 2 queries")
    if np.all(diff == diff[0]):
        if diff[0] == 0:
            return TestResult(name, 0.0, 1.0, "the two systems score every query the same")
        return TestResult(name, math.inf, 0.0, "every query differs by the same amount (zero variance)")
    res = stats.ttest_rel(b, a)
    return TestResult(name, float(res.statistic), float(res.pvalue))


def wilcoxon_test(a: np.ndarray, b: np.ndarray) -> TestResult:
    from scipy import stats

    name = "Wilcoxon signed-rank"
    diff = b - a
    nonzero = int((diff != 0).sum())
    if nonzero == 0:
        return TestResult(name, 0.0, 1.0, "the two systems score every query the same")
    res = stats.wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
    return TestResult(
        name, float(res.statistic), float(res.pvalue), f"{len(diff) - nonzero} tied queries dropped (zero_method='wilcox')"
    )


def randomization_test(a: np.ndarray, b: np.ndarray, *, permutations: int = 10_000, seed: int = 0) -> TestResult:
    """Two-sided sign-flip test of the mean difference; p = (extreme + 1) / (permutations + 1)."""
    name = "paired randomization"
    diff = np.asarray(b, dtype="float64") - np.asarray(a, dtype="float64")
    if len(diff) == 0:
        return TestResult(name, math.nan, math.nan, "no queries")
    observed = abs(diff.mean())
    rng = np.random.default_rng(seed)
    extreme = 0
    chunk = max(1, min(permutations, 2_000_000 // max(1, len(diff))))
    done = 0
    while done < permutations:
        m = min(chunk, permutations - done)
        signs = rng.integers(0, 2, size=(m, len(diff)), dtype=np.int8) * 2 - 1
        means = np.abs((signs * diff).mean(axis=1))
        extreme += int((means >= observed - 1e-12).sum())
        done += m
    p = (extreme + 1) / (permutations + 1)
    return TestResult(name, float(diff.mean()), float(p), f"{permutations:,} sign flips, seed {seed}")
