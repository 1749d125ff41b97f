"""CPU kernel switch measured by the monoT5 ablation: oneDNN for fp32 ``nn.Linear``.

On this project's CPU (AMD EPYC, AVX-512) PyTorch's fp32 ``F.linear`` goes to MKL's sgemm, which runs at
about half the speed of oneDNN's fp32 inner product for the same shapes; oneDNN's result is fp32 too
(differences are summation order, ~1e-6 relative). ``onednn_linear(model)`` swaps the ``forward`` of every
``nn.Linear`` in ``model`` for ``torch.ops.mkldnn._linear_pointwise`` while the context is open.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator


def onednn_available() -> bool:
    import torch

    return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _onednn_forward(self, x):
    import torch

    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.bfloat16):
        return torch.nn.functional.linear(x, self.weight, self.bias)
    return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")


@contextlib.contextmanager
def onednn_linear(model) -> Iterator[int]:
    """Within the block, ``model``'s ``nn.Linear`` layers run on oneDNN; yields how many were switched."""
    import torch

    patched = []
    if onednn_available():
        for module in model.modules():
            if type(module) is torch.nn.Linear and "forward" not in module.__dict__:
                module.forward = types.MethodType(_onednn_forward, module)
                patched.append(module)
    try:
        yield len(patched)
    finally:
        for module in patched:
            del module.forward
