"""Device and dtype choice: CUDA when present (bf16, or fp16 where bf16 is missing), else CPU fp32.

Both are overridable (``device="cpu"|"cuda"|"cuda:1"``, ``dtype="float32"|"bfloat16"|"float16"``).
The dtype changes the numbers, so it goes into cache keys; the device alone does not. Working out the
default (a cache key of a cached run) does not import torch (seconds) where it cannot see a GPU anyway: a CPU-only
build of torch (its version says ``+cpu``), or Linux with no NVIDIA, ROCm or WSL GPU device node. Elsewhere
torch is asked, as before.
"""

from __future__ import annotations

import functools
import os
import sys

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


# Device nodes and driver files without one of which torch cannot see a GPU on Linux (NVIDIA, ROCm, WSL).
GPU_PATHS = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


@functools.lru_cache(maxsize=1)
def torch_version() -> str | None:
    """The installed torch's version from its package metadata (``"2.13.0+cpu"``), without importing it."""
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def cuda_impossible() -> bool:
    """True when torch could not see a CUDA (or ROCm) GPU here, decided without importing torch."""
    version = torch_version()
    if version is not None and version.partition("+")[2].startswith("cpu"):
        return True
    return sys.platform.startswith("linux") and not any(os.path.exists(p) for p in GPU_PATHS)


def cuda_available() -> bool:
    if cuda_impossible():
        return False
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
