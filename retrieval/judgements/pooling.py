"""Judging the holes: the unjudged documents in the shown systems' top k, a judging queue, progress counts.

A **pool** is TREC's depth-k pool: the union of every run's top ``k`` documents per query (runs are
:class:`retrieval.run.Run`, ranked by the project's one tie rule). A **hole** is a pooled (query, document) pair
the official qrels do not judge. A hole is **filled** once a user judged it (any judge, or the one judge asked
for), "can't tell" included: that document has been looked at, so it leaves the queue (it still adds no grade).

**Queue order** (the exact priority rule), most useful first:

1. ``systems``: how many runs put the document in their top k, more first (TREC pooling's idea: a document many
   systems retrieve moves many systems' scores);
2. ``weight``: the sum over those runs of ``1 / log2(rank + 1)``, larger first: the discount nDCG gives that rank,
   so this is how much one grade point on this document moves the runs' DCG@k together (a document ranked 1st
   by a run counts 1.0 for it, 10th 0.29);
3. ``best_rank``: the best rank any run gives it, smaller first;
4. then ``qid`` and ``docid`` ascending (string order), so the order is the same on every machine.

Everything here is a pure function of runs and judgements; the store (:mod:`.store`) feeds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..run import Run

POOL_COLUMNS = ("qid", "docid", "systems", "weight", "best_rank", "ranks")


@dataclass(frozen=True)
class PoolProgress:
    """How much of a depth-k pool's holes users have judged."""

    k: int
    holes: int
    filled: int
    pooled: int  # pooled pairs, judged officially or not
    queries: int  # queries with at least one hole
    queries_done: int  # of those, queries whose holes are all filled

    @property
    def left(self) -> int:
        return self.holes - self.filled

    def __str__(self) -> str:
        return f"{self.filled:,} of {self.holes:,} holes in the top-{self.k} pool judged"


def pool(runs: Mapping[str, Run], k: int = 10, qids: list[str] | set[str] | None = None) -> pd.DataFrame:
    """The depth-``k`` pool: one row per pooled (qid, docid) with ``systems`` (runs that put it in their top k),
    ``weight`` (sum of 1 / log2(rank + 1) over those runs), ``best_rank`` and ``ranks`` (``{run name: rank}``)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    parts = []
    for name, run in runs.items():
        frame = run.frame
        top = frame[frame["rank"].to_numpy() <= k]
        if qids is not None:
            top = top[top["qid"].isin(set(qids))]
        parts.append(
            pd.DataFrame(
                {
                    "qid": top["qid"].astype(str),
                    "docid": top["docid"].astype(str),
                    "rank": top["rank"].astype("int64"),
                    "run": name,
                }
            )
        )
    if not parts or all(p.empty for p in parts):
        return _empty_pool()
    rows = pd.concat(parts, ignore_index=True)
    rows["w"] = 1.0 / np.log2(rows["rank"].to_numpy(dtype="float64") + 1.0)
    grouped = rows.groupby(["qid", "docid"], sort=False)
    out = grouped.agg(systems=("run", "size"), weight=("w", "sum"), best_rank=("rank", "min")).reset_index()
    ranks: dict[tuple[str, str], dict[str, int]] = {}
    for q, d, r, name in zip(rows["qid"].tolist(), rows["docid"].tolist(), rows["rank"].tolist(), rows["run"].tolist()):
        ranks.setdefault((q, d), {})[name] = r
    out["ranks"] = [ranks[(q, d)] for q, d in zip(out["qid"], out["docid"])]
    return out[list(POOL_COLUMNS)]


def _empty_pool() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qid": pd.Series(dtype=str),
            "docid": pd.Series(dtype=str),
            "systems": pd.Series(dtype="int64"),
            "weight": pd.Series(dtype="float64"),
            "best_rank": pd.Series(dtype="int64"),
            "ranks": pd.Series(dtype=object),
        }
    )


def _pairs(frame: pd.DataFrame) -> pd.Series:
    return frame["qid"].astype(str) + "\x00" + frame["docid"].astype(str)


def holes(pooled: pd.DataFrame, official, filled: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pooled pairs the official qrels lack, with ``filled`` (a user judged it: a row of ``filled``, which has
    ``qid, docid``), in queue order."""
    official_pairs = set(_pairs(official.frame))
    out = pooled[~_pairs(pooled).isin(official_pairs)].copy()
    done = set(_pairs(filled)) if filled is not None and len(filled) else set()
    out["filled"] = _pairs(out).isin(done).to_numpy() if len(out) else np.zeros(0, dtype=bool)
    return order_queue(out)


