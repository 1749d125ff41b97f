"""Device and dtype choice: CUDA when present (bf16, or fp16 where bf16 is missing), else CPU fp32.

Both are overridable (``device="cpu"|"cuda"|"cuda:1"``, ``dtype="float32"|"bfloat16"|"float16"``).
The dtype changes the numbers, so it goes into cache keys; the device alone does not.
"""

from __future__ import annotations

from ..errors import RetrievalError

DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_device(device: str | None = None) -> str:
    """``None``/``"auto"`` -> ``"cuda"`` if available else ``"cpu"``; an unusable request raises."""
    if device in (None, "", "auto"):
        return "cuda" if cuda_available() else "cpu"
    device = str(device).strip().lower()
    if device.startswith("cuda") and not cuda_available():
        raise RetrievalError(f"device {device!r} was asked for but torch sees no CUDA GPU here; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise RetrievalError(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    return device


def resolve_dtype(dtype: str | None, device: str, *, t5: bool = False) -> str:
    """The compute dtype name. Default: CPU float32; CUDA bfloat16 (float16 where bf16 is missing, float32 for T5,
    whose activations overflow in float16)."""
    if dtype not in (None, "", "auto"):
        name = DTYPES.get(str(dtype).lower())
        if name is None:
            raise RetrievalError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
        return name
    if not device.startswith("cuda"):
        return "float32"
    import torch

    if torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32" if t5 else "float16"


def torch_dtype(name: str):
    """``"bfloat16"`` -> ``torch.bfloat16`` (any name :data:`DTYPES` knows)."""
    import torch

    return getattr(torch, DTYPES[name])


def dtype_name(dtype: object) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``: the inverse of :func:`torch_dtype`."""
    return DTYPES[str(dtype).removeprefix("torch.")]
