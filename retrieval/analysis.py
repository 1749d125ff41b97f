"""Per-query analysis of runs: side-by-side columns, contrasting queries, failures, paired tests.

Pure functions over :class:`~retrieval.run.Run`, :class:`~retrieval.evaluate.Evaluation` and
:class:`~retrieval.beir.Qrels`; no Streamlit. Ranks always come from ``Run.frame["rank"]`` (the
project's one tie rule) and measures from :func:`retrieval.evaluate.evaluate`; nothing here
recomputes either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .evaluate import Evaluation
from .run import Run

# ---- relevance badges ------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """How a document's judgement is shown: ``kind`` is "relevant", "not_relevant" or "unjudged"."""

    label: str
    kind: str
    grade: int | None


def relevance_badge(grade: int | None) -> Badge:
    """The badge for a qrels grade (``None``: the pair was never judged).

    Example:
        >>> relevance_badge(2).label, relevance_badge(0).label, relevance_badge(None).label
        ('relevant (2)', 'not relevant', 'unjudged')
    """
    if grade is None:
        return Badge("unjudged", "unjudged", None)
    if grade <= 0:
        return Badge("not relevant" if grade == 0 else f"not relevant ({grade})", "not_relevant", grade)
    return Badge(f"relevant ({grade})", "relevant", grade)


# ---- one run, looked up fast -----------------------------------------------------------------


class RunLookup:
    """Per-query views of a run, computed once per query and kept (the run is immutable)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.depth = run.depth()
        self._ranks: dict[str, dict[str, int]] = {}
        self._rows: dict[str, tuple[tuple[str, int, float], ...]] = {}

    @property
    def name(self) -> str:
        return self.run.name

    def ranks(self, qid: str) -> dict[str, int]:
        """``{docid: rank}`` for one query (ranks from the run's ``rank`` column)."""
        found = self._ranks.get(qid)
        if found is None:
            found = self._ranks[qid] = self.run.rank_lookup(qid)
        return found

    def top(self, qid: str, k: int) -> tuple[tuple[str, int, float], ...]:
        """``(docid, rank, score)`` of the first ``k`` documents, in rank order."""
        rows = self._rows.get(qid)
        if rows is None:
            frame = self.run.for_query(qid)
            rows = tuple(zip(frame["docid"].tolist(), frame["rank"].astype(int).tolist(), frame["score"].astype(float).tolist()))
            self._rows[qid] = rows
        return rows[:k]


@dataclass(frozen=True)
class OtherRank:
    """Where another column ranks a document: ``rank`` None means not in its top ``depth``."""

    system: str
    rank: int | None
    depth: int

    @property
    def label(self) -> str:
        return f"#{self.rank}" if self.rank is not None else f"not in top {self.depth}"


@dataclass(frozen=True)
class RankedDoc:
    rank: int
    docid: str
    score: float
    badge: Badge
    others: tuple[OtherRank, ...]


@dataclass(frozen=True)
class MissedDoc:
    """A relevant document outside a column's top k; ``rank`` None when not retrieved at all."""

    docid: str
    grade: int
    rank: int | None


@dataclass(frozen=True)
class Column:
    system: str
    docs: tuple[RankedDoc, ...]
    missed: tuple[MissedDoc, ...]
    retrieved: int
    depth: int = field(default=0)


def query_column(
    lookup: RunLookup,
    qid: str,
    k: int,
    judgements: Mapping[str, int] | None,
    others: Mapping[str, RunLookup] | None = None,
    min_rel: int = 1,
) -> Column:
    """One column of the Compare view: top ``k`` with badges and ranks in the ``others`` columns.

    ``judgements`` are the query's qrels (``{docid: grade}``); ``None`` for a query without
    judgements (every document is then "unjudged" and nothing is listed as missed).
    """
    judgements = judgements or {}
    others = {name: o for name, o in (others or {}).items() if o is not lookup}
    docs = []
    for docid, rank, score in lookup.top(qid, k):
        other_ranks = tuple(OtherRank(name, o.ranks(qid).get(docid), o.depth) for name, o in others.items())
        docs.append(RankedDoc(rank, docid, score, relevance_badge(judgements.get(docid)), other_ranks))
    ranks = lookup.ranks(qid)
    missed = [
        MissedDoc(docid, grade, ranks.get(docid))
        for docid, grade in judgements.items()
        if grade >= min_rel and not (docid in ranks and ranks[docid] <= k)
    ]
    missed.sort(key=lambda m: (m.rank is None, m.rank or 0, -m.grade, m.docid))
    return Column(lookup.name, tuple(docs), tuple(missed), len(ranks), lookup.depth)


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
        tests=paired_tests(frame["a"].to_numpy(), frame["b"].to_numpy(), permutations=permutations, seed=seed) if with_tests else (),
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
    return TestResult(name, float(res.statistic), float(res.pvalue), f"{len(diff) - nonzero} tied queries dropped (zero_method='wilcox')")


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


# ---- failures across systems --------------------------------------------------------------------


def all_zero_queries(evaluations: Mapping[str, Evaluation], measure: str = "nDCG@10") -> list[str]:
    """Queries on which every system scores 0 on ``measure``."""
    frame = per_query_frame(evaluations, measure)
    if frame.empty:
        return []
    return [str(q) for q in frame.index[(frame.fillna(0) == 0).all(axis=1)]]


def unfound_relevant(runs: Mapping[str, Run], qrels, k: int = 10, min_rel: int = 1) -> pd.DataFrame:
    """Relevant documents that no system ranks in its top ``k``.

    Returns ``qid, docid, grade, best_rank, best_system``: the best rank any system gives the document
    (missing when none retrieved it), sorted by query then grade.
    """
    rel = qrels.frame[qrels.frame["relevance"] >= min_rel].rename(columns={"relevance": "grade"})
    rel = rel[["qid", "docid", "grade"]].reset_index(drop=True)
    best = pd.Series(np.inf, index=rel.index)
    best_system = pd.Series([None] * len(rel), index=rel.index, dtype=object)
    for name, run in runs.items():
        merged = rel.merge(run.frame[["qid", "docid", "rank"]], on=["qid", "docid"], how="left")
        ranks = merged["rank"].astype("float64").fillna(np.inf)
        better = ranks < best
        best = best.where(~better, ranks)
        best_system = best_system.where(~better, name)
    out = rel.assign(best_rank=best.replace(np.inf, np.nan), best_system=best_system)
    out = out[~(best <= k)]
    out["best_rank"] = out["best_rank"].astype("Int64")
    return out.sort_values(["qid", "grade", "docid"], ascending=[True, False, True], kind="mergesort").reset_index(drop=True)


# ---- build time estimates -----------------------------------------------------------------------


def estimate_build_seconds(history: pd.DataFrame, spec: str, corpus_docs: int, docs_by_dataset: Mapping[str, int]) -> float | None:
    """A coarse ETA for building ``spec``'s run on a corpus of ``corpus_docs`` documents.

    ``history`` is :func:`retrieval.runner.list_cached_runs`; earlier builds of the same system
    are scaled linearly by corpus size (the median of their per-document rates). ``None`` when
    this system was never built here.
    """
    if history is None or history.empty:
        return None
    rows = history[(history["system"] == spec) & history["build_seconds"].notna()]
    rates = []
    for ds, secs in zip(rows["dataset"], rows["build_seconds"]):
        docs = docs_by_dataset.get(ds)
        if docs:
            rates.append(float(secs) / docs)
    if not rates:
        return None
    return float(np.median(rates)) * corpus_docs


def format_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1 min 15 s"``; ``None`` -> ``"unknown"``."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec} s" if sec else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# ---- charts (pure DataFrame -> chart) -------------------------------------------------------------


