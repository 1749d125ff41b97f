"""The database tables as SQLAlchemy 2 typed declarative models (the head of the migrations in ``migrations/``;
a test checks that the two agree on SQLite and PostgreSQL).

* ``judgements``: the current value per (dataset, qid, docid, judge); ``revision`` is the id of the history event
  that set it. Clearing a judgement deletes its row (the history keeps the clear).
* ``judgement_events``: the append-only history: every applied write (``set``, ``clear``) and every write refused
  by a conflict (``rejected``), with the value, the judge, the time, where it came from and the revision the
  writer had seen.
* ``query_notes``: one note per (dataset, qid, judge).
* ``query_lists`` and ``query_list_items``: saved named lists of query ids per dataset and split.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite makes only an INTEGER PRIMARY KEY an auto-incrementing rowid; PostgreSQL gets a 64-bit sequence.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class JudgementRow(Base):
    __tablename__ = "judgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(String(200))
    corpus_checksum: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(100))
    qid: Mapped[str] = mapped_column(String(300))
    docid: Mapped[str] = mapped_column(String(300))
    judge: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int | None] = mapped_column(Integer)
    cant_tell: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(500))
    judged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(String(300))
    revision: Mapped[int] = mapped_column(EventId)

    __table_args__ = (
        UniqueConstraint("dataset", "qid", "docid", "judge", name="uq_judgements_pair_judge"),
        CheckConstraint("(grade IS NULL) = cant_tell", name="ck_judgements_grade_or_cant_tell"),
        Index("ix_judgements_query", "dataset", "qid"),
        Index("ix_judgements_split", "dataset", "split"),
    )


class EventRow(Base):
    __tablename__ = "judgement_events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(String(200))
    corpus_checksum: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(100))
    qid: Mapped[str] = mapped_column(String(300))
    docid: Mapped[str] = mapped_column(String(300))
    judge: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    grade: Mapped[int | None] = mapped_column(Integer)
    cant_tell: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(String(300))
    seen_revision: Mapped[int | None] = mapped_column(EventId)

    __table_args__ = (
        CheckConstraint("action IN ('set', 'clear', 'rejected')", name="ck_judgement_events_action"),
        Index("ix_judgement_events_pair", "dataset", "qid", "docid"),
    )


class QueryNoteRow(Base):
    __tablename__ = "query_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(String(200))
    qid: Mapped[str] = mapped_column(String(300))
    judge: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("dataset", "qid", "judge", name="uq_query_notes_query_judge"),)


class QueryListRow(Base):
    __tablename__ = "query_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(String(200))
    split: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("dataset", "split", "name", name="uq_query_lists_name"),)


class QueryListItemRow(Base):
    __tablename__ = "query_list_items"

    list_id: Mapped[int] = mapped_column(ForeignKey("query_lists.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    qid: Mapped[str] = mapped_column(String(300))

    __table_args__ = (UniqueConstraint("list_id", "qid", name="uq_query_list_items_qid"),)
