"""Users' relevance judgements: a database of judgements, notes and query lists, metrics with them, judging the holes.

On BEIR most documents a system shows are unjudged (SciFact has 1-4 judged documents per query). This package
keeps what researchers judge, across sessions and people, and gives the qrels and queues that use it.

**Where they live.** SQLite, one file under the cache root (``<cache>/judgements.sqlite3``: WAL mode, busy
timeout, created and migrated on first use, no set-up); PostgreSQL when ``RETRIEVAL_DB_URL=postgresql://...`` is
set (a lab sharing one server). ``RETRIEVAL_READONLY=1`` opens it read-only (a public demo: reads work, writes
raise :class:`ReadOnly`). Schema migrations (Alembic) run when the store opens. See :mod:`.db`.

**API** (the app's and the command line's; everything below is plain data: frozen dataclasses and DataFrames)::

    from retrieval.judgements import open_store, CANT_TELL, Conflict, ReadOnly, StoreUnavailable

    store = open_store()                      # keep one per process (st.cache_resource); StoreUnavailable if it cannot open
    store.read_only, store.read_only_reason   # e.g. (True, "RETRIEVAL_READONLY=1 is set")
    j = store.dataset(ds, "test")             # a BeirDataset and split; j.scale == (0, 1) on SciFact
    j.for_query(qid)                          # [Judgement] of every judge (one indexed read, ~1 ms); judge="ann" for one
    j.get(qid, docid, "ann")                  # Judgement | None
    seen = j.get(qid, docid, "ann")
    j.set(qid, docid, 1, judge="ann", note="abstract only", expected=seen, source="app:<session>")
    j.set(qid, docid, CANT_TELL, judge="ann", expected=...)   # kept, never a grade
    j.clear(qid, docid, judge="ann", expected=...)
    j.history(qid, docid)                     # [JudgementEvent]: set / clear / rejected, oldest first
    j.qrels("merged" | "mine" | "official", judge=None, rule="majority")  # ChosenQrels: .qrels for evaluate(), .describe()
    j.holes(qid, runs, k=10)                  # one query's unjudged pooled documents (column "filled"), in queue order
    j.queue(runs, k=10)  j.progress(runs)     # the split's judging queue; "17 of 43 holes in the top-10 pool judged"
    j.most_unjudged(runs)  j.noted_queries()  # computed query lists
    j.set_query_note(qid, "text", judge="ann")  j.query_notes(qid)
    j.create_list(name, qids, by="ann")  j.append_to_list(name, qids)  j.read_list(name)  j.delete_list(name)  j.lists()
    j.import_qrels(path, judge="bob")  j.export_trec(judge=None)  j.export_csv()

``Judgement`` has ``qid, docid, judge, grade`` (None for can't tell), ``cant_tell, note, judged_at`` (UTC),
``revision`` (pass the object back as ``expected=``), ``source`` and ``stale`` (made on another version of the
dataset: show it flagged; it is never used in metrics). ``runs`` are ``{name: retrieval.run.Run}``.

**Errors** (all :class:`retrieval.errors.RetrievalError`, each message one line that says what to do):
:class:`StoreUnavailable` (cannot open: PostgreSQL down, a corrupt SQLite file, an unknown schema; go on with
the official qrels), :class:`ReadOnly` (a write to a read-only store), :class:`InvalidJudgement` (grade off the
scale, unknown query or document, bad judge name or list name), :class:`Conflict` (someone changed the judgement
since ``expected``: ``.current`` holds the value now stored; the attempt is in the history; write again with
``expected=conflict.current`` to overwrite), :class:`~retrieval.errors.DataFormatError` (a bad line in an
imported file: file and line).

Rules stated once: how qrels are merged and judges combined is in :mod:`.qrels`; the judging queue's priority
in :mod:`.pooling`; the export header in :mod:`.exchange`; what a version of a dataset is in
:func:`.model.corpus_checksum`.

Importing this package is cheap: SQLAlchemy loads with the store (:func:`open_store`), Alembic only when a
migration is due.
"""

from __future__ import annotations

from typing import Any

from .errors import Conflict, InvalidJudgement, JudgementError, ReadOnly, StoreUnavailable
from .model import CANT_TELL, MODES, RULES, Judgement, JudgementEvent, QueryList, QueryNote, Verdict, corpus_checksum, grade_scale

__all__ = [
    "ANY",
    "CANT_TELL",
    "MODES",
    "RULES",
    "ChosenQrels",
    "Conflict",
    "DatasetJudgements",
    "ImportReport",
    "InvalidJudgement",
    "Judgement",
    "JudgementError",
    "JudgementEvent",
    "JudgementStore",
    "PoolProgress",
    "QueryList",
    "QueryNote",
    "ReadOnly",
    "StoreUnavailable",
    "Verdict",
    "choose_qrels",
    "corpus_checksum",
    "grade_scale",
    "open_store",
]

# Loaded when first asked for: the store imports SQLAlchemy, qrels and pooling pandas (the command line's parser
# imports this package and must stay quick).
_LAZY = {
    "ANY": "store",
    "DatasetJudgements": "store",
    "ImportReport": "store",
    "JudgementStore": "store",
    "open_store": "store",
    "ChosenQrels": "qrels",
    "choose_qrels": "qrels",
    "PoolProgress": "pooling",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
