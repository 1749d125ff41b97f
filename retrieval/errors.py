"""The project's own exceptions. Every message says what to do next."""

from __future__ import annotations

from pathlib import Path


class RetrievalError(Exception):
    """Base class: anything this package raises on purpose."""


class DataFormatError(RetrievalError):
    """Malformed input file. The message names the file, the (1-based) line and, where the reader knows it, the
    (1-based, in characters) column: ``file:line:column: what is wrong``, as compilers write it."""

    def __init__(self, path: str | Path, line: int | None, message: str, column: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.column = column if line is not None else None
        self.reason = message
        where = self.path if line is None else f"{self.path}:{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {message}")

    @property
    def location(self) -> str:
        """``file, line 4500, column 12`` (what a page shows above the reason)."""
        if self.line is None:
            return self.path
        return f"{self.path}, line {self.line}" + (f", column {self.column}" if self.column is not None else "")


def not_utf8(path: str | Path, data: bytes, exc: UnicodeDecodeError, *, line: int | None = None, offset: int = 0):
    """The :class:`DataFormatError` for bytes that are not UTF-8: line, column (in characters) and the byte's
    offset in the file. ``data`` is what was decoded when ``exc`` was raised (one line when ``line`` is given,
    else the file from its start), ``offset`` where ``data`` starts in the file."""
    if line is None:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
    else:
        start = 0
    column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
    bad = data[exc.start : exc.end]
    return DataFormatError(
        path,
        line,
        f"not UTF-8 text ({exc.reason}: byte{'s' if len(bad) > 1 else ''} {bad.hex(' ')} at file offset {offset + exc.start:,})",
        column=column,
    )


class DatasetUnavailable(RetrievalError):
    """A dataset is neither here nor downloadable."""


class DownloadError(RetrievalError):
    """A download failed (offline, timeout, bad checksum); nothing partial is left behind."""


class ModelUnavailable(RetrievalError):
    """Model weights cannot be had on this machine; the message says how to get them."""


class UnknownSystem(RetrievalError):
    """A system spec that no builder understands."""
