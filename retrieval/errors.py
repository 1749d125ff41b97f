"""The project's own exceptions. Every message says what to do next."""

from __future__ import annotations

from pathlib import Path


class RetrievalError(Exception):
    """Base class: anything this package raises on purpose."""


class DataFormatError(RetrievalError):
    """Malformed input file. The message names the file and the (1-based) line."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class DatasetUnavailable(RetrievalError):
    """A dataset is neither here nor downloadable."""


class DownloadError(RetrievalError):
    """A download failed (offline, timeout, bad checksum); nothing partial is left behind."""


class ModelUnavailable(RetrievalError):
    """Model weights cannot be had on this machine; the message says how to get them."""


class UnknownSystem(RetrievalError):
    """A system spec that no builder understands."""
