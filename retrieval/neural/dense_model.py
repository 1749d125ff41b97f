"""Dense encoder models: length-sorted batched encoding of queries and documents.

:class:`DenseEncoder` wraps a ``SentenceTransformer`` (the normal case: it runs the model folder's
own modules, e.g. GTR's dense projection) or a plain ``transformers`` encoder plus tokenizer with
mean or CLS pooling (no sentence-transformers needed; used for hand-built models). Either way the
vectors equal ``SentenceTransformer.encode(texts, normalize_embeddings=...)`` up to float noise.

Search over the vectors is :mod:`retrieval.neural.vector_search`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import weights
from .device import dtype_name, resolve_device, resolve_dtype, torch_dtype


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
        from . import weights

        path, info = weights.model_folder(name_or_path, "dense", model_path=model_path, revision=revision, cache=cache,
                                          progress=progress)
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
        model = self.model if self.backend == "transformers" else self.model[0].model
        return dtype_name(next(model.parameters()).dtype)

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


def load_sentence_transformer(path: str, device: str, dtype: str, pooling: str = "mean", normalize: bool = False):
    """A SentenceTransformer from a local folder (safetensors only, no remote code), memoised per process.

    A folder without ``modules.json`` (a plain transformers checkpoint such as Contriever) gets
    Transformer + Pooling(``pooling``) (+ Normalize) modules built here.
    """
    return weights.loaded(("sentence-transformers", path, device, dtype, pooling, normalize),
                          lambda: _load_sentence_transformer(path, device, dtype, pooling, normalize))


def _load_sentence_transformer(path: str, device: str, dtype: str, pooling: str, normalize: bool):
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
    return st
