"""CPU kernel switch for fp32/bf16 ``nn.Linear``: oneDNN's inner product instead of MKL's sgemm.

Measured by ``bench/monot5_ablation.py`` (results in ``bench/results/2026-11-26-vm-amd-epyc-2c-monot5-ablation.md``):
on this project's CPU (AMD EPYC, AVX-512) PyTorch's fp32 ``F.linear`` goes to MKL's sgemm, which runs at about
two thirds of the speed of oneDNN's fp32 inner product for monoT5's shapes (14.1 vs 9.9 pairs/s inside
``MonoT5Scorer``); oneDNN's result is fp32 too (differences are summation order, ~1e-6 relative).

``onednn_linear(model)`` swaps the ``forward`` of every ``nn.Linear`` in ``model`` for
``torch.ops.mkldnn._linear_pointwise`` while the context is open. That op is private: where it is missing
(a torch build without oneDNN, or a future torch that drops it) or fails on first use, nothing is switched and
the plain path runs (:func:`onednn_available`).

The T5 encoder's own CPU path (``retrieval.neural.monot5_model.t5_encoder_forward_onednn``) calls the op directly
through :func:`linear` and :func:`linear_add`, with oneDNN post-ops: the feed-forward ReLU is applied inside the
first feed-forward matmul and the residual addition inside the output projections, so neither is a separate pass
over the activations (measured by ``bench/monot5_bench.py``; results in ``bench/results/``). In float32 post-ops
change no arithmetic: ``relu(x W^T)`` and ``r + x W^T`` are the same operations, done while the result is in cache
(in bfloat16 the addition happens before the result is rounded: one rounding instead of two).
"""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Iterator

# Tolerances of the probes: float32 differs from F.linear only by summation order; bfloat16 keeps 8 bits of mantissa.
_PROBE_TOL = {"float32": 1e-5, "bfloat16": 3e-2}


@functools.cache
def onednn_available(dtype: str = "float32") -> bool:
    """Whether the private oneDNN linear op runs here in ``dtype`` ("float32" or "bfloat16") and gives F.linear's
    result on a small probe (also with the ReLU post-op and with the residual-add variant that :func:`linear` and
    :func:`linear_add` use). Probed once per dtype and process.

    A CPU can have the op for float32 and not for bfloat16: oneDNN's bfloat16 inner product needs AVX-512 (or AMX),
    and on an AVX2-only CPU it refuses with "could not create a primitive descriptor". Every caller then takes the
    plain PyTorch path, which runs bfloat16 anywhere (slower)."""
    if dtype not in _PROBE_TOL:
        return False
    try:
        import torch

        if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
            return False
        gen = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(s, generator=gen).to(getattr(torch, dtype)) for s in ((3, 8), (5, 8), (5,)))
        ref = torch.nn.functional.linear(x, w, b).float()
        got = torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "").float()
        relu = torch.ops.mkldnn._linear_pointwise(x, w, None, "relu", [], "").float()
        added = torch.ops.mkldnn._linear_pointwise.binary(x, ref.to(x.dtype), w, None, "add").float()
        tol = _PROBE_TOL[dtype] * (1 + ref.abs().max().item())  # bfloat16 rounds relative to the values' size
        close = functools.partial(torch.allclose, atol=tol, rtol=_PROBE_TOL[dtype])
        bias = b.float()
        return bool(close(got, ref) and close(relu, torch.relu(ref - bias)) and close(added, 2 * ref - bias))
    except Exception:  # noqa: BLE001 - a private op: any failure means "not available", never a crash
        return False


@functools.cache
def cpu_dtype_error(dtype: str) -> str | None:
    """``None`` when PyTorch's plain CPU path runs ``dtype`` here (a linear layer, softmax and layer norm on a small
    probe, finite results), else one line saying why it does not and what to use instead. Probed once per process."""
    try:
        import torch

        t = getattr(torch, dtype)
        gen = torch.Generator().manual_seed(0)
        x, w = torch.randn(3, 8, generator=gen).to(t), torch.randn(5, 8, generator=gen).to(t)
        y = torch.nn.functional.linear(x, w)
        y = torch.nn.functional.layer_norm(torch.softmax(y, dim=-1), (5,))
        if y.dtype != t or not bool(torch.isfinite(y.float()).all()):
            return f"{dtype} gives no finite result on this CPU; use --dtype float32"
        return None
    except Exception as exc:  # noqa: BLE001 - whatever the kernel raises, the user gets one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{dtype} does not run on this CPU ({first}); use --dtype float32"


