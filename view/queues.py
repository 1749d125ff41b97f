"""Query lists to step through in Compare (a *queue*), named in the URL so that a link reopens it.

A queue is written ``kind`` or ``kind:arguments``:

* ``lost:<A>|<B>`` — the queries where system B scores below system A on nDCG@10, largest loss first;
* ``rbo:<A>|<B>`` — the queries where A's and B's rankings disagree most (rank-biased overlap, lowest first);
* ``zero`` — the queries every shown system scores 0 on;
* ``variance`` — the queries whose nDCG@10 varies most across the shown systems (as TIREx's browser sorts topics);
* ``unjudged`` — the queries with the most unjudged documents in the shown systems' top 10;
* ``judge`` — the judging queue: queries in the order of their most useful hole (documents more systems rank
  higher first, as TREC pooling does);
* ``notes`` — the queries that have a note;
* ``list:<name>`` — a saved list.

System specs never hold ``|``; a list name may hold anything (the URL encodes it).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("lost", "rbo", "zero", "variance", "unjudged", "judge", "notes", "list")
PAIRED = ("lost", "rbo")


@dataclass(frozen=True)
class Queue:
    kind: str
    a: str = ""
    b: str = ""
    name: str = ""  # a saved list's

    def text(self) -> str:
        """The URL's form of the queue (inverse of :func:`parse`)."""
        if self.kind in PAIRED:
            return f"{self.kind}:{self.a}|{self.b}"
        if self.kind == "list":
            return f"list:{self.name}"
        return self.kind

    def title(self, names: dict[str, str]) -> str:
        """What the queue is, for a person (``names``: display names by spec)."""
        a, b = names.get(self.a, self.a), names.get(self.b, self.b)
        return {
            "lost": f"queries where {b} loses to {a} (nDCG@10)",
            "rbo": f"queries where {a} and {b} disagree most (RBO)",
            "zero": "queries every shown system scores 0 on",
            "variance": "queries whose nDCG@10 varies most across the shown systems",
            "unjudged": "queries with the most unjudged documents in the shown systems' top 10",
            "judge": "the judging queue (most useful holes first)",
            "notes": "queries with a note",
            "list": f"the list {self.name!r}",
        }[self.kind]


def parse(text: str | None) -> Queue | None:
    """A queue from its URL text; None for nothing or for text that names no queue.

    Example:
        >>> parse("lost:bm25-flat|dense:all-MiniLM-L6-v2")
        Queue(kind='lost', a='bm25-flat', b='dense:all-MiniLM-L6-v2', name='')
        >>> parse("variance").text(), parse("nonsense")
        ('variance', None)
    """
    if not text:
        return None
    kind, _, rest = str(text).partition(":")
    if kind not in KINDS:
        return None
    if kind in PAIRED:
        a, sep, b = rest.partition("|")
        return Queue(kind, a, b) if sep and a and b and a != b else None
    if kind == "list":
        return Queue(kind, name=rest) if rest else None
    return None if rest else Queue(kind)


def position(qids: list[str], qid: str | None) -> int | None:
    """Where ``qid`` is in the queue (0-based), None when it is not in it."""
    try:
        return qids.index(qid) if qid is not None else None
    except ValueError:
        return None


def step(qids: list[str], qid: str | None, by: int) -> str | None:
    """The query ``by`` places from ``qid`` (+1 next, -1 previous), staying at the ends; the first when ``qid``
    is not in the queue; None for an empty queue."""
    if not qids:
        return None
    at = position(qids, qid)
    if at is None:
        return qids[0]
    return qids[min(max(at + by, 0), len(qids) - 1)]
