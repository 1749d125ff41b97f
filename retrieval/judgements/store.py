"""The judgements store: :class:`JudgementStore` (one open database) and :class:`DatasetJudgements` (the store seen
from one dataset and split: every read and write the app and the command line make).

Each method is one unit of work (one SQLAlchemy Session, one transaction). Writes validate first (grade on the
dataset's scale, the query in the split, the document in the corpus, the judge's name) and raise
:class:`~.errors.InvalidJudgement` before touching the database; then they append to the history and update the
current value in the same transaction, so a process killed at any point leaves either both or neither.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Integer, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import exchange, pooling
from .db import Database, open_database
from .errors import Conflict, InvalidJudgement
from .model import (
    CANT_TELL,
    MAX_ID,
    MAX_LIST_NAME,
    MAX_QUERY_NOTE,
    Judgement,
    JudgementEvent,
    QueryList,
    QueryNote,
    Value,
    check_judge,
    check_note,
    check_value,
    corpus_checksum,
    grade_scale,
    now,
    utc,
    value_label,
)
from .qrels import ChosenQrels, choose_from_columns, choose_qrels, empty_user_frame
from .schema import EventRow, JudgementRow, QueryListItemRow, QueryListRow, QueryNoteRow

if TYPE_CHECKING:
    from pathlib import Path

    from ..beir import BeirDataset, Qrels
    from ..run import Run


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()  # ``expected=ANY``: write whatever is there (the history still keeps every value)


def open_store(url: str | None = None, **options) -> JudgementStore:
    """Open the judgements store: ``$RETRIEVAL_DB_URL`` (PostgreSQL) or the SQLite file under the cache root,
    created and migrated on first use (see :func:`.db.open_database` for the options)."""
    return JudgementStore(open_database(url, **options))


class JudgementStore:
    """One open judgements database. Cheap to keep for a process's life (a connection pool); thread-safe."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"JudgementStore({self.db!r})"

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    @property
    def read_only_reason(self) -> str | None:
        return self.db.read_only_reason

    @property
    def where(self) -> str:
        """The SQLite file, or the PostgreSQL URL with its password hidden."""
        return self.db.where

    def dataset(self, dataset: BeirDataset, split: str = "test") -> DatasetJudgements:
        """The store seen from one dataset and split (reads its official qrels; hashes nothing already hashed)."""
        return DatasetJudgements(self, dataset, split)

    def summary(self) -> pd.DataFrame:
        """Current judgements per dataset, split and judge: ``dataset, split, judge, judgements, cant_tell, queries,
        checksums`` (more than one checksum: some were made on another version of the dataset)."""
        r = JudgementRow
        stmt = (
            select(
                r.dataset,
                r.split,
                r.judge,
                func.count().label("judgements"),
                func.sum(cast(r.cant_tell, Integer)).label("cant_tell"),
                func.count(func.distinct(r.qid)).label("queries"),
                func.count(func.distinct(r.corpus_checksum)).label("checksums"),
            )
            .group_by(r.dataset, r.split, r.judge)
            .order_by(r.dataset, r.split, r.judge)
        )
        with self.db.session() as s:
            rows = s.execute(stmt).all()
        return pd.DataFrame(rows, columns=["dataset", "split", "judge", "judgements", "cant_tell", "queries", "checksums"])

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True)
class ImportReport:
    """What :meth:`DatasetJudgements.import_qrels` did."""

    source: str
    judge: str
    lines: int  # judgement lines read
    new: int
    changed: int
    unchanged: int
    unknown_queries: tuple[str, ...]  # distinct query ids not in the split (their lines skipped)
    unknown_documents: tuple[str, ...]  # distinct document ids not in the corpus (their lines skipped)
    skipped_lines: int
    stale_checksum: str | None = None  # the file's header names another version of the dataset

    def describe(self) -> str:
        parts = [f"{self.new:,} new, {self.changed:,} changed, {self.unchanged:,} unchanged judgements of {self.judge}"]
        if self.unknown_queries:
            parts.append(f"{len(self.unknown_queries):,} unknown queries skipped ({_some(self.unknown_queries)})")
        if self.unknown_documents:
            parts.append(f"{len(self.unknown_documents):,} unknown documents skipped ({_some(self.unknown_documents)})")
        if self.skipped_lines:
            parts.append(f"{self.skipped_lines:,} lines skipped in all")
        if self.stale_checksum:
            parts.append(
                f"the file's header names corpus checksum {self.stale_checksum[:12]}..., not this dataset's: the judgements are "
                "kept but flagged stale and not used in metrics"
            )
        return f"{self.source}: " + "; ".join(parts)


