"""What every model-backed system shares: its options (device, dtype, batch size, model folder, revision),
the spec-string option syntax, and the text a model sees for a document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

from ..beir import Document
from ..errors import UnknownSystem
from ..system import System
from . import registry, weights
from .device import resolve_device, resolve_dtype

MAX_DEPTH = 1000
MODEL_OPTIONS = ("device", "dtype", "batch_size", "model_path", "revision")


def doc_text(doc: Document) -> str:
    """``title + " " + text``, stripped: the text BEIR's dense and reranking code feed to models."""
    return f"{doc.title} {doc.text}".strip()


# ---- spec options ------------------------------------------------------------------------------
def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"monot5:base?depth=1000&first_stage=bm25-multifield"`` -> ``("monot5:base", {...})``."""
    base, _, query = spec.strip().partition("?")
    return base, dict(parse_qsl(query, keep_blank_values=True)) if query else {}


def join_spec(base: str, options: Mapping[str, Any]) -> str:
    """Inverse of :func:`split_spec` for the options that differ from the defaults (sorted by name)."""
    options = {k: v for k, v in options.items() if v is not None}
    if not options:
        return base
    return base + "?" + "&".join(f"{k}={quote(str(v), safe=':/-._@')}" for k, v in sorted(options.items()))


def spec_options(spec: str, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(base spec, options)`` from the spec's ``?k=v`` part and from keywords; the same option given
    differently in both is an error."""
    base, from_spec = split_spec(spec)
    merged: dict[str, Any] = dict(from_spec)
    for k, v in options.items():
        if v is None:
            continue
        if k in from_spec and str(from_spec[k]) != str(v):
            raise UnknownSystem(f"{spec}: option {k} is {from_spec[k]!r} in the spec but {v!r} was also given")
        merged[k] = v
    return base, merged


def int_option(options: Mapping[str, Any], name: str, default: int, lo: int, hi: int, spec: str) -> int:
    value = options.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UnknownSystem(f"{spec}: {name} must be a whole number, not {value!r}") from None
    if not lo <= number <= hi:
        raise UnknownSystem(f"{spec}: {name} must be between {lo} and {hi}, not {number}")
    return number


def model_options(options: Mapping[str, Any], spec: str) -> dict[str, Any]:
    """The options every model system takes, checked: device, dtype, batch_size, model_path, revision."""
    out = {k: options.get(k) for k in MODEL_OPTIONS}
    if out["batch_size"] not in (None, ""):
        out["batch_size"] = int_option(options, "batch_size", 0, 1, 1 << 16, spec)
    else:
        out["batch_size"] = None
    return out


# ---- the base class ----------------------------------------------------------------------------
class ModelSystem(System):
    """Base of the dense and reranking systems: device, dtype and the resolved model revision."""

    def __init__(
        self,
        info: registry.ModelInfo,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        model_path: str | None = None,
        revision: str | None = None,
    ) -> None:
        self.info = info
        self.device_option = device
        self.dtype_option = dtype
        self.batch_size = batch_size
        self.model_path = model_path
        self.revision_option = revision
        self._revision: str | None = None
        self.executor: Any = None  # where model work runs: None = here; a retrieval.parallel executor (e.g. Ray)

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
            self._revision = weights.resolve_revision(self.info, model_path=self.model_path, revision=self.revision_option)
        return self._revision

    def load_options(self, cache: Any = None) -> dict[str, Any]:
        """Keyword arguments for the model class's ``from_pretrained``."""
        return dict(
            device=self.device,
            dtype=self.dtype,
            batch_size=self.batch_size,
            model_path=self.model_path,
            revision=self.revision_option,
            cache=cache,
        )

    def availability(self) -> tuple[bool, str]:
        return weights.availability(self.info, model_path=self.model_path, revision=self.revision_option)

    def worker_factory(self, cache: Any, what: str):
        """A picklable zero-argument callable that loads this system's model (``what``: ``"encoder"`` or
        ``"scorer"``) in another process, e.g. a Ray actor. The dtype is fixed to this system's (it is in the
        cache keys); the device is the worker's own default (its GPU if it has one)."""
        import functools

        options = dict(dtype=self.dtype, batch_size=self.batch_size, model_path=self.model_path, revision=self.revision_option)
        return functools.partial(_load_worker, self.spec, options, str(cache.root) if cache is not None else None, what)


def _load_worker(spec: str, options: dict[str, Any], cache_root: str | None, what: str) -> Any:
    from ..cache import Cache
    from ..systems import parse_system

    system = parse_system(spec, **options)
    return getattr(system, what)(Cache(cache_root) if cache_root else None)
