"""Vector search over corpus embeddings: exact (chunked matrix products, running top-k) or FAISS HNSW.

:func:`exact_search` has the shape of sentence-transformers' ``semantic_search``: chunked over the
corpus, a running top-k per query, on CPU or GPU. :func:`faiss_search` is the approximate option
(HNSW) for corpora too large for that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def exact_search(
    queries: np.ndarray,
    corpus: np.ndarray,
    k: int,
    *,
    similarity: str = "cos",
    device: str = "cpu",
    corpus_chunk: int | None = None,
    query_chunk: int = 1_000,
    compute_dtype: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` corpus rows per query by dot product (``"dot"``) or cosine (``"cos"``).

    ``corpus`` may be a float16 memmap of any size: it is read ``corpus_chunk`` rows at a time (default 50,000
    on CPU, 262,144 on CUDA) and a running top-``k`` per query is merged chunk by chunk, so memory is bounded by
    the chunk, never the corpus (8.8M x 768 float16 streams through one card). Compute dtype: float32 on CPU;
    on CUDA float16 (the storage dtype; products accumulate in float32 on the tensor cores, scores rounded to
    float16), with host chunks copied through pinned memory without blocking. ``compute_dtype`` overrides it.

    Ties are broken by row index (lower first) at every step, so the result does not depend on the chunk
    sizes. Memory: a few ``query_chunk x corpus_chunk`` score arrays besides one chunk of the corpus.
    Returns ``(scores float32, indices int64)``, both ``(n_queries, min(k, n_docs))``, best first.
    """
    import torch

    n_docs = int(corpus.shape[0])
    k = min(int(k), n_docs)
    nq = int(queries.shape[0])
    all_scores = np.zeros((nq, k), dtype=np.float32)
    all_idx = np.zeros((nq, k), dtype=np.int64)
    if nq == 0 or k == 0:
        return all_scores, all_idx
    cuda = str(device).startswith("cuda")
    dtype = getattr(torch, compute_dtype or ("float16" if cuda else "float32"))
    chunk = int(corpus_chunk or (262_144 if cuda else 50_000))
    with torch.inference_mode():
        for qs in range(0, nq, query_chunk):
            q = torch.from_numpy(np.ascontiguousarray(queries[qs : qs + query_chunk], dtype=np.float32)).to(device)
            if similarity == "cos":
                q = torch.nn.functional.normalize(q, p=2, dim=1)
            q = q.to(dtype)
            best_s = best_i = None
            for cs in range(0, n_docs, chunk):
                c = _chunk_to(corpus, cs, min(cs + chunk, n_docs), device, dtype)
                if similarity == "cos":
                    c = torch.nn.functional.normalize(c.float(), p=2, dim=1).to(dtype)
                scores = (q @ c.T).float()
                top_s, top_i = _top_k(scores, k)
                top_i = top_i + cs
                if best_s is not None:
                    top_s, top_i = _merge(torch.cat([best_s, top_s], dim=1), torch.cat([best_i, top_i], dim=1), k)
                best_s, best_i = top_s, top_i
            all_scores[qs : qs + q.shape[0]] = best_s.cpu().numpy()
            all_idx[qs : qs + q.shape[0]] = best_i.cpu().numpy()
    return all_scores, all_idx


def _chunk_to(corpus: np.ndarray, start: int, stop: int, device: str, dtype):
    """Rows ``start:stop`` of ``corpus`` as a ``dtype`` tensor on ``device`` (through pinned memory on CUDA)."""
    import torch

    block = np.asarray(corpus[start:stop])
    if str(device).startswith("cuda"):
        host = torch.from_numpy(np.ascontiguousarray(block)).pin_memory()
        return host.to(device, non_blocking=True).to(dtype)
    return torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32)).to(dtype)


def _top_k(scores, k: int):
    """Per row the ``k`` best (score desc, then column asc), sorted that way: ``(scores, columns)``."""
    import torch

    k = min(k, scores.shape[1])
    kth = torch.topk(scores, k, dim=1, largest=True, sorted=False).values.min(dim=1, keepdim=True).values
    keep = scores >= kth
    crowded = torch.nonzero(keep.sum(dim=1) > k)[:, 0]  # rows with more ties at the boundary than places
    if crowded.numel():
        sub = scores[crowded]
        tied = sub == kth[crowded]
        need = k - (sub > kth[crowded]).sum(dim=1, keepdim=True)
        keep[crowded] = (sub > kth[crowded]) | (tied & (torch.cumsum(tied, dim=1, dtype=torch.int32) <= need))  # lowest rows win
    cols = torch.nonzero(keep)[:, 1].view(scores.shape[0], k)  # exactly k per row, in column order
    return _merge(torch.gather(scores, 1, cols), cols, k)


def _merge(scores, idx, k: int):
    """The ``k`` best of candidate ``(scores, idx)`` by score desc, then index asc (two stable sorts)."""
    import torch

    by_index = torch.argsort(idx, dim=1, stable=True)
    scores, idx = torch.gather(scores, 1, by_index), torch.gather(idx, 1, by_index)
    by_score = torch.argsort(scores, dim=1, descending=True, stable=True)[:, :k]
    return torch.gather(scores, 1, by_score), torch.gather(idx, 1, by_score)


def build_faiss_index(
    corpus: np.ndarray, path: Path, *, similarity: str = "cos", m: int = 32, ef_construction: int = 200, chunk: int = 50_000
) -> None:
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


def faiss_search(
    queries: np.ndarray, index_path: Path, k: int, *, similarity: str = "cos", ef_search: int = 256
) -> tuple[np.ndarray, np.ndarray]:
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