def _some(ids: Sequence[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (f", ... ({len(ids) - n} more)" if len(ids) > n else "")


class DatasetJudgements:
    """Judgements, notes and query lists of one dataset and split, through one :class:`JudgementStore`.

    ``scale`` is the grade scale (:func:`~.model.grade_scale` of the split's official qrels), ``checksum`` the
    version of the dataset a judgement records (:func:`~.model.corpus_checksum`); judgements with another checksum
    come back with ``stale=True`` and are never used in metrics.
    """

    def __init__(self, store: JudgementStore, dataset: BeirDataset, split: str) -> None:
        self.store = store
        self.db = store.db
        self.ds = dataset
        self.name = dataset.name
        self.split = split
        self.official: Qrels = dataset.qrels(split)
        self.scale = grade_scale(self.official)
        self.checksum = corpus_checksum(dataset)
        self._reads: dict[tuple, tuple[int, tuple]] = {}

    def __repr__(self) -> str:
        return f"DatasetJudgements({self.name!r}, {self.split!r}, {self.store.where})"

    def _kept(self, key: tuple, read: Callable[[], Iterable]) -> list:
        """``read()`` as a new list, or what it gave for ``key`` the last time while nothing was committed to the
        database since (:meth:`~.db.Database.change_token`, any process's commit counts). The app reads the shown
        query's judgements, notes and the list names on every click; most clicks write nothing."""
        token = self.db.change_token()
        if token is None:
            return list(read())
        hit = self._reads.get(key)
        if hit is None or hit[0] != token:
            if len(self._reads) >= 256:
                self._reads.clear()
            hit = self._reads[key] = (token, tuple(read()))
        return list(hit[1])

    @functools.cached_property
    def qids(self) -> frozenset[str]:
        return frozenset(self.official.qids)

    # ---- checks -----------------------------------------------------------------------------
    def check_qid(self, qid: str) -> str:
        qid = str(qid)
        if qid not in self.qids:
            raise InvalidJudgement(f"query {qid[:MAX_ID]!r} is not one of {self.name} {self.split}'s {len(self.qids):,} queries")
        return qid

    def check_docid(self, docid: str) -> str:
        docid = str(docid)
        if len(docid) > MAX_ID or docid not in self.ds.corpus:
            raise InvalidJudgement(f"document {docid[:MAX_ID]!r} is not in {self.name}'s corpus")
        return docid

    # ---- reads --------------------------------------------------------------------------------
    def _judgement(self, row: JudgementRow) -> Judgement:
        return Judgement(
            dataset=row.dataset,
            corpus_checksum=row.corpus_checksum,
            split=row.split,
            qid=row.qid,
            docid=row.docid,
            judge=row.judge,
            grade=row.grade,
            cant_tell=bool(row.cant_tell),
            note=row.note,
            judged_at=utc(row.judged_at),
            revision=int(row.revision),
            source=row.source,
            stale=row.corpus_checksum != self.checksum,
        )

    def for_query(self, qid: str, judge: str | None = None) -> list[Judgement]:
        """Current judgements of one query (every judge, or one), by docid then judge: one indexed read (none while
        the database has not changed, :meth:`_kept`)."""
        return self._kept(("for_query", str(qid), judge), lambda: self._for_query(str(qid), judge))

    def _for_query(self, qid: str, judge: str | None) -> list[Judgement]:
        r = JudgementRow
        stmt = select(r).where(r.dataset == self.name, r.qid == qid)
        if judge is not None:
            stmt = stmt.where(r.judge == judge)
        with self.db.session() as s:
            rows = s.execute(stmt.order_by(r.docid, r.judge)).scalars().all()
            return [self._judgement(row) for row in rows if row.split == self.split]

    def get(self, qid: str, docid: str, judge: str) -> Judgement | None:
        r = JudgementRow
        stmt = select(r).where(r.dataset == self.name, r.qid == str(qid), r.docid == str(docid), r.judge == judge)
        with self.db.session() as s:
            row = s.execute(stmt).scalar_one_or_none()
            return self._judgement(row) if row is not None else None

    def frame(self, judge: str | None = None) -> pd.DataFrame:
        """The split's current judgements as a frame: ``qid, docid, judge, grade`` (nullable), ``cant_tell, note,
        judged_at, source, corpus_checksum, stale``."""
        r = JudgementRow
        cols = (r.qid, r.docid, r.judge, r.grade, r.cant_tell, r.note, r.judged_at, r.source, r.corpus_checksum)
        frame = self._read(cols, judge)
        frame["judged_at"] = [utc(t) for t in frame["judged_at"]]
        frame["stale"] = (frame["corpus_checksum"] != self.checksum).astype(bool)
        return frame

    def _user_columns(self, judge: str | None = None) -> dict[str, list]:
        """What qrels and holes need, and nothing else, as column lists: ``qid, docid, judge, grade, cant_tell,
        stale`` (stale computed in SQL)."""
        r = JudgementRow
        cols = (r.qid, r.docid, r.judge, r.grade, r.cant_tell, (r.corpus_checksum != self.checksum).label("stale"))
        out = self._columns(cols, judge)
        out["cant_tell"] = [bool(v) for v in out["cant_tell"]]
        out["stale"] = [bool(v) for v in out["stale"]]
        return out

    def _columns(self, cols, judge: str | None) -> dict[str, list]:
        r = JudgementRow
        stmt = select(*cols).where(r.dataset == self.name, r.split == self.split)
        if judge is not None:
            stmt = stmt.where(r.judge == judge)
        with self.db.reading() as conn:
            rows = conn.execute(stmt).all()
        names = [c.key if hasattr(c, "key") else c.name for c in cols]
        return {name: list(values) for name, values in zip(names, zip(*rows))} if rows else {name: [] for name in names}

    def _read(self, cols, judge: str | None) -> pd.DataFrame:
        data = {}
        for name, values in self._columns(cols, judge).items():
            if name == "grade":
                data[name] = pd.array(values, dtype="Int64")
            elif name in ("cant_tell", "stale"):
                data[name] = pd.array([bool(v) for v in values], dtype=bool)
            else:
                data[name] = pd.array(values, dtype=object if name in ("note", "source", "judged_at") else str)
        return pd.DataFrame(data)

    def version(self) -> tuple[int, int]:
        """``(current judgements, last history event)`` of this dataset and split: changes with every write (set,
        clear, or a refused one), read in one cheap query, so callers can keep what they computed until it does."""
        count, last = self._kept(("version",), self._version)
        return count, last

    def _version(self) -> tuple[int, int]:
        r, e = JudgementRow, EventRow
        with self.db.session() as s:
            count = s.execute(select(func.count()).where(r.dataset == self.name, r.split == self.split)).scalar_one()
            last = s.execute(select(func.max(e.id)).where(e.dataset == self.name, e.split == self.split)).scalar_one()
        return int(count), int(last or 0)

    def judges(self) -> list[str]:
        r = JudgementRow
        with self.db.session() as s:
            return list(
                s.execute(
                    select(r.judge).where(r.dataset == self.name, r.split == self.split).distinct().order_by(r.judge)
                ).scalars()
            )

    def history(self, qid: str, docid: str | None = None, judge: str | None = None) -> list[JudgementEvent]:
        """Every write on one query (or one document of it), oldest first: applied, cleared and rejected ones."""
        e = EventRow
        stmt = select(e).where(e.dataset == self.name, e.qid == str(qid))
        if docid is not None:
            stmt = stmt.where(e.docid == str(docid))
        if judge is not None:
            stmt = stmt.where(e.judge == judge)
        with self.db.session() as s:
            return [_event(row) for row in s.execute(stmt.order_by(e.id)).scalars()]

    # ---- writes -------------------------------------------------------------------------------
    def set(
        self,
        qid: str,
        docid: str,
        value: Value | str,
        *,
        judge: str,
        note: str | None = None,
        expected: Judgement | None | _Any = ANY,
        source: str | None = None,
    ) -> Judgement:
        """Record ``judge``'s grade (or :data:`~.model.CANT_TELL`) for (qid, docid); returns the stored judgement.

        ``expected``: the judgement this writer last saw (``None``: it saw none). If the stored one has changed
        since, nothing is applied: the attempt is kept in the history as ``rejected`` and :class:`~.errors.Conflict`
        names the value now stored and who set it. ``ANY`` (the default) writes regardless.
        """
        self.db.check_writable()
        value = check_value(value, self.scale)
        judge, note = check_judge(judge), check_note(note)
        qid, docid = self.check_qid(qid), self.check_docid(docid)
        grade, cant_tell = (None, True) if value is CANT_TELL else (int(value), False)
        return self._write(qid, docid, judge, expected, source, action="set", grade=grade, cant_tell=cant_tell, note=note)

    def clear(
        self, qid: str, docid: str, *, judge: str, expected: Judgement | None | _Any = ANY, source: str | None = None
    ) -> bool:
        """Remove ``judge``'s judgement of (qid, docid) (the history keeps it). False when there was none."""
        self.db.check_writable()
        judge = check_judge(judge)
        qid, docid = self.check_qid(qid), self.check_docid(docid)
        return self._write(qid, docid, judge, expected, source, action="clear") is not None

    def _write(self, qid, docid, judge, expected, source, *, action, grade=None, cant_tell=False, note=None):
        seen = None if expected is ANY or expected is None else int(expected.revision)  # type: ignore[union-attr]
        for attempt in range(3):
            conflict = None
            result = None
            try:
                with self.db.session(write=True) as s:
                    r = JudgementRow
                    row = s.execute(
                        select(r)
                        .where(r.dataset == self.name, r.qid == qid, r.docid == docid, r.judge == judge)
                        .with_for_update()
                    ).scalar_one_or_none()
                    at = now()
                    current = None if row is None else int(row.revision)
                    event = dict(
                        dataset=self.name,
                        corpus_checksum=self.checksum,
                        split=self.split,
                        qid=qid,
                        docid=docid,
                        judge=judge,
                        grade=grade,
                        cant_tell=cant_tell,
                        note=note,
                        at=at,
                        source=source,
                        seen_revision=seen,
                    )
                    if expected is not ANY and seen != current:
                        s.execute(insert(EventRow).values(action="rejected", **event))
                        conflict = self._conflict(s, row, qid, docid, judge, expected, action, grade, cant_tell)
                    elif action == "clear":
                        if row is None:
                            return None
                        s.execute(
                            insert(EventRow).values(action="clear", **{**event, "grade": None, "cant_tell": False, "note": None})
                        )
                        s.delete(row)
                        result = True
                    else:
                        event_id = s.execute(insert(EventRow).values(action="set", **event).returning(EventRow.id)).scalar_one()
                        values = dict(
                            corpus_checksum=self.checksum,
                            split=self.split,
                            grade=grade,
                            cant_tell=cant_tell,
                            note=note,
                            judged_at=at,
                            source=source,
                            revision=event_id,
                        )
                        if row is None:
                            row = JudgementRow(dataset=self.name, qid=qid, docid=docid, judge=judge, **values)
                            s.add(row)
                        else:
                            for k, v in values.items():
                                setattr(row, k, v)
                        s.flush()
                        result = self._judgement(row)
            except IntegrityError:
                # PostgreSQL: another session inserted this (qid, docid, judge) between our read and our insert. Read again:
                # with expected= given that is now a conflict; without, our write goes on top.
                if attempt == 2:
                    raise
                continue
            if conflict is not None:
                raise conflict
            return result
        raise AssertionError("unreachable")

    def _conflict(self, s, row, qid, docid, judge, expected, action, grade, cant_tell) -> Conflict:
        where = f"{self.name} query {qid} document {docid} (judge {judge})"
        seen = "no judgement" if expected is None else f"{expected.label!r} at revision {expected.revision}"
        attempted = "clear" if action == "clear" else f"value {value_label(CANT_TELL if cant_tell else grade)!r}"
        if row is not None:
            return Conflict(where, seen=f"you saw {seen}", attempted=attempted, current=self._judgement(row))
        e = EventRow
        last = s.execute(
            select(e)
            .where(e.dataset == self.name, e.qid == qid, e.docid == docid, e.judge == judge, e.action == "clear")
            .order_by(e.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return Conflict(
            where,
            seen=f"you saw {seen}",
            attempted=attempted,
            current=None,
            cleared_by=f"{judge}{f' ({last.source})' if last is not None and last.source else ''}",
            cleared_at=f"{utc(last.at):%Y-%m-%d %H:%M:%S} UTC" if last is not None else None,
        )

    # ---- import / export ----------------------------------------------------------------------
    def import_qrels(self, path: str | Path, *, judge: str, source: str | None = None) -> ImportReport:
        """Import a TREC or BEIR qrels file as ``judge``'s judgements of this split, in one transaction.

        Bad lines raise :class:`~retrieval.errors.DataFormatError` (file and line) and nothing is imported. Lines
        naming a query outside the split or a document outside the corpus are skipped, counted and named in the
        report. A pair the judge had judged differently is changed (the history keeps the old value). A file whose
        header names another corpus checksum is imported with that checksum: its judgements are stale (flagged,
        never used in metrics) until re-judged.
        """
        self.db.check_writable()
        judge = check_judge(judge)
        parsed = exchange.parse_qrels(path, self.scale, dataset=self.name)
        checksum = parsed.meta.get("corpus_checksum") or self.checksum
        unknown_q: dict[str, None] = {}
        unknown_d: dict[str, None] = {}
        good: list[tuple[str, str, int]] = []
        for qid, docid, grade, _line in parsed.rows:
            if qid not in self.qids:
                unknown_q[qid] = None
            elif docid not in self.ds.corpus:
                unknown_d[docid] = None
            else:
                good.append((qid, docid, grade))
        source = source or f"import:{parsed.source.rsplit('/', 1)[-1]}"[:300]
        new = changed = unchanged = 0
        with self.db.session(write=True) as s:
            r = JudgementRow
            existing = {
                (row.qid, row.docid): row
                for row in s.execute(
                    select(r)
                    .where(r.dataset == self.name, r.judge == judge, r.qid.in_({q for q, _, _ in good}))
                    .with_for_update()
                ).scalars()
            }
            at = now()
            todo = []
            for qid, docid, grade in good:
                row = existing.get((qid, docid))
                if row is not None and row.grade == grade and not row.cant_tell and row.corpus_checksum == checksum:
                    unchanged += 1
                    continue
                todo.append((qid, docid, grade, row))
            if todo:
                events = [
                    dict(
                        dataset=self.name,
                        corpus_checksum=checksum,
                        split=self.split,
                        qid=q,
                        docid=d,
                        judge=judge,
                        action="set",
                        grade=g,
                        cant_tell=False,
                        note=None,
                        at=at,
                        source=source,
                        seen_revision=None,
                    )
                    for q, d, g, _ in todo
                ]
                ids = s.execute(insert(EventRow).returning(EventRow.id, sort_by_parameter_order=True), events).scalars().all()
                inserts, updates = [], []
                for (q, d, g, row), event_id in zip(todo, ids):
                    values = dict(
                        corpus_checksum=checksum,
                        split=self.split,
                        grade=g,
                        cant_tell=False,
                        note=None,
                        judged_at=at,
                        source=source,
                        revision=event_id,
                    )
                    if row is None:
                        inserts.append(dict(dataset=self.name, qid=q, docid=d, judge=judge, **values))
                    else:
                        updates.append(dict(id=row.id, **values))
                if inserts:
                    s.execute(insert(JudgementRow), inserts)
                if updates:
                    s.execute(update(JudgementRow), updates)
                new, changed = len(inserts), len(updates)
        skipped = len(parsed.rows) - len(good)
        return ImportReport(
            source=parsed.source,
            judge=judge,
            lines=len(parsed.rows),
            new=new,
            changed=changed,
            unchanged=unchanged,
            unknown_queries=tuple(unknown_q),
            unknown_documents=tuple(unknown_d),
            skipped_lines=skipped,
            stale_checksum=checksum if checksum != self.checksum else None,
        )

    def export_trec(self, judge: str | None = None, rule: str = "majority", *, header: bool = True) -> tuple[str, str]:
        """TREC qrels of the users' current grades (one judge, or all judges combined by ``rule``: see
        :mod:`.qrels`); returns ``(text, one line saying what went in)``. Stale judgements and "can't tell" are left
        out (neither is a grade of this dataset). ``header``: the ``#`` comment lines of :mod:`.exchange` (who, when,
        which corpus checksum), which ir_measures and pytrec_eval cannot read: ``header=False`` for them."""
        chosen = self.qrels("mine", judge=judge, rule=rule)
        meta = {
            "exported_by": "retrieval judgements export",
            "exported_at": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dataset": self.name,
            "split": self.split,
            "corpus_checksum": self.checksum,
            "judge": judge or f"all ({rule} rule)",
        }
        return exchange.format_trec(chosen.qrels.frame, meta if header else None), chosen.describe()

    def export_csv(self, judge: str | None = None) -> str:
        """Every current judgement (stale and "can't tell" included, flagged) as CSV, one row per judge."""
        frame = self.frame(judge).copy()
        frame["dataset"] = self.name
        frame["split"] = self.split
        frame["label"] = ["can't tell" if c else str(g) for g, c in zip(frame["grade"], frame["cant_tell"])]
        frame["judged_at"] = [utc(t).strftime("%Y-%m-%dT%H:%M:%SZ") for t in frame["judged_at"]]
        frame = frame.sort_values(["qid", "docid", "judge"], kind="mergesort")
        return exchange.format_csv(frame)

    # ---- qrels and holes ----------------------------------------------------------------------
    def qrels(self, mode: str = "merged", *, judge: str | None = None, rule: str = "majority") -> ChosenQrels:
        """Official, merged or "mine" qrels of the split (rules in :mod:`.qrels`), as the Qrels evaluate() takes."""
        if mode == "official":
            return choose_qrels(self.official, empty_user_frame(), "official")
        return choose_from_columns(self.official, self._user_columns(judge), mode, judge=judge, rule=rule)

    def _filled(self, judge: str | None) -> pd.DataFrame:
        """Pairs a user judged on this version of the dataset (can't tell included): the holes they fill."""
        cols = self._user_columns(judge)
        keep = [(q, d) for q, d, stale in zip(cols["qid"], cols["docid"], cols["stale"]) if not stale]
        return pd.DataFrame(keep, columns=["qid", "docid"], dtype=object)

    def holes(self, qid: str, runs: Mapping[str, Run], k: int = 10, judge: str | None = None) -> pd.DataFrame:
        """One query's unjudged documents in any run's top ``k`` (``filled``: a user judged it), in queue order."""
        frame = pd.DataFrame(
            [(j.qid, j.docid) for j in self.for_query(qid, judge) if not j.stale], columns=["qid", "docid"], dtype=object
        )
        return pooling.query_holes(qid, runs, self.official, frame, k)

    def queue(self, runs: Mapping[str, Run], k: int = 10, judge: str | None = None) -> pd.DataFrame:
        """The split's holes still to judge, in priority order (the rule in :mod:`.pooling`)."""
        return pooling.judging_queue(runs, self.official, self._filled(judge), k)

    def progress(self, runs: Mapping[str, Run], k: int = 10, judge: str | None = None) -> pooling.PoolProgress:
        """``"17 of 43 holes in the top-10 pool judged"``."""
        return pooling.progress(runs, self.official, self._filled(judge), k)

    def most_unjudged(self, runs: Mapping[str, Run], k: int = 10, judge: str | None = None) -> pd.DataFrame:
        """Queries by open holes in the runs' top ``k``, most first (the computed list "most unjudged")."""
        return pooling.most_unjudged(runs, self.official, self._filled(judge), k)

    # ---- notes on queries ---------------------------------------------------------------------
    def query_notes(self, qid: str) -> list[QueryNote]:
        return self._kept(("query_notes", str(qid)), lambda: self._query_notes(str(qid)))

    def _query_notes(self, qid: str) -> list[QueryNote]:
        n = QueryNoteRow
        with self.db.session() as s:
            rows = s.execute(select(n).where(n.dataset == self.name, n.qid == qid).order_by(n.judge)).scalars().all()
            return [QueryNote(r.dataset, r.qid, r.judge, r.text, utc(r.updated_at)) for r in rows]

    def query_note(self, qid: str, judge: str) -> QueryNote | None:
        return next((n for n in self.query_notes(qid) if n.judge == judge), None)

    def set_query_note(self, qid: str, text: str | None, *, judge: str) -> QueryNote | None:
        """Write ``judge``'s note on a query (an empty text removes it). Last write wins."""
        self.db.check_writable()
        judge, qid = check_judge(judge), self.check_qid(qid)
        text = check_note(text, MAX_QUERY_NOTE)
        n = QueryNoteRow
        with self.db.session(write=True) as s:
            row = s.execute(
                select(n).where(n.dataset == self.name, n.qid == qid, n.judge == judge).with_for_update()
            ).scalar_one_or_none()
            if text is None:
                if row is not None:
                    s.delete(row)
                return None
            if row is None:
                row = QueryNoteRow(dataset=self.name, qid=qid, judge=judge, text=text, updated_at=now())
                s.add(row)
            else:
                row.text, row.updated_at = text, now()
            s.flush()
            return QueryNote(row.dataset, row.qid, row.judge, row.text, utc(row.updated_at))

    def noted_queries(self, judge: str | None = None) -> list[str]:
        """The computed list "my notes": the split's queries with a note (of ``judge``, or anyone), latest first."""
        return self._kept(("noted_queries", judge), lambda: self._noted_queries(judge))

    def _noted_queries(self, judge: str | None) -> list[str]:
        n = QueryNoteRow
        stmt = select(n.qid, func.max(n.updated_at).label("t")).where(n.dataset == self.name)
        if judge is not None:
            stmt = stmt.where(n.judge == judge)
        with self.db.session() as s:
            rows = s.execute(stmt.group_by(n.qid).order_by(func.max(n.updated_at).desc(), n.qid)).all()
        return [q for q, _ in rows if q in self.qids]

    # ---- saved query lists --------------------------------------------------------------------
    def lists(self) -> list[str]:
        return self._kept(("lists",), self._lists)

    def _lists(self) -> list[str]:
        q = QueryListRow
        with self.db.session() as s:
            return list(s.execute(select(q.name).where(q.dataset == self.name, q.split == self.split).order_by(q.name)).scalars())

    def _check_list_name(self, name: str) -> str:
        name = (name or "").strip()
        if not name or len(name) > MAX_LIST_NAME or not name.isprintable():
            raise InvalidJudgement(f"a list name must be printable, 1 to {MAX_LIST_NAME} characters (got {name[:40]!r})")
        return name

    def _check_qids(self, qids: Iterable[str]) -> list[str]:
        out = list(dict.fromkeys(str(q) for q in qids))
        unknown = [q for q in out if q not in self.qids]
        if unknown:
            raise InvalidJudgement(f"{len(unknown)} query ids are not in {self.name} {self.split} ({_some(unknown)})")
        return out

    def create_list(self, name: str, qids: Iterable[str] = (), *, by: str | None = None) -> QueryList:
        """Save a new named list; an existing name raises :class:`~.errors.InvalidJudgement`."""
        self.db.check_writable()
        name, items = self._check_list_name(name), self._check_qids(qids)
        by = check_judge(by) if by else None
        try:
            with self.db.session(write=True) as s:
                row = QueryListRow(dataset=self.name, split=self.split, name=name, created_by=by, updated_at=now())
                s.add(row)
                s.flush()
                if items:
                    s.execute(insert(QueryListItemRow), [dict(list_id=row.id, position=i, qid=q) for i, q in enumerate(items)])
        except IntegrityError:
            raise InvalidJudgement(f"a list named {name!r} exists already for {self.name} {self.split}") from None
        return self.read_list(name)

    def append_to_list(self, name: str, qids: Iterable[str]) -> QueryList:
        """Add queries at the end of a list (ones it holds already are left where they are)."""
        self.db.check_writable()
        name, items = self._check_list_name(name), self._check_qids(qids)
        with self.db.session(write=True) as s:
            row = self._list_row(s, name, lock=True)
            have = set(s.execute(select(QueryListItemRow.qid).where(QueryListItemRow.list_id == row.id)).scalars())
            start = s.execute(
                select(func.coalesce(func.max(QueryListItemRow.position), -1)).where(QueryListItemRow.list_id == row.id)
            ).scalar_one()
            add = [q for q in items if q not in have]
            if add:
                s.execute(
                    insert(QueryListItemRow), [dict(list_id=row.id, position=start + 1 + i, qid=q) for i, q in enumerate(add)]
                )
            row.updated_at = now()
        return self.read_list(name)

    def read_list(self, name: str) -> QueryList:
        with self.db.session() as s:
            row = self._list_row(s, name)
            qids = (
                s.execute(
                    select(QueryListItemRow.qid).where(QueryListItemRow.list_id == row.id).order_by(QueryListItemRow.position)
                )
                .scalars()
                .all()
            )
            return QueryList(self.name, self.split, row.name, tuple(qids), row.created_by, utc(row.updated_at))

    def delete_list(self, name: str) -> bool:
        self.db.check_writable()
        q = QueryListRow
        with self.db.session(write=True) as s:
            row = s.execute(
                select(q).where(q.dataset == self.name, q.split == self.split, q.name == name).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                return False
            s.execute(delete(QueryListItemRow).where(QueryListItemRow.list_id == row.id))
            s.delete(row)
            return True

    def _list_row(self, s, name: str, lock: bool = False) -> QueryListRow:
        q = QueryListRow
        stmt = select(q).where(q.dataset == self.name, q.split == self.split, q.name == name)
        row = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if row is None:
            raise InvalidJudgement(f"no query list named {name!r} for {self.name} {self.split}")
        return row


def _event(row: EventRow) -> JudgementEvent:
    return JudgementEvent(
        id=int(row.id),
        dataset=row.dataset,
        corpus_checksum=row.corpus_checksum,
        split=row.split,
        qid=row.qid,
        docid=row.docid,
        judge=row.judge,
        action=row.action,
        grade=row.grade,
        cant_tell=bool(row.cant_tell),
        note=row.note,
        at=utc(row.at),
        source=row.source,
        seen_revision=row.seen_revision,
    )
