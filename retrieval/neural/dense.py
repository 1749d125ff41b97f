"""Dense encoders and search: length-sorted batched encoding, exact search by chunked matrix products.

:class:`DenseEncoder` wraps a ``SentenceTransformer`` (the normal case: it runs the model folder's
own modules, e.g. GTR's dense projection) or a plain ``transformers`` encoder plus tokenizer with
mean or CLS pooling (no sentence-transformers needed; used for hand-built models). Either way the
vectors equal ``SentenceTransformer.encode(texts, normalize_embeddings=...)`` up to float noise.

:func:`exact_search` has the shape of sentence-transformers' ``semantic_search``: chunked over the
corpus, a running top-k per query, on CPU or GPU. :func:`faiss_search` is the approximate option
(HNSW) for corpora too large for that.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .device import resolve_device, resolve_dtype, torch_dtype


class DenseEncoder:
    """Encode queries and documents into float32 vectors.

    Example:
        >>> enc = DenseEncoder.from_pretrained("all-MiniLM-L6-v2", device="cpu")  # doctest: +SKIP
        >>> enc.encode_documents(["Vitamin D and bone health"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, model: Any, *, tokenizer: Any = None, pooling: str = "mean", normalize: bool = False,
                 query_prompt: str = "", document_prompt: str = "", max_length: int | None = None,
                 batch_size: int = 32, device: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.backend = "transformers" if tokenizer is not None else "sentence-transformers"
        if self.backend == "sentence-transformers" and not hasattr(model, "encode"):
            raise TypeError("DenseEncoder needs a SentenceTransformer, or a transformers model together with its tokenizer")
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be mean or cls, not {pooling!r}")
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.batch_size = int(batch_size)
        if self.backend == "sentence-transformers":
            if max_length:
                model.max_seq_length = int(max_length)
            self.max_length = int(model.max_seq_length)
            self.device = str(model.device)
        else:
            self.max_length = int(max_length or getattr(tokenizer, "model_max_length", 512) or 512)
            self.device = str(next(model.parameters()).device) if device is None else device
            model.to(self.device).eval()

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, device: str | None = None, dtype: str | None = None,
                        batch_size: int | None = None, normalize: bool | None = None, model_path: str | Path | None = None,
                        revision: str | None = None, cache: Any = None, progress: bool = False) -> "DenseEncoder":
        """Load by registry id / Hugging Face id (through the loading order) or from a local folder."""
        from . import loading, registry

        info = None
        path = Path(str(name_or_path)).expanduser()
        if model_path is None and not path.is_dir():
            info = registry.lookup(str(name_or_path), "dense")
            source = loading.resolve(info, revision=revision, cache=cache, progress=progress)
            path = source.path
        elif model_path is not None:
            info = registry.lookup(str(name_or_path), "dense")
            path = loading.explicit_folder(model_path).path
        problem = loading.folder_problem(path)
        if problem:
            from ..errors import ModelUnavailable

            raise ModelUnavailable(problem)
        dev = resolve_device(device)
        dt = resolve_dtype(dtype, dev, t5=_is_t5(path))
        st = load_sentence_transformer(str(path), dev, dt, info.pooling if info else "mean", bool(info and info.normalize))
        if normalize is None:
            normalize = info.normalize if info else any(type(m).__name__ == "Normalize" for m in st)
        return cls(
            st, normalize=normalize,
            query_prompt=info.query_prompt if info else "", document_prompt=info.document_prompt if info else "",
            max_length=info.max_length if info else None, batch_size=batch_size or (128 if dev.startswith("cuda") else 32),
        )

    @property
    def dim(self) -> int:
        if self.backend == "sentence-transformers":
            return int(self.model.get_embedding_dimension())
        return int(self.model.config.hidden_size)

    @property
    def dtype(self) -> str:
        import torch

        model = self.model if self.backend == "transformers" else self.model[0].model
        return {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[next(model.parameters()).dtype]

    # ---- encoding -------------------------------------------------------------------------
    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None, progress: bool = False,
                         on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        return self.encode(texts, prompt=self.document_prompt, batch_size=batch_size, progress=progress,
                           desc="encode documents", on_batch=on_batch)

    def encode_queries(self, texts: Sequence[str], batch_size: int | None = None, progress: bool = False,
                       on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        return self.encode(texts, prompt=self.query_prompt, batch_size=batch_size, progress=progress,
                           desc="encode queries", on_batch=on_batch)

    def encode(self, texts: Sequence[str], *, prompt: str = "", batch_size: int | None = None, progress: bool = False,
               desc: str = "encode", on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """float32 ``(len(texts), dim)``; batches are formed longest-first so padding is small."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        bs = int(batch_size or self.batch_size)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        from tqdm.auto import tqdm

        with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, file=sys.stderr, mininterval=1.0) as bar:
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                out[idx] = self._encode_batch([texts[i] for i in idx], prompt)
                bar.update(len(idx))
                if on_batch:
                    on_batch(len(idx))
        return out

    def _encode_batch(self, batch: list[str], prompt: str) -> np.ndarray:
        if self.backend == "sentence-transformers":
            emb = self.model.encode(batch, batch_size=len(batch), prompt=prompt or None, normalize_embeddings=self.normalize,
                                    convert_to_numpy=True, show_progress_bar=False)
            return np.asarray(emb, dtype=np.float32)
        import torch

        enc = self.tokenizer([prompt + t for t in batch], padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device)
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state.float()  # pool in float32 whatever the compute dtype
            if self.pooling == "cls":
                emb = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if self.normalize:
                emb = torch.nn.functional.normalize(emb, p=2, dim=1)
        return emb.cpu().numpy().astype(np.float32)


def _is_t5(path: Path) -> bool:
    try:
        import json

        return json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get("model_type") in ("t5", "mt5")
    except (OSError, ValueError):
        return False


_ST_MODELS: dict[tuple, Any] = {}


def load_sentence_transformer(path: str, device: str, dtype: str, pooling: str = "mean", normalize: bool = False):
    """A SentenceTransformer from a local folder (safetensors only, no remote code), memoised per process.

    A folder without ``modules.json`` (a plain transformers checkpoint such as Contriever) gets
    Transformer + Pooling(``pooling``) (+ Normalize) modules built here.
    """
    key = (path, device, dtype, pooling, normalize)
    if key not in _ST_MODELS:
        from sentence_transformers import SentenceTransformer

        model_kwargs = {"use_safetensors": True, "dtype": torch_dtype(dtype)}
        if (Path(path) / "modules.json").is_file():
            st = SentenceTransformer(path, device=device, trust_remote_code=False, local_files_only=True, model_kwargs=model_kwargs)
        else:
            from sentence_transformers.sentence_transformer import modules

            first = modules.Transformer(path, model_kwargs={**model_kwargs, "trust_remote_code": False})
            mods = [first, modules.Pooling(first.get_embedding_dimension(), pooling_mode=pooling)]
            if normalize:
                mods.append(modules.Normalize())
            st = SentenceTransformer(modules=mods, device=device)
        st.eval()
        if len(_ST_MODELS) >= 4:
            _ST_MODELS.pop(next(iter(_ST_MODELS)))
        _ST_MODELS[key] = st
    return _ST_MODELS[key]


# ---- search -------------------------------------------------------------------------------------
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
