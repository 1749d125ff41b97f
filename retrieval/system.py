"""The interface every retrieval system implements; it imports no system.

A system is named by a spec string (``bm25-flat``, ``dense:all-MiniLM-L6-v2``, ``monot5:base``, ...):
:mod:`retrieval.systems` turns a spec into a :class:`System`, :mod:`retrieval.runner` runs it (cached).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .beir import BeirDataset
from .cache import Cache
from .run import Run


class System:
    """Base class. Subclasses set ``spec`` (canonical name) and ``family``.

    A system that reranks another one sets ``first_stage`` to that system; the runner then hands
    ``retrieve`` the first stage's run for the same queries (cached when the queries are a split's).
    """

    spec: str = ""
    family: str = ""  # "bm25" | "dense" | "reranker" | "external"
    label: str = ""
    first_stage: System | None = None

    def key_parts(self) -> dict[str, Any]:
        """Everything besides the dataset and queries that changes this system's output."""
        raise NotImplementedError

    def retrieve(self, dataset: BeirDataset, queries: Mapping[str, str], *, cache: Cache, progress: bool = True) -> Run:
        """The run for ``queries``. A system with a ``first_stage`` also takes ``first_stage_run``: that
        stage's run for the same queries."""
        raise NotImplementedError

    def availability(self) -> tuple[bool, str]:
        """(usable here?, why not / how to fix). Default: always usable."""
        return True, ""

    @property
    def display_name(self) -> str:
        return self.label or self.spec

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"
