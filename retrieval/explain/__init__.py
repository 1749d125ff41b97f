"""Failure inspection: why a system ranked a document where it did.

* :mod:`.bm25` - BM25 term contributions from Lucene's own explanation (:func:`~.bm25.explain_bm25`,
  :func:`~.bm25.bm25_highlights`).
* :mod:`.dense` - query-document cosine and the document's sentences ranked against the query
  (:func:`~.dense.explain_dense`), word saliency of the cosine (:func:`~.dense.dense_saliency`).
* :mod:`.saliency` - word-occlusion saliency of a reranker's score (:func:`~.saliency.explain_reranker`).
* :mod:`.spans` - :class:`~.spans.WeightedSpan`, the highlighting value all of them return.

:func:`explain_document` picks the right one for a system. Everything is computed on demand for one
document and cached; importing this package is cheap (pyserini, torch and transformers load on first use).
"""

from __future__ import annotations

from typing import Any

from .spans import WeightedSpan

__all__ = ["WeightedSpan", "explain_document"]


def explain_document(
    dataset: Any, system: Any, query: str, docid: str, *, cache: Any = None, run: Any = None, qid: str | None = None
) -> Any:
    """The explanation that fits ``system``'s family: a ``BM25Explanation`` (bm25-*), a ``DenseExplanation``
    (dense:*) or a reranker ``Saliency`` (monot5:*, ce:*). ``run``/``qid`` attach the run's score (BM25)."""
    from ..errors import UnknownSystem
    from ..systems import parse_system

    parsed = parse_system(system) if isinstance(system, str) else system
    if parsed.family == "bm25":
        from .bm25 import explain_bm25

        return explain_bm25(dataset, parsed, query, docid, cache=cache, run=run, qid=qid)
    if parsed.family == "dense":
        from .dense import explain_dense

        return explain_dense(dataset, parsed, query, docid, cache=cache)
    if parsed.family == "reranker":
        from .saliency import explain_reranker

        return explain_reranker(dataset, parsed, query, docid, cache=cache)
    raise UnknownSystem(f"no explanation for {parsed.spec} (family {parsed.family!r})")
