"""One query's ranking as a column: rank, score, relevance badge, and where each document sits in the other columns.

Pure functions over :class:`~retrieval.run.Run` and :class:`~retrieval.beir.Qrels`; no Streamlit. Ranks always
come from ``Run.frame["rank"]`` (the project's one tie rule); nothing here re-ranks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from retrieval.run import Run

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
    """Per-query views of a run (the run is immutable). Each query's rows are a slice of the run's columns (its docids
    as Arrow keeps them, ranks and scores as arrays, no copies): a query's top k and its ``{docid: rank}`` are read
    from those slices, not from a pandas slice and three column conversions per query (~1-2 ms each on every click
    that shows a new query, on the server's busy thread). A frame whose queries' rows are not together (built by
    hand) is looked up through the run instead."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.depth = run.depth()
        self._ranks: dict[str, dict[str, int]] = {}
        self._rows: dict[str, tuple[tuple[str, int, float], ...]] = {}
        self._cols: tuple | None = None

    @property
    def name(self) -> str:
        return self.run.name

    def _columns(self) -> tuple | None:
        """``({qid: (start, end)}, docids, ranks, scores)`` of the whole run, read once; None when a query's rows are
        not together."""
        if self._cols is None:
            import numpy as np
            import pandas as pd
            import pyarrow as pa

            frame = self.run.frame
            codes, uniques = pd.factorize(frame["qid"], sort=False)
            bounds = np.flatnonzero(np.diff(codes, prepend=-1, append=-1))
            if len(bounds) - 1 != len(uniques):
                self._cols = ()
            else:
                spans = {str(q): (int(a), int(b)) for q, a, b in zip(uniques, bounds[:-1], bounds[1:])}
                docids = pa.array(frame["docid"])
                self._cols = (spans, docids, frame["rank"].to_numpy(dtype="int64"), frame["score"].to_numpy(dtype="float64"))
        return self._cols or None

    def _span(self, qid: str, k: int | None = None) -> tuple[list, list, list] | None:
        """The query's first ``k`` (or all) rows as ``(docids, ranks, scores)`` lists; None: look up through the run."""
        cols = self._columns()
        if cols is None:
            return None
        spans, docids, ranks, scores = cols
        a, b = spans.get(str(qid), (0, 0))
        if k is not None:
            b = min(b, a + max(k, 0))
        return docids.slice(a, b - a).to_pylist(), ranks[a:b].tolist(), scores[a:b].tolist()

    def ranks(self, qid: str) -> dict[str, int]:
        """``{docid: rank}`` for one query (ranks from the run's ``rank`` column)."""
        found = self._ranks.get(qid)
        if found is None:
            span = self._span(qid)
            found = self._ranks[qid] = dict(zip(span[0], span[1])) if span is not None else self.run.rank_lookup(qid)
        return found

    def top(self, qid: str, k: int) -> tuple[tuple[str, int, float], ...]:
        """``(docid, rank, score)`` of the first ``k`` documents, in rank order."""
        span = self._span(qid, k)
        if span is not None:
            return tuple(zip(*span))
        rows = self._rows.get(qid)
        if rows is None:
            frame = self.run.for_query(qid)
            rows = tuple(
                zip(
                    frame["docid"].to_numpy(dtype=object).tolist(),
                    frame["rank"].to_numpy(dtype="int64").tolist(),
                    frame["score"].to_numpy(dtype="float64").tolist(),
                )
            )
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
