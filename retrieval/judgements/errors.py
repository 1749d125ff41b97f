"""What the judgements store raises on purpose. Every class is a :class:`~retrieval.errors.RetrievalError`, so
the command line prints its one-line message; the app can catch each one apart."""

from __future__ import annotations

from typing import Any

from ..errors import RetrievalError


class JudgementError(RetrievalError):
    """Base class of the judgements store's errors."""


class StoreUnavailable(JudgementError):
    """The store cannot be opened (PostgreSQL down or refusing, a corrupt or unreadable SQLite file, a schema
    newer than this code). Nothing was changed; the message says why and what to do. The app goes on with the
    official qrels only."""


class ReadOnly(JudgementError):
    """A write to a store opened read-only (``RETRIEVAL_READONLY=1``, or a database file that cannot be written)."""


class InvalidJudgement(JudgementError, ValueError):
    """A grade outside the dataset's scale, an unknown query or document, a bad judge name, a note too long."""


class Conflict(JudgementError):
    """The judgement changed since the writer last saw it (another session wrote in between).

    ``current`` is the value now stored (``None``: cleared, with ``cleared_by`` / ``cleared_at`` saying by whom
    and when); ``attempted`` the value that was not applied. The rejected write is kept in the history, so both
    values survive; write again with ``expected=conflict.current`` to overwrite deliberately.
    """

    def __init__(
        self,
        where: str,
        *,
        seen: str,
        attempted: str,
        current: Any,  # a .model.Judgement (not imported: model imports this module)
        cleared_by: str | None = None,
        cleared_at: str | None = None,
    ) -> None:
        self.current = current
        self.attempted = attempted
        self.seen = seen
        self.cleared_by = cleared_by
        if current is not None:
            now = f"it is now {current.label!r}, set by {current.judge}{_via(current.source)} at {current.judged_at:%Y-%m-%d %H:%M:%S} UTC"
        else:
            now = f"it was cleared by {cleared_by or 'someone'}{' at ' + cleared_at if cleared_at else ''}"
        super().__init__(
            f"{where}: changed since you saw it ({seen}): {now}; your {attempted} was kept in the history, not applied"
        )


def _via(source: str | None) -> str:
    return f" ({source})" if source else ""