def scatter_chart(comparison: PairedComparison, query_texts: Mapping[str, str] | None = None, *, selectable: bool = True):
    """Altair scatter of per-query values, A on x and B on y, with the diagonal.

    Returns ``(chart, message)``: ``chart`` is None (and ``message`` says why) when there is
    nothing to plot. The point selection is named ``"query"`` and carries the ``qid`` field.
    """
    import altair as alt

    if comparison.n == 0:
        return None, "No queries to plot: the two evaluations share no queries."
    texts = query_texts or {}
    data = comparison.frame.reset_index()
    data["query"] = [texts.get(q, "")[:120] for q in data["qid"]]
    data["outcome"] = np.where(data["diff"] > 0, "B better", np.where(data["diff"] < 0, "A better", "tie"))
    m = comparison.measure
    x = alt.X("a:Q", title=f"A: {comparison.a}  ({m})", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("b:Q", title=f"B: {comparison.b}  ({m})", scale=alt.Scale(domain=[0, 1]))
    tooltip = [
        alt.Tooltip("qid:N", title="query id"),
        alt.Tooltip("query:N", title="query"),
        alt.Tooltip("a:Q", title=f"A: {comparison.a}", format=".4f"),
        alt.Tooltip("b:Q", title=f"B: {comparison.b}", format=".4f"),
        alt.Tooltip("diff:Q", title="difference (B - A)", format="+.4f"),
    ]
    colors = alt.Scale(domain=["A better", "tie", "B better"], range=["#d62728", "#9e9e9e", "#1f77b4"])
    points = alt.Chart(data).mark_circle(size=60, opacity=0.7).encode(
        x=x, y=y, tooltip=tooltip, color=alt.Color("outcome:N", scale=colors, title=None, legend=alt.Legend(orient="bottom"))
    )
    if selectable:
        sel = alt.selection_point(name="query", fields=["qid"], on="click", clear="dblclick")
        points = points.add_params(sel).encode(size=alt.condition(sel, alt.value(110), alt.value(60)))
    diagonal = alt.Chart(pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]})).mark_line(color="#bbbbbb", strokeDash=[4, 4]).encode(x="a:Q", y="b:Q")
    return (diagonal + points).properties(height=420), ""