def order_queue(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by the module's priority rule: systems desc, weight desc, best rank asc, qid asc, docid asc."""
    if frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(
        ["systems", "weight", "best_rank", "qid", "docid"], ascending=[False, False, True, True, True], kind="mergesort"
    ).reset_index(drop=True)


def judging_queue(runs: Mapping[str, Run], official, filled: pd.DataFrame | None = None, k: int = 10) -> pd.DataFrame:
    """The holes still to judge across a split, in priority order (the module's rule). Columns: ``qid, docid,
    systems, weight, best_rank, ranks``."""
    qids = set(official.qids)
    out = holes(pool(runs, k, qids), official, filled)
    return out[~out["filled"]].drop(columns="filled").reset_index(drop=True)


def progress(runs: Mapping[str, Run], official, filled: pd.DataFrame | None = None, k: int = 10) -> PoolProgress:
    """``"17 of 43 holes in the top-10 pool judged"``: the split's holes and how many users filled."""
    qids = set(official.qids)
    pooled = pool(runs, k, qids)
    h = holes(pooled, official, filled)
    per_query = h.groupby("qid")["filled"].all() if len(h) else pd.Series(dtype=bool)
    return PoolProgress(
        k=k,
        holes=len(h),
        filled=int(h["filled"].sum()) if len(h) else 0,
        pooled=len(pooled),
        queries=len(per_query),
        queries_done=int(per_query.sum()),
    )


def query_holes(qid: str, runs: Mapping[str, Run], official, filled: pd.DataFrame | None = None, k: int = 10) -> pd.DataFrame:
    """One query's holes (filled or not), in queue order: what Compare marks as unjudged in the shown columns."""
    # What holes(pool(...)) gives for this one query, without pandas' grouping (Compare asks at every rerun: that path
    # took a third of a rerun's time); the weights summed exactly (fsum), so the order does not depend on the run order.
    rankings = {
        name: zip(top["docid"].tolist(), top["rank"].tolist())
        for name, run in runs.items()
        for top in [run.for_query(str(qid), k)]
    }
    return ranked_holes(qid, rankings, official, filled, k)


def ranked_holes(
    qid: str, rankings: Mapping[str, Iterable[tuple]], official, filled: pd.DataFrame | None = None, k: int = 10
) -> pd.DataFrame:
    """:func:`query_holes` from each run's ranking of the query, ``(docid, rank, ...)`` in rank order (what a page
    already holds for the columns it shows)."""
    qid = str(qid)
    done = set() if filled is None or not len(filled) else {d for q, d in zip(filled["qid"], filled["docid"]) if str(q) == qid}
    rows = hole_rows(qid, rankings, official, done, k)
    return pd.DataFrame(
        {
            "qid": pd.Series([qid] * len(rows), dtype=str),
            "docid": pd.Series([r.docid for r in rows], dtype=str),
            "systems": pd.Series([r.systems for r in rows], dtype="int64"),
            "weight": pd.Series([r.weight for r in rows], dtype="float64"),
            "best_rank": pd.Series([r.best_rank for r in rows], dtype="int64"),
            "ranks": pd.Series([r.ranks for r in rows], dtype=object),
            "filled": pd.Series([r.filled for r in rows], dtype=bool),
        }
    )


class Hole(NamedTuple):
    """One unjudged document of a query's pool: how many systems put it in their top k, its weight (the sum of
    1/log2(rank+1) over them), its best rank, its rank per system and whether a user judged it."""

    docid: str
    systems: int
    weight: float
    best_rank: int
    ranks: dict[str, int]
    filled: bool


def hole_rows(qid: str, rankings: Mapping[str, Iterable[tuple]], official, done: set[str], k: int = 10) -> list[Hole]:
    """:func:`ranked_holes` as plain rows, ``done`` the docids a user judged (Compare asks at every click: building
    the frame was most of that)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    judged = set(official.for_query(str(qid)))
    ranks: dict[str, dict[str, int]] = {}
    for name, ranking in rankings.items():
        for docid, rank, *_ in ranking:
            if rank > k:
                break
            if str(docid) not in judged:
                ranks.setdefault(str(docid), {})[name] = int(rank)
    rows = [
        Hole(d, len(r), math.fsum(1.0 / math.log2(x + 1.0) for x in r.values()), min(r.values()), r, d in done)
        for d, r in ranks.items()
    ]
    rows.sort(key=lambda h: (-h.systems, -h.weight, h.best_rank, h.docid))
    return rows


def most_unjudged(runs: Mapping[str, Run], official, filled: pd.DataFrame | None = None, k: int = 10) -> pd.DataFrame:
    """The computed query list "most unjudged": queries by the number of holes still open in the runs' top ``k``
    (most first; ties by the summed weight of those holes, then qid). Columns ``qid, open, holes``."""
    qids = set(official.qids)
    h = holes(pool(runs, k, qids), official, filled)
    if h.empty:
        return pd.DataFrame({"qid": pd.Series(dtype=str), "open": pd.Series(dtype="int64"), "holes": pd.Series(dtype="int64")})
    h["open_weight"] = h["weight"].where(~h["filled"], 0.0)
    per = (
        h.groupby("qid")
        .agg(open=("filled", lambda f: int((~f).sum())), holes=("filled", "size"), w=("open_weight", "sum"))
        .reset_index()
    )
    per = per[per["open"] > 0]
    per = per.sort_values(["open", "w", "qid"], ascending=[False, False, True], kind="mergesort")
    return per[["qid", "open", "holes"]].reset_index(drop=True)
