"""Vector search over corpus embeddings: exact (chunked matrix products, running top-k) or FAISS HNSW.

:func:`exact_search` has the shape of sentence-transformers' ``semantic_search``: chunked over the
corpus, a running top-k per query, on CPU or GPU. :func:`faiss_search` is the approximate option
(HNSW) for corpora too large for that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

def exact_search(queries: np.ndarray, corpus: np.ndarray, k: int, *, similarity: str = "cos", device: str = "cpu",
                 corpus_chunk: int = 50_000, query_chunk: int = 1_000) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` corpus rows per query by dot product (``"dot"``) or cosine (``"cos"``).

    ``corpus`` may be a float16 memmap; it is read chunk by chunk and compared in float32.
    Returns ``(scores, indices)``, both ``(n_queries, min(k, n_docs))``, best first.
    """
    import torch

    n_docs = int(corpus.shape[0])
    k = min(int(k), n_docs)
    nq = int(queries.shape[0])
    all_scores = np.zeros((nq, k), dtype=np.float32)
    all_idx = np.zeros((nq, k), dtype=np.int64)
    if nq == 0 or k == 0:
        return all_scores, all_idx
    with torch.inference_mode():
        for qs in range(0, nq, query_chunk):
            q = torch.from_numpy(np.ascontiguousarray(queries[qs : qs + query_chunk], dtype=np.float32)).to(device)
            if similarity == "cos":
                q = torch.nn.functional.normalize(q, p=2, dim=1)
            best_s = best_i = None
            for cs in range(0, n_docs, corpus_chunk):
                c = torch.from_numpy(np.ascontiguousarray(corpus[cs : cs + corpus_chunk], dtype=np.float32)).to(device)
                if similarity == "cos":
                    c = torch.nn.functional.normalize(c, p=2, dim=1)
                scores = q @ c.T
                top_s, top_i = torch.topk(scores, min(k, scores.shape[1]), dim=1, largest=True, sorted=False)
                top_i = top_i + cs
                if best_s is not None:
                    top_s = torch.cat([best_s, top_s], dim=1)
                    top_i = torch.cat([best_i, top_i], dim=1)
                    keep_s, pos = torch.topk(top_s, min(k, top_s.shape[1]), dim=1, largest=True, sorted=False)
                    top_s, top_i = keep_s, torch.gather(top_i, 1, pos)
                best_s, best_i = top_s, top_i
            order = torch.argsort(best_s, dim=1, descending=True, stable=True)
            all_scores[qs : qs + q.shape[0]] = torch.gather(best_s, 1, order).cpu().numpy()
            all_idx[qs : qs + q.shape[0]] = torch.gather(best_i, 1, order).cpu().numpy()
    return all_scores, all_idx


def build_faiss_index(corpus: np.ndarray, path: Path, *, similarity: str = "cos", m: int = 32, ef_construction: int = 200,
                      chunk: int = 50_000) -> None:
    """An HNSW (inner product) index over ``corpus``, written to ``path`` (FAISS's own format, no pickle)."""
    faiss = _faiss()
    index = faiss.IndexHNSWFlat(int(corpus.shape[1]), m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    for start in range(0, corpus.shape[0], chunk):
        block = np.ascontiguousarray(corpus[start : start + chunk], dtype=np.float32)
        if similarity == "cos":
            faiss.normalize_L2(block)
        index.add(block)
    faiss.write_index(index, str(path))


def faiss_search(queries: np.ndarray, index_path: Path, k: int, *, similarity: str = "cos", ef_search: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` from an index made by :func:`build_faiss_index` (same return shape as exact_search)."""
    faiss = _faiss()
    index = faiss.read_index(str(index_path))
    index.hnsw.efSearch = max(ef_search, k)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if similarity == "cos":
        q = q.copy()
        faiss.normalize_L2(q)
    k = min(int(k), index.ntotal)
    scores, idx = index.search(q, k)
    return scores, idx.astype(np.int64)


def _faiss():
    try:
        import faiss
    except ImportError:
        from ..errors import RetrievalError

        raise RetrievalError("index=faiss needs the faiss-cpu package (pip install faiss-cpu==1.15.1)") from None
    return faiss
