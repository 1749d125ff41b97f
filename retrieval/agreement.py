"""How far two rankings agree: overlap@k, rank-biased overlap and Kendall's tau, per query and per pair of runs.

All three are computed on the runs as ranked by the project's one tie rule (``Run.for_query`` order).

* **overlap@k** = |top-k(A) ∩ top-k(B)| / k (default k = 10).
* **RBO** (rank-biased overlap, Webber, Moffat & Zobel 2010, "A similarity measure for indefinite rankings",
  ACM TOIS 28(4)), persistence ``p = 0.9`` (the top 10 ranks carry about 86% of the weight). The value
  reported as ``rbo`` is **RBO_ext**, the paper's point estimate (Eq. 32, which handles lists of different
  lengths; Eq. 30 when they are equal): it extrapolates the agreement seen at the deepest evaluated rank to
  the unseen tail. We report RBO_ext rather than a truncated prefix sum because it is the only one of the
  paper's quantities that behaves like a similarity on finite runs: identical lists give exactly 1 and
  disjoint lists 0, whatever the depth, whereas the truncated sum of Eq. 4 gives ``1 - p^k`` for identical
  lists of depth k and RBO_min (Eq. 11) is a lower bound that is below 1 for identical lists too.
  ``rbo_min`` (Eq. 11: assume nothing beyond the evaluated depth agrees) is given beside it as the
  certain lower bound; both are computed on the top ``depth`` documents (default 100) of each run, so a
  1,000-deep BM25 run and a 100-deep rerank are compared on the same footing.
* **Kendall's tau** (``scipy.stats.kendalltau``, tau-b; there are no ties among ranks) between the two
  runs' ranks of the documents both put in their top ``depth``; NaN when fewer than two are shared.

Example:
    >>> round(rbo_ext(["a", "b"], ["b", "a"], p=0.9), 10)  # swapping the top two costs 1 - p
    0.9
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from .run import Run

DEFAULT_P = 0.9
DEFAULT_K = 10
DEFAULT_DEPTH = 100
COLUMNS = ("qid", "overlap@10", "rbo", "rbo_min", "kendall_tau", "shared", "depth_a", "depth_b")


def _check(a: Sequence[str], b: Sequence[str], p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"RBO persistence p must be strictly between 0 and 1, not {p}")
    for name, lst in (("first", a), ("second", b)):
        if len(set(lst)) != len(lst):
            raise ValueError(f"the {name} ranking lists a document twice")


def overlap_at_k(a: Sequence[str], b: Sequence[str], k: int = DEFAULT_K) -> float:
    """|top-k(a) ∩ top-k(b)| / k.

    Example:
        >>> overlap_at_k(["a", "b", "c"], ["c", "x", "a"], k=2)
        0.0
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    return len(set(a[:k]) & set(b[:k])) / k


def _overlaps(short: Sequence[str], long: Sequence[str]) -> list[int]:
    """X_d for d = 1..len(long): |short[:min(d, s)] ∩ long[:d]| (Webber et al.'s overlap at depth d)."""
    seen_s: set[str] = set()
    seen_l: set[str] = set()
    x = 0
    out = []
    for d in range(len(long)):
        if d < len(short):
            item = short[d]
            if item in seen_l:
                x += 1
            seen_s.add(item)
        item = long[d]
        if item in seen_s:
            x += 1
        seen_l.add(item)
        out.append(x)
    return out


def rbo_ext(a: Sequence[str], b: Sequence[str], p: float = DEFAULT_P) -> float:
    """RBO_ext of two rankings (Webber et al. 2010, Eq. 32; lists may differ in length).

    With ``s``/``l`` the shorter/longer length and ``X_d`` the overlap at depth d (for d > s, of the whole
    shorter list with the top d of the longer)::

        RBO_ext = (1-p)/p * [ sum_{d=1..l} X_d/d p^d + sum_{d=s+1..l} X_s (d-s)/(s d) p^d ]
                  + [ (X_l - X_s)/l + X_s/s ] p^l

    Two empty lists give 1, one empty list 0.
    """
    _check(a, b, p)
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    s, l = len(short), len(long)  # noqa: E741 (the paper's names: s and l, the short and long lengths)
    x = _overlaps(short, long)
    x_s, x_l = x[s - 1], x[l - 1]
    total = sum(x[d - 1] / d * p**d for d in range(1, l + 1))
    total += sum(x_s * (d - s) / (s * d) * p**d for d in range(s + 1, l + 1))
    value = (1 - p) / p * total + ((x_l - x_s) / l + x_s / s) * p**l
    return min(1.0, max(0.0, value))


def rbo_min(a: Sequence[str], b: Sequence[str], p: float = DEFAULT_P) -> float:
    """RBO_min (Webber et al. 2010, Eq. 11): the lower bound, assuming no agreement below the evaluated depth.

    Evaluated at depth k = the shorter list's length (a lower bound stays a lower bound when the
    longer list's extra documents are not looked at)::

        RBO_min = (1-p)/p * ( sum_{d=1..k} (X_d - X_k) p^d / d  -  X_k ln(1-p) )
    """
    _check(a, b, p)
    k = min(len(a), len(b))
    if k == 0:
        return 1.0 if not a and not b else 0.0
    x = _overlaps(a[:k], b[:k])
    x_k = x[-1]
    value = (1 - p) / p * (sum((x[d - 1] - x_k) * p**d / d for d in range(1, k + 1)) - x_k * math.log(1 - p))
    return min(1.0, max(0.0, value))


