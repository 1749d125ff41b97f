"""Cross-encoder scores (``cross-encoder/ms-marco-MiniLM-L-6-v2``) through sentence-transformers' CrossEncoder.

Pairs are scored in length-sorted batches; the score is the model's raw logit (no sigmoid), which
orders exactly as the probability does but does not saturate into ties.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cpu_kernels import check_cpu_dtype
from .device import resolve_device, resolve_dtype, torch_dtype


class CrossEncoderScorer:
    """``score_pairs([(query, document), ...])`` -> float64 logits in input order."""

    def __init__(self, model: Any, *, batch_size: int | None = None) -> None:
        self.model = model
        self.device = str(model.device)
        self.batch_size = int(batch_size or (128 if self.device.startswith("cuda") else 32))

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        max_length: int = 512,
        model_path: str | Path | None = None,
        revision: str | None = None,
        cache: Any = None,
    ) -> CrossEncoderScorer:
        from . import weights

        path, _ = weights.model_folder(name_or_path, "ce", model_path=model_path, revision=revision, cache=cache)
        dev = resolve_device(device)
        return cls(load_cross_encoder(str(path), dev, resolve_dtype(dtype, dev), max_length), batch_size=batch_size)

    def score_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        batch_size: int | None = None,
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        import torch

        pairs = list(pairs)
        out = np.zeros(len(pairs), dtype=np.float64)
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        bs = int(batch_size or self.batch_size)
        from tqdm.auto import tqdm

        with tqdm(
            total=len(pairs), desc="cross-encoder", unit="pair", disable=not progress, file=sys.stderr, mininterval=1.0
        ) as bar:
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                scores = self.model.predict(
                    [list(pairs[i]) for i in idx],
                    batch_size=len(idx),
                    activation_fn=torch.nn.Identity(),
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                out[idx] = np.asarray(scores, dtype=np.float64).reshape(len(idx), -1)[:, 0]
                bar.update(len(idx))
                if on_batch:
                    on_batch(len(idx))
        return out


def load_cross_encoder(path: str, device: str, dtype: str, max_length: int = 512):
    from . import weights

    def load():
        import torch
        from sentence_transformers import CrossEncoder

        if device == "cpu":
            check_cpu_dtype(dtype)  # one clear line where this CPU cannot run the dtype
        model = CrossEncoder(
            path,
            device=device,
            trust_remote_code=False,
            local_files_only=True,
            max_length=max_length,
            activation_fn=torch.nn.Identity(),
            model_kwargs={"use_safetensors": True, "dtype": torch_dtype(dtype)},
        )
        return model.eval()

    return weights.loaded(("cross-encoder", path, device, dtype, max_length), load)
