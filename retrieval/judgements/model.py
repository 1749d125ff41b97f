"""The values the judgements store hands out (plain frozen dataclasses, no database types), the grade scale and
the checks every write goes through. Importing this module does not import SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidJudgement

if TYPE_CHECKING:
    from ..beir import BeirDataset, Qrels

MODES = ("official", "merged", "mine")  # which qrels to evaluate with (rules in .qrels)
RULES = ("majority", "max", "min")  # how all judges' grades combine into one (rules in .qrels)
MAX_JUDGE = 100  # characters in a judge's name
MAX_ID = 300  # characters in a query or document id
MAX_JUDGEMENT_NOTE = 500  # "an optional short note on a judgement"
MAX_QUERY_NOTE = 20_000
MAX_LIST_NAME = 200


class Verdict(enum.Enum):
    """A judgement that is not a grade. ``CANT_TELL`` is kept (and counts as looked at when judging holes) but is
    never used as a relevance grade: merged and "mine" qrels leave it out."""

    CANT_TELL = "can't tell"


CANT_TELL = Verdict.CANT_TELL
Value = int | Verdict  # what a judge can say about a document


@dataclass(frozen=True)
class Judgement:
    """The current judgement of one judge on one (query, document).

    ``grade`` is ``None`` exactly when ``cant_tell``. ``revision`` identifies the write that set it (the id of its
    history event): pass the object back as ``expected=`` to write only if nobody changed it since. ``stale`` is
    true when it was made on another version of the dataset (its ``corpus_checksum`` differs from the dataset's
    now): shown, flagged, never used in metrics.
    """

    dataset: str
    corpus_checksum: str
    split: str
    qid: str
    docid: str
    judge: str
    grade: int | None
    cant_tell: bool
    note: str | None
    judged_at: dt.datetime
    revision: int
    source: str | None = None
    stale: bool = False

    @property
    def value(self) -> Value:
        return CANT_TELL if self.cant_tell else int(self.grade)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return value_label(self.value)


@dataclass(frozen=True)
class JudgementEvent:
    """One entry of the append-only history. ``action``: ``set`` (applied), ``clear`` (applied: the judgement was
    removed), ``rejected`` (a write refused by a :class:`~.errors.Conflict`: kept here, not applied).
    ``seen_revision`` is the revision the writer said it last saw (``None``: it said nothing, or it saw none)."""

    id: int
    dataset: str
    corpus_checksum: str
    split: str
    qid: str
    docid: str
    judge: str
    action: str
    grade: int | None
    cant_tell: bool
    note: str | None
    at: dt.datetime
    source: str | None
    seen_revision: int | None

    @property
    def label(self) -> str:
        if self.action == "clear":
            return "cleared"
        return value_label(CANT_TELL if self.cant_tell else int(self.grade))  # type: ignore[arg-type]


@dataclass(frozen=True)
class QueryNote:
    dataset: str
    qid: str
    judge: str
    text: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class QueryList:
    dataset: str
    split: str
    name: str
    qids: tuple[str, ...]
    created_by: str | None
    updated_at: dt.datetime


def value_label(value: Value | None) -> str:
    if value is None:
        return "no judgement"
    return CANT_TELL.value if value is CANT_TELL else str(int(value))


def grade_scale(qrels: Qrels | Iterable[int]) -> tuple[int, ...]:
    """The grades a dataset's qrels use, as a scale from 0 (or the lowest negative grade) to the highest grade.

    BEIR's qrels often list only relevant documents (SciFact's test qrels hold only 1s), so 0 is always on the
    scale: SciFact gives ``(0, 1)``, NFCorpus ``(0, 1, 2)``.

    Example:
        >>> grade_scale([1, 1, 2])
        (0, 1, 2)
    """
    grades = [int(g) for g in (qrels.frame["relevance"] if hasattr(qrels, "frame") else qrels)]
    if not grades:
        return (0, 1)
    return tuple(range(min(0, min(grades)), max(1, max(grades)) + 1))


def check_value(value: object, scale: tuple[int, ...]) -> Value:
    """``value`` as a grade on ``scale`` or :data:`CANT_TELL`; anything else raises :class:`InvalidJudgement`."""
    if value is CANT_TELL or value == CANT_TELL.value:
        return CANT_TELL
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise InvalidJudgement(
                f"grade {value!r} is not a number on the scale {_scale_text(scale)} nor {CANT_TELL.value!r}"
            ) from None
    if value not in scale:
        raise InvalidJudgement(f"grade {value} is outside this dataset's scale {_scale_text(scale)}")
    return int(value)


def _scale_text(scale: tuple[int, ...]) -> str:
    return "/".join(str(g) for g in scale)


def check_judge(judge: str) -> str:
    name = (judge or "").strip()
    if not name:
        raise InvalidJudgement("a judgement needs a judge's name")
    if len(name) > MAX_JUDGE or not name.isprintable():
        raise InvalidJudgement(f"judge name {name[:40]!r} must be printable and at most {MAX_JUDGE} characters")
    return name


def check_note(note: str | None, limit: int = MAX_JUDGEMENT_NOTE) -> str | None:
    if note is None:
        return None
    note = str(note).strip()
    if len(note) > limit:
        raise InvalidJudgement(f"note is {len(note):,} characters long; at most {limit:,} are kept")
    return note or None


def corpus_checksum(dataset: BeirDataset) -> str:
    """The version of a dataset that a judgement is about: sha256 over its corpus and queries files' sha256.

    Unlike :meth:`BeirDataset.fingerprint` it leaves the qrels files out: adding a split or a correction of the
    official qrels changes neither the documents nor the queries a user judged, so it must not flag every
    judgement. A changed document or query text does."""
    from ..beir import file_sha256

    parts = [f"{name}:{file_sha256(dataset.path / name, dataset.cache.root)}" for name in ("corpus.jsonl", "queries.jsonl")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def utc(value: dt.datetime) -> dt.datetime:
    """A timestamp read back from the database as an aware UTC datetime (SQLite gives naive ones)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
