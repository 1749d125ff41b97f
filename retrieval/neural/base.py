"""The identity every model-backed system shares: device, dtype and the resolved model revision."""

from __future__ import annotations

from .. import systems
from . import loading
from .device import resolve_device, resolve_dtype


class ModelSystem(systems.System):
    """Base of the dense and reranking systems; subclasses set ``info``, the options and ``_revision``."""

    def _is_t5(self) -> bool:
        """T5 models overflow in float16, so on CUDA they get bfloat16."""
        raise NotImplementedError

    @property
    def device(self) -> str:
        return resolve_device(self.device_option)

    @property
    def dtype(self) -> str:
        return resolve_dtype(self.dtype_option, self.device, t5=self._is_t5())

    @property
    def revision(self) -> str:
        if self._revision is None:
            self._revision = loading.resolve_revision(self.info, model_path=self.model_path, revision=self.revision_option)
        return self._revision
