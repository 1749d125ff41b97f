"""Failure inspection: why a system ranked a document where it did.

* :mod:`.bm25` - BM25 term contributions from Lucene's own explanation (:func:`~.bm25.explain_bm25`,
  :func:`~.bm25.bm25_highlights`).
* :mod:`.dense` - query-document cosine and the document's sentences ranked against the query
  (:func:`~.dense.explain_dense`), word saliency of the cosine (:func:`~.dense.dense_saliency`).
* :mod:`.saliency` - word-occlusion saliency of a reranker's score (:func:`~.saliency.explain_reranker`).
* :mod:`.spans` - :class:`~.spans.WeightedSpan`, the highlighting value all of them return.

:func:`explain_document` asks the system (:meth:`retrieval.system.System.explain`), which picks its own. Everything is computed on demand for one
document and cached; importing this package is cheap (pyserini, torch and transformers load on first use).
"""

from __future__ import annotations

from typing import Any

from .spans import WeightedSpan

__all__ = ["WeightedSpan", "explain_document"]


def explain_document(
    dataset: Any,
    system: Any,
    query: str,
    docid: str,
    *,
    cache: Any = None,
    run: Any = None,
    qid: str | None = None,
    input_runs: Any = (),
) -> Any:
    """``system.explain(...)`` for a System or a spec: the explanation that fits it (a ``BM25Explanation``, a
    ``DenseExplanation``, a reranker ``Saliency``, a fusion's ``FusionExplanation``). ``run``/``qid`` attach the
    run's score (BM25); ``input_runs`` are the inputs' runs (a fusion explains from them)."""
    from ..systems import parse_system

    parsed = parse_system(system) if isinstance(system, str) else system
    return parsed.explain(dataset, query, docid, cache=cache, run=run, qid=qid, input_runs=input_runs)