def check_cpu_dtype(dtype: str) -> None:
    """Raise :class:`~retrieval.errors.RetrievalError` with one clear line when ``dtype`` cannot run on this CPU."""
    message = cpu_dtype_error(dtype)
    if message:
        from ..errors import RetrievalError

        raise RetrievalError(message)


def _onednn_dtype(dtype) -> bool:
    """Whether the oneDNN op runs in this torch dtype here (the per-dtype probe, cached)."""
    import torch

    return (dtype is torch.float32 and onednn_available("float32")) or (dtype is torch.bfloat16 and onednn_available("bfloat16"))


def _onednn_forward(self, x):
    import torch

    if x.device.type != "cpu" or self.weight.dtype != x.dtype or not _onednn_dtype(x.dtype):
        return torch.nn.functional.linear(x, self.weight, self.bias)
    return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")


@contextlib.contextmanager
def onednn_linear(model, enabled: bool = True) -> Iterator[int]:
    """Within the block, ``model``'s ``nn.Linear`` layers run on oneDNN; yields how many were switched
    (0 when ``enabled`` is false or the op is unavailable). A layer whose input comes in a dtype the op cannot run
    here (bfloat16 on an AVX2-only CPU) goes the plain way."""
    import torch

    patched = []
    if enabled and onednn_available("float32"):
        for module in model.modules():
            if type(module) is torch.nn.Linear and "forward" not in module.__dict__:
                module.forward = types.MethodType(_onednn_forward, module)
                patched.append(module)
    try:
        yield len(patched)
    finally:
        for module in patched:
            del module.forward


def linear(x, weight, post: str = "none"):
    """``x @ weight.T`` on oneDNN (no bias), with ``post="relu"`` applied in the same kernel; the caller checks
    :func:`onednn_available` for the dtype first."""
    import torch

    return torch.ops.mkldnn._linear_pointwise(x, weight, None, post, [], "")


def linear_add(x, weight, residual):
    """``residual + x @ weight.T`` on oneDNN, the addition as the matmul's post-op (a new tensor; ``residual`` is
    not changed)."""
    import torch

    return torch.ops.mkldnn._linear_pointwise.binary(x, residual, weight, None, "add")


def t5_fused_layout(encoder, dtype) -> bool:
    """Whether ``encoder`` (transformers' ``T5Stack``) has the layout the fused CPU path handles: every block a
    self-attention layer and a ReLU feed-forward layer (T5 v1.0, as monoT5), no linear biases, all weights in
    ``dtype`` (float32 or bfloat16). Gated feed-forward layers (T5 v1.1, Flan-T5) and mixed dtypes go the plain way."""
    import torch

    if dtype not in (torch.float32, torch.bfloat16):
        return False
    try:
        if getattr(encoder, "is_decoder", False) or not len(encoder.block):
            return False
        for block in encoder.block:
            att, ff = block.layer[0], block.layer[-1]
            dense = ff.DenseReluDense
            linears = (att.SelfAttention.q, att.SelfAttention.k, att.SelfAttention.v, att.SelfAttention.o, dense.wi, dense.wo)
            if len(block.layer) != 2 or type(dense.act) is not torch.nn.ReLU or hasattr(dense, "wi_0"):
                return False
            if any(type(m) is not torch.nn.Linear or m.bias is not None or m.weight.dtype != dtype for m in linears):
                return False
            if any(norm.weight.dtype != dtype for norm in (att.layer_norm, ff.layer_norm)):
                return False
        return encoder.final_layer_norm.weight.dtype == dtype
    except (AttributeError, IndexError, TypeError):
        return False