def kendall_tau_shared(a: Sequence[str], b: Sequence[str]) -> tuple[float, int]:
    """(Kendall's tau between the two rankings of the documents both contain, how many they share); NaN tau below 2."""
    rank_b = {d: i for i, d in enumerate(b)}
    shared = [(i, rank_b[d]) for i, d in enumerate(a) if d in rank_b]
    if len(shared) < 2:
        return float("nan"), len(shared)
    from scipy.stats import kendalltau

    tau = kendalltau([r for r, _ in shared], [r for _, r in shared]).statistic
    return float(tau), len(shared)


@dataclass(frozen=True)
class Agreement:
    """Agreement of two rankings of one query (see the module docstring for each number)."""

    overlap_at_k: float
    rbo: float
    rbo_min: float
    kendall_tau: float
    shared: int
    depth_a: int
    depth_b: int


def agreement(
    a: Sequence[str], b: Sequence[str], *, k: int = DEFAULT_K, p: float = DEFAULT_P, depth: int = DEFAULT_DEPTH
) -> Agreement:
    """Every agreement number for two ranked docid lists (best first), on their top ``depth``."""
    a, b = list(a[:depth]), list(b[:depth])
    tau, shared = kendall_tau_shared(a, b)
    return Agreement(overlap_at_k(a, b, k), rbo_ext(a, b, p), rbo_min(a, b, p), tau, shared, len(a), len(b))


def agreement_frame(
    run_a: Run,
    run_b: Run,
    qids: Iterable[str] | None = None,
    *,
    k: int = DEFAULT_K,
    p: float = DEFAULT_P,
    depth: int = DEFAULT_DEPTH,
) -> pd.DataFrame:
    """One row per query: ``qid, overlap@<k>, rbo, rbo_min, kendall_tau, shared, depth_a, depth_b``.

    ``qids`` defaults to the queries of either run (pass a split's judged qids to cover every query of the
    split); a query one run lacks has an empty ranking there (overlap 0, RBO 0, tau NaN).
    """
    wanted = list(dict.fromkeys(map(str, qids))) if qids is not None else list(dict.fromkeys([*run_a.qids, *run_b.qids]))
    rows = []
    for q in wanted:
        ag = agreement(list(run_a.for_query(q, depth)["docid"]), list(run_b.for_query(q, depth)["docid"]), k=k, p=p, depth=depth)
        rows.append((q, ag.overlap_at_k, ag.rbo, ag.rbo_min, ag.kendall_tau, ag.shared, ag.depth_a, ag.depth_b))
    columns = ["qid", f"overlap@{k}", *COLUMNS[2:]]
    return pd.DataFrame(rows, columns=columns).astype({"qid": str, "shared": "int64", "depth_a": "int64", "depth_b": "int64"})


def most_disagreeing(frame: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` queries of an :func:`agreement_frame` with the lowest RBO (ties: lower overlap, then qid)."""
    overlap = next(c for c in frame.columns if c.startswith("overlap@"))
    return frame.sort_values(["rbo", overlap, "qid"], kind="mergesort").head(n).reset_index(drop=True)


def pairwise_agreement(
    runs: Mapping[str, Run],
    qids: Iterable[str] | None = None,
    *,
    k: int = DEFAULT_K,
    p: float = DEFAULT_P,
    depth: int = DEFAULT_DEPTH,
) -> pd.DataFrame:
    """:func:`agreement_frame` for every pair of the named runs, stacked, with columns ``a, b`` first."""
    qids = list(qids) if qids is not None else None
    frames = []
    for (name_a, run_a), (name_b, run_b) in combinations(runs.items(), 2):
        f = agreement_frame(run_a, run_b, qids, k=k, p=p, depth=depth)
        f.insert(0, "b", name_b)
        f.insert(0, "a", name_a)
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=["a", "b", "qid", f"overlap@{k}", *COLUMNS[2:]])
    return pd.concat(frames, ignore_index=True)


def agreement_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Distribution over queries of each agreement number in ``frame``: one row per number (and per pair
    ``a, b`` when present) with ``mean, median, q25, q75, count`` (NaN taus are left out of their count)."""
    cols = [c for c in frame.columns if c.startswith("overlap@")] + ["rbo", "rbo_min", "kendall_tau"]
    pairs = frame.groupby(["a", "b"], sort=False) if {"a", "b"} <= set(frame.columns) else [((), frame)]
    rows = []
    for key, part in pairs:
        names = dict(zip(("a", "b"), key)) if key else {}
        for c in cols:
            v = part[c].dropna()
            rows.append(
                {
                    **names,
                    "measure": c,
                    "mean": v.mean(),
                    "median": v.median(),
                    "q25": v.quantile(0.25),
                    "q75": v.quantile(0.75),
                    "count": len(v),
                }
            )
    return pd.DataFrame(rows)
