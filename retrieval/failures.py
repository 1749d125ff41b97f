"""Failures across systems: queries every system misses, relevant documents no system ranks high."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .evaluate import Evaluation
from .run import Run
from .stats import per_query_frame

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
