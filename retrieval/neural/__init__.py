"""Neural retrieval: dense bi-encoders and monoT5 / cross-encoder rerankers, on GPU or CPU, cached.

Registers the system prefixes ``dense`` (``dense:<registry id>``), ``monot5``
(``monot5:small|base|large|3b``) and ``ce`` (``ce:ms-marco-MiniLM-L-6-v2``); the models are listed
in ``retrieval/data/models.csv``. Rerankers take the options ``first_stage`` (default
``bm25-flat``) and ``depth`` (default 100, at most 1000); every system takes ``device``, ``dtype``,
``batch_size``, ``model_path`` and ``revision``. Options that change results may also be written
into the spec: ``monot5:base?depth=1000&first_stage=bm25-multifield``.

Importing this package is cheap: torch, transformers and sentence-transformers load on first use.
"""

from __future__ import annotations

from .. import systems
from .live import LIVE_QID, live_search


def _parse_dense(spec, **options):
    from .dense_system import parse_dense

    return parse_dense(spec, **options)


def _parse_reranker(spec, **options):
    from .rerank import parse_reranker

    return parse_reranker(spec, **options)


systems.register("dense", _parse_dense)
systems.register("monot5", _parse_reranker)
systems.register("ce", _parse_reranker)

__all__ = ["LIVE_QID", "live_search"]
