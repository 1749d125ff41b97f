"""Dense encoder models: length-sorted batched encoding of queries and documents.

:class:`DenseEncoder` wraps a ``SentenceTransformer`` (the normal case: it runs the model folder's
own modules, e.g. GTR's dense projection) or a plain ``transformers`` encoder plus tokenizer with
mean or CLS pooling (no sentence-transformers needed; used for hand-built models). Either way the
vectors equal ``SentenceTransformer.encode(texts, normalize_embeddings=...)`` up to float noise.

Search over the vectors is :mod:`retrieval.neural.vector_search`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RetrievalError
from . import weights
from .batching import token_batches
from .cpu_kernels import check_cpu_dtype
from .device import dtype_name, resolve_device, resolve_dtype, torch_dtype
from .exported import sentence_vectors


class DenseEncoder:
    """Encode queries and documents into float32 vectors.

    Example:
        >>> enc = DenseEncoder.from_pretrained("all-MiniLM-L6-v2", device="cpu")  # doctest: +SKIP
        >>> enc.encode_documents(["Vitamin D and bone health"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        model: Any,
        *,
        tokenizer: Any = None,
        pooling: str = "mean",
        normalize: bool = False,
        query_prompt: str = "",
        document_prompt: str = "",
        max_length: int | None = None,
        batch_size: int = 32,
        device: str | None = None,
        batch_tokens: int | None = None,
        pipeline: bool = True,
        exported: Any = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.kind = "transformers" if tokenizer is not None else "sentence-transformers"  # what ``model`` is
        if self.kind == "sentence-transformers" and not hasattr(model, "encode"):
            raise TypeError("DenseEncoder needs a SentenceTransformer, or a transformers model together with its tokenizer")
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be mean or cls, not {pooling!r}")
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.batch_size = int(batch_size)
        self.batch_tokens = batch_tokens  # transformers backend: padded tokens per batch (None: rows only)
        # the transformer through an exported model (retrieval.neural.exported): backend onnx, openvino, ... ; the
        # SentenceTransformer's other modules (pooling, normalisation) run as they are
        self.exported = exported
        self.backend = exported.backend.name if exported is not None else "torch"
        if exported is not None and self.kind != "sentence-transformers":
            raise TypeError("an exported model runs inside a SentenceTransformer (its pooling and other modules)")
        self.pipeline = exported is not None or (bool(pipeline) and (self.kind == "transformers" or hasattr(model, "preprocess")))
        self._rust: tuple[int | None, Any] = (None, None)  # (max_length, its Rust tokenizer): _rust_tokenizer
        if self.kind == "sentence-transformers":
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
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        normalize: bool | None = None,
        model_path: str | Path | None = None,
        revision: str | None = None,
        cache: Any = None,
        progress: bool = False,
        backend: str | None = None,
    ) -> DenseEncoder:
        """Load by registry id / Hugging Face id (through the loading order) or from a local folder.

        ``backend`` (:data:`retrieval.neural.exported.BACKENDS`): ``torch`` (default) or an exported model on the
        CPU in float32 (``onnx``, ``openvino``) or int8 (``onnx-int8``, ``openvino-int8``), built into ``cache``
        from these weights the first time and checked against them."""
        from . import exported as exp
        from . import weights

        chosen = exp.parse_backend(backend)
        if chosen.exported:
            ok, why = exp.availability(chosen)
            if not ok:
                raise RetrievalError(why)
        path, info = weights.model_folder(
            name_or_path, "dense", model_path=model_path, revision=revision, cache=cache, progress=progress
        )
        if chosen.exported:
            dev, dt = check_exported_options(chosen, device, dtype)
        else:
            dev = resolve_device(device)
            dt = resolve_dtype(dtype, dev, t5=_is_t5(path))
        st = load_sentence_transformer(str(path), dev, dt, info.pooling if info else "mean", bool(info and info.normalize))
        if normalize is None:
            normalize = info.normalize if info else any(type(m).__name__ == "Normalize" for m in st)
        max_length = info.max_length if info else None
        runner = None
        if chosen.exported:
            runner = exp.exported_model(
                st,
                path,
                chosen,
                model=info.hf_id if info else str(path),
                revision=revision or (info.revision if info else ""),
                max_length=int(max_length or st.max_seq_length),
                cache=cache,
            )
        return cls(
            st,
            normalize=normalize,
            query_prompt=info.query_prompt if info else "",
            document_prompt=info.document_prompt if info else "",
            max_length=max_length,
            batch_size=batch_size or (128 if dev.startswith("cuda") else 32),
            exported=runner,
        )

    @property
    def dim(self) -> int:
        if self.kind == "sentence-transformers":
            return int(self.model.get_embedding_dimension())
        return int(self.model.config.hidden_size)

    @property
    def dtype(self) -> str:
        model = self.model if self.kind == "transformers" else self.model[0].model
        return dtype_name(next(model.parameters()).dtype)

    # ---- encoding -------------------------------------------------------------------------
    def encode_documents(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        return self.encode(
            texts,
            prompt=self.document_prompt,
            batch_size=batch_size,
            progress=progress,
            desc="encode documents",
            on_batch=on_batch,
        )

    def encode_queries(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        return self.encode(
            texts, prompt=self.query_prompt, batch_size=batch_size, progress=progress, desc="encode queries", on_batch=on_batch
        )

    def encode(
        self,
        texts: Sequence[str],
        *,
        prompt: str = "",
        batch_size: int | None = None,
        progress: bool = False,
        desc: str = "encode",
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """float32 ``(len(texts), dim)``; longest first, so padding is small.

        Tokenisation runs in a worker thread ahead of the model (:func:`prefetch`, a bounded queue), so the
        model does not wait on the tokenizer; on CUDA the padded batches sit in pinned memory and are copied
        with ``non_blocking=True``, and the vectors stay on the GPU until the end (one copy back, no sync per
        batch). Batches are cut from token-length-sorted input by a token budget (``batch_tokens`` padded
        tokens, at most ``batch_size`` rows), tokenised through the fast tokenizer's Rust core
        (:meth:`_token_ids`). That covers the transformers backend and a SentenceTransformer whose input is a
        plain text ``Transformer`` (:meth:`_st_plain`: the same ids as ``SentenceTransformer.preprocess``); any
        other SentenceTransformer keeps ``preprocess`` (so its prompts and pooling options behave as in
        ``encode``) on batches of ``batch_size`` in character-length order, as ``encode`` forms them. On an
        H200, tokenising was the bound: all-MiniLM-L6-v2 ran 3.4x faster on SciFact once ``preprocess``
        (which builds Python lists of every feature) was left out (``bench/gpu_minilm_profile.py``).
        """
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        bs = int(batch_size or self.batch_size)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        from tqdm.auto import tqdm

        if not self.pipeline:
            with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, file=sys.stderr, mininterval=1.0) as bar:
                for start in range(0, len(order), bs):
                    idx = order[start : start + bs]
                    out[idx] = self._encode_batch([texts[i] for i in idx], prompt)
                    bar.update(len(idx))
                    if on_batch:
                        on_batch(len(idx))
            return out
        import torch

        cuda = str(self.device).startswith("cuda")
        batches = (
            self._transformers_batches(texts, order, prompt, bs)
            if self.kind == "transformers"
            else self._st_batches(texts, order, prompt, bs)
        )
        done: list[tuple[list[int], Any]] = []
        with (
            torch.inference_mode(),
            tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, file=sys.stderr, mininterval=1.0) as bar,
        ):
            for idx, features in prefetch(batches, depth=4):
                features = {
                    k: v.to(self.device, non_blocking=cuda) if isinstance(v, torch.Tensor) else v for k, v in features.items()
                }
                emb = self._forward(features)
                done.append((idx, emb if cuda else emb.numpy()))
                bar.update(len(idx))
                if on_batch:
                    on_batch(len(idx))
        for idx, emb in done:
            out[idx] = emb.cpu().numpy() if cuda else emb
        return out

    def _transformers_batches(self, texts: list[str], order: list[int], prompt: str, max_rows: int, block: int = 512):
        """(indices, padded features) in token-budget batches; tokenised ``block`` texts at a time, no padding."""
        import torch

        budget = int(self.batch_tokens or (1 << 62))
        pin = str(self.device).startswith("cuda")
        pad_id = int(self._tokenizer().pad_token_id or 0)
        for start in range(0, len(order), block):
            idx = order[start : start + block]
            ids, type_ids = self._token_ids([prompt + texts[i] for i in idx])
            lengths = [len(x) for x in ids]
            local = sorted(range(len(idx)), key=lambda j: -lengths[j])
            for batch in token_batches(lengths, local, max_tokens=budget, max_rows=max_rows):
                width = lengths[batch[0]]
                features = {
                    "input_ids": np.full((len(batch), width), pad_id, dtype=np.int64),
                    "attention_mask": np.zeros((len(batch), width), dtype=np.int64),
                }
                if type_ids is not None:
                    features["token_type_ids"] = np.zeros((len(batch), width), dtype=np.int64)
                for row, j in enumerate(batch):
                    n = lengths[j]
                    features["input_ids"][row, :n] = ids[j]
                    features["attention_mask"][row, :n] = 1
                    if type_ids is not None:
                        features["token_type_ids"][row, :n] = type_ids[j]
                tensors = {k: torch.from_numpy(v) for k, v in features.items()}
                yield [idx[j] for j in batch], ({k: v.pin_memory() for k, v in tensors.items()} if pin else tensors)

    def _tokenizer(self):
        return self.tokenizer if self.kind == "transformers" else self.model.tokenizer

    def _token_ids(self, texts: list[str]) -> tuple[list[list[int]], list[list[int]] | None]:
        """Token ids (special tokens added, truncated at ``max_length``, unpadded) and token type ids when the
        model takes them: through the fast tokenizer's Rust core when there is one (a batch call that runs on
        every core; the ``transformers`` call around it builds Python dicts of lists that cost more than the
        tokenising on a GPU machine), else through the tokenizer's own call. Both give the same ids."""
        tokenizer = self._tokenizer()
        wants_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
        core = self._rust_tokenizer()
        if core is not None:
            encodings = getattr(core, "encode_batch_fast", core.encode_batch)(texts, add_special_tokens=True)
            return [e.ids for e in encodings], ([e.type_ids for e in encodings] if wants_types else None)
        enc = tokenizer(texts, truncation=True, max_length=self.max_length, padding=False)
        return enc["input_ids"], (enc["token_type_ids"] if wants_types and "token_type_ids" in enc else None)

    def _rust_tokenizer(self):
        """A copy of the fast tokenizer's ``tokenizers.Tokenizer`` that truncates at ``max_length`` and never pads
        (a copy: the shared tokenizer's own settings stay as they are), or None for a slow tokenizer."""
        if self._rust[0] != self.max_length:  # made again if max_length is changed
            tokenizer = self._tokenizer()
            core = None
            if getattr(tokenizer, "is_fast", False):
                from tokenizers import Tokenizer

                core = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
                core.no_padding()
                core.enable_truncation(self.max_length)
            self._rust = (self.max_length, core)
        return self._rust[1]

    def _st_plain(self) -> bool:
        """Whether the SentenceTransformer's input is a plain text ``Transformer`` module whose features our own
        tokenising reproduces (fast tokenizer, no lower-casing of its own, no per-call processing options, no
        pooling that leaves the prompt out): then its batches are cut by tokens like the transformers backend's."""
        first = self.model[0] if len(self.model) else None
        return (
            type(first).__name__ == "Transformer"
            and getattr(self.model.tokenizer, "is_fast", False)
            and not getattr(first, "do_lower_case", False)
            and not getattr(first, "processing_kwargs", None)
            and all(getattr(m, "include_prompt", True) for m in self.model)
        )

    def _st_batches(self, texts: list[str], order: list[int], prompt: str, batch_size: int):
        """(indices, features) per batch: ours (token-sorted, token budget) for a plain text model, else
        ``SentenceTransformer.preprocess`` on batches of ``batch_size``."""
        import torch

        if self._st_plain():
            yield from self._transformers_batches(texts, order, prompt, batch_size)
            return
        pin = str(self.device).startswith("cuda")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            features = self.model.preprocess([texts[i] for i in idx], prompt=prompt or None)
            if pin:
                features = {k: v.pin_memory() if isinstance(v, torch.Tensor) else v for k, v in features.items()}
            yield idx, features

    def _forward(self, features: dict):
        """float32 vectors (on the model's device) of one padded batch."""
        import torch

        if self.exported is not None:
            emb = sentence_vectors(self.model, features, self.exported(features))
        elif self.kind == "sentence-transformers":
            emb = self.model(features)["sentence_embedding"].float()
        else:
            hidden = self.model(**features).last_hidden_state.float()  # pool in float32 whatever the compute dtype
            if self.pooling == "cls":
                emb = hidden[:, 0]
            else:
                mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.normalize:
            emb = torch.nn.functional.normalize(emb, p=2, dim=1)
        return emb

    def _encode_batch(self, batch: list[str], prompt: str) -> np.ndarray:
        """One batch without the pipeline (``pipeline=False``): ``SentenceTransformer.encode`` or tokenise + forward."""
        if self.kind == "sentence-transformers":
            emb = self.model.encode(
                batch,
                batch_size=len(batch),
                prompt=prompt or None,
                normalize_embeddings=self.normalize,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return np.asarray(emb, dtype=np.float32)
        import torch

        enc = self.tokenizer(
            [prompt + t for t in batch], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            return self._forward(dict(enc)).cpu().numpy().astype(np.float32)


def check_exported_options(backend: Any, device: str | None, dtype: str | None) -> tuple[str, str]:
    """``("cpu", "float32")``: where an exported backend runs; a request for another device or dtype raises."""
    if device not in (None, "", "auto") and str(device).strip().lower() != "cpu":
        raise RetrievalError(f"backend {backend.name} runs on the CPU, not {device!r}: leave out --device or use --device cpu")
    if dtype not in (None, "", "auto") and resolve_dtype(dtype, "cpu") != "float32":
        raise RetrievalError(
            f"backend {backend.name} computes in {backend.precision}, not {dtype!r}: leave out --dtype or use --dtype float32"
        )
    return "cpu", "float32"


def prefetch(items: Iterator[Any], *, depth: int = 4) -> Iterator[Any]:
    """``items`` produced in a worker thread, at most ``depth`` ahead of the consumer (a bounded queue).

    An exception in the producer is raised in the consumer; a consumer that stops early stops the producer.
    The fast tokenizers and torch release the GIL in their heavy parts, so the two threads overlap.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((None, item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((exc, None))
            return
        put((None, end))

    thread = threading.Thread(target=work, name="dense-tokenize", daemon=True)
    thread.start()
    try:
        while True:
            exc, item = q.get()
            if exc is not None:
                raise exc
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


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
    return weights.loaded(
        ("sentence-transformers", path, device, dtype, pooling, normalize),
        lambda: _load_sentence_transformer(path, device, dtype, pooling, normalize),
    )


def _load_sentence_transformer(path: str, device: str, dtype: str, pooling: str, normalize: bool):
    from sentence_transformers import SentenceTransformer

    if device == "cpu":
        check_cpu_dtype(dtype)  # one clear line where this CPU cannot run the dtype
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
