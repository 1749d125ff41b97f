"""Spec string -> :class:`~retrieval.system.System`: the table of system kinds.

``bm25-flat`` / ``bm25-multifield`` (:mod:`retrieval.bm25`), ``dense:<id>`` (:mod:`retrieval.neural.dense`),
``monot5:<size>`` and ``ce:<id>`` (:mod:`retrieval.neural.rerank`), ``rrf:<a>+<b>`` and ``combsum:<a>+<b>``
(:mod:`retrieval.fusion`). Imports point one way: this module imports the systems (by module name, on first
use, so that importing it loads no model code); they import only :mod:`retrieval.system`. A system built on
other systems (a reranker's first stage, a fusion's inputs) gets their specs parsed by :func:`parse_system`,
handed to its parser as ``parse_spec``.

Adding a kind of system is one module that subclasses :class:`~retrieval.system.System` and one row here.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import UnknownSystem
from .system import System

# prefix -> (module, parser function, parses other specs: gets ``parse_spec``)
KINDS: dict[str, tuple[str, str, bool]] = {
    "bm25": ("retrieval.bm25", "parse_bm25", False),
    "dense": ("retrieval.neural.dense", "parse_dense", False),
    "monot5": ("retrieval.neural.rerank", "parse_reranker", True),
    "ce": ("retrieval.neural.rerank", "parse_reranker", True),
    "rrf": ("retrieval.fusion", "parse_fusion", True),
    "combsum": ("retrieval.fusion", "parse_fusion", True),
}


def parse_system(spec: str, **options: Any) -> System:
    """``"bm25-flat"`` -> a System. Raises :class:`UnknownSystem` with the known prefixes.

    ``options`` are command-line style settings (``first_stage``, ``depth``, ``device``, ...); a parser
    ignores those that do not apply to it.
    """
    spec = spec.strip()
    options = {k: v for k, v in options.items() if v is not None}
    for sep in (":", "-"):
        prefix = spec.split(sep, 1)[0]
        if prefix in KINDS:
            module, name, reranks = KINDS[prefix]
            parser = getattr(importlib.import_module(module), name)
            return parser(spec, parse_spec=parse_system, **options) if reranks else parser(spec, **options)
    raise UnknownSystem(f"unknown system {spec!r}; known prefixes: {', '.join(known_prefixes())}")


def known_prefixes() -> list[str]:
    return sorted(KINDS)
