"""Failure inspection: why a system ranked a document where it did.

* :mod:`.bm25` - BM25 term contributions from Lucene's own explanation (:func:`~.bm25.explain_bm25`).
* :mod:`.dense` - query-document cosine and the document's sentences ranked against the query.
* :mod:`.saliency` - word-occlusion saliency of a reranker's (or any scorer's) relevance score.
* :mod:`.spans` - :class:`~.spans.WeightedSpan`, the highlighting value all of them return.

Everything is computed on demand for one document and memoised; importing this package is cheap
(pyserini, torch and transformers load on first use).
"""

from .spans import WeightedSpan

__all__ = ["WeightedSpan"]
