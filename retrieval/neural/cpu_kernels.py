"""CPU kernel switch for fp32/bf16 ``nn.Linear``: oneDNN's inner product instead of MKL's sgemm.

Measured by ``bench/monot5_ablation.py`` (results in ``bench/results/2026-11-26-vm-amd-epyc-2c-monot5-ablation.md``):
on this project's CPU (AMD EPYC, AVX-512) PyTorch's fp32 ``F.linear`` goes to MKL's sgemm, which runs at about
two thirds of the speed of oneDNN's fp32 inner product for monoT5's shapes (14.1 vs 9.9 pairs/s inside
``MonoT5Scorer``); oneDNN's result is fp32 too (differences are summation order, ~1e-6 relative).

``onednn_linear(model)`` swaps the ``forward`` of every ``nn.Linear`` in ``model`` for
``torch.ops.mkldnn._linear_pointwise`` while the context is open. That op is private: where it is missing
(a torch build without oneDNN, or a future torch that drops it) or fails on first use, nothing is switched and
the plain path runs (:func:`onednn_available`).
"""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Iterator


@functools.lru_cache(maxsize=1)
def onednn_available() -> bool:
    """Whether the private oneDNN linear op exists here and gives F.linear's result on a small probe."""
    try:
        import torch

        if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
            return False
        gen = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(s, generator=gen) for s in ((3, 8), (5, 8), (5,)))
        got = torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
        return bool(torch.allclose(got, torch.nn.functional.linear(x, w, b), atol=1e-5, rtol=1e-5))
    except Exception:  # noqa: BLE001 - a private op: any failure means "not available", never a crash
        return False


def _onednn_forward(self, x):
    import torch

    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.bfloat16) or self.weight.dtype != x.dtype:
        return torch.nn.functional.linear(x, self.weight, self.bias)
    return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")


@contextlib.contextmanager
def onednn_linear(model, enabled: bool = True) -> Iterator[int]:
    """Within the block, ``model``'s ``nn.Linear`` layers run on oneDNN; yields how many were switched
    (0 when ``enabled`` is false or the op is unavailable)."""
    import torch

    patched = []
    if enabled and onednn_available():
        for module in model.modules():
            if type(module) is torch.nn.Linear and "forward" not in module.__dict__:
                module.forward = types.MethodType(_onednn_forward, module)
                patched.append(module)
    try:
        yield len(patched)
    finally:
        for module in patched:
            del module.forward
