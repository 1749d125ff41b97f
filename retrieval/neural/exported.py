"""Dense encoding through an exported model: ONNX Runtime or OpenVINO, float32 or int8, on the CPU.

A dense system's ``backend`` option (``--backend`` on ``run``) picks how its transformer runs:

========================  ==========================================================================================
``torch`` (default)       the model as sentence-transformers loads it (any device, any dtype)
``onnx``                  ONNX Runtime, float32; the graph fused for its CPU kernels (attention, layer norms, GELU)
``onnx-int8``             the same graph with int8 linear layers: weights int8 per output channel, activations
                          quantised per batch as it runs (``onnxruntime.quantization.quantize_dynamic``), the
                          embedding tables left in float32; no calibration
``openvino``              OpenVINO, float32 (asked for explicitly: on CPUs with bfloat16 OpenVINO would pick it)
``openvino-int8``         OpenVINO with int8 matrix products and static activation ranges (NNCF post-training
                          quantisation, transformer preset, calibrated on :func:`calibration_texts`, the same for
                          every dataset; SmoothQuant strengths :data:`SMOOTH_QUANT_MATMUL` tried in turn, the
                          first model that passes the check kept); what is left in floating point runs in float32
========================  ==========================================================================================

Why these two int8 recipes: OpenVINO's CPU plugin ran a dynamically quantised model's matrix products in float32
here (AMD EPYC, AVX-512 VNNI: ``FullyConnectedCompressed`` on ``brgemm_avx512_f32`` kernels), so its int8 needs
static ranges; ONNX Runtime's dynamic int8 needs no calibration and is what sentence-transformers offers for ONNX.

Only the transformer (the SentenceTransformer's first module: token ids in, token vectors out) is exported;
pooling, any dense projection and normalisation stay the sentence-transformers modules they are, so a
backend changes how the token vectors are computed and nothing else. Tokenising is the encoder's own
(:mod:`retrieval.neural.dense_model`), for documents and queries alike.

The models are built once per model into the cache (kind ``exported-model``), keyed by the model id, its
revision, the checksum of its folder (weights, tokenizer, config), the backend, the ONNX opset, this module's
recipe version, the versions of the tools that build them and (int8 with static ranges) the checksum of the
calibration texts; nothing is downloaded: the export starts from the safetensors weights already loaded. Each
step is its own entry: the plain ONNX export (``format: onnx-plain``), then what each backend runs, made from it.
Before a model is committed to the cache it is checked against the torch model on :data:`CHECK_TEXTS` (short,
long past the model's maximum length, non-ASCII; one at a time and as one padded batch): the pooled vectors of a
float32 model within :data:`FLOAT32_TOLERANCE` (max abs difference), of an int8 model each with cosine at least
:data:`INT8_MIN_COSINE` and on average :data:`INT8_MEAN_COSINE`. A model that fails is not kept and the error
says by how much it missed; the numbers of a model that passes are in its manifest.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RetrievalError, UnknownSystem

RECIPE_VERSION = 1
OPSET = 17
FLOAT32_TOLERANCE = 1e-4
# int8: per text at least INT8_MIN_COSINE, on average INT8_MEAN_COSINE (ONNX Runtime's int8 quantises a batch's
# activations with one range, so a short text padded beside a long one moves most: 0.977 for all-MiniLM-L6-v2 in the
# mixed batch of CHECK_TEXTS, 0.98-0.996 alone; its SciFact nDCG@10 is within 0.002 of float32's)
INT8_MIN_COSINE = 0.95
INT8_MEAN_COSINE = 0.99
# openvino-int8: SmoothQuant's strength for MatMul inputs, tried in this order until a model passes the check
# (0.95: NNCF's transformer default, what all-MiniLM-L6-v2 keeps; 0.75: what all-mpnet-base-v2 needs; see
# quantize_static for what each value measured)
SMOOTH_QUANT_MATMUL = (0.95, 0.75)
CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "calibration_texts.txt"
MAX_EXPORT_BYTES = 1_900_000_000  # one ONNX protobuf holds at most 2 GB; larger models are not exported

CHECK_TEXTS = (
    "Vitamin D and bone health",
    "coffee",
    "Does regular exercise lower blood pressure in adults over sixty? A randomised trial says: yes, by 5 mmHg.",
    "Ångström-scale résumé: naïve café façade, 東京, Ωmega-3 and β-blockers (≥ 20 mg/day).",
    "Cells were cultured for 48 h in medium containing 10% fetal bovine serum, then lysed and analysed. " * 40,
    "",
)


@dataclass(frozen=True)
class Backend:
    """``name`` as the user writes it; ``runtime`` (torch, onnx, openvino) and ``precision`` (float32, int8)."""

    name: str
    runtime: str
    precision: str

    @property
    def exported(self) -> bool:
        return self.runtime != "torch"


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("torch", "torch", "float32"),
        Backend("onnx", "onnx", "float32"),
        Backend("onnx-int8", "onnx", "int8"),
        Backend("openvino", "openvino", "float32"),
        Backend("openvino-int8", "openvino", "int8"),
    )
}
DEFAULT_BACKEND = "torch"
# the packages each runtime needs: import name -> pip requirement (pinned in requirements.txt)
_NEEDS = {
    "onnx": {"onnx": "onnx", "onnxruntime": "onnxruntime"},
    "onnx-int8": {"onnx": "onnx", "onnxruntime": "onnxruntime"},
    "openvino": {"onnx": "onnx", "openvino": "openvino"},
    "openvino-int8": {"onnx": "onnx", "openvino": "openvino", "nncf": "nncf"},
}


def parse_backend(name: str | None, spec: str = "") -> Backend:
    """``"onnx-int8"`` -> its :class:`Backend`; ``None``/``""`` -> torch; anything else raises :class:`UnknownSystem`."""
    key = (name or DEFAULT_BACKEND).strip().lower()
    if key not in BACKENDS:
        where = f"{spec}: " if spec else ""
        raise UnknownSystem(f"{where}unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
    return BACKENDS[key]


def missing_packages(backend: Backend) -> list[str]:
    """The pip requirements ``backend`` needs that are not installed (nothing is imported to find out)."""
    import importlib.util

    return [pip for module, pip in _NEEDS.get(backend.name, {}).items() if importlib.util.find_spec(module) is None]


def availability(backend: Backend) -> tuple[bool, str]:
    """(usable here?, why not and how to get it)."""
    missing = missing_packages(backend)
    if missing:
        return False, f"backend {backend.name} needs the Python package(s) {', '.join(missing)} (see requirements.txt)"
    return True, ""


def default_threads() -> int:
    """Intra-op threads of an exported model: torch's (its default is the machine's physical cores)."""
    import torch

    return max(1, int(torch.get_num_threads()))


# ---- running ----------------------------------------------------------------------------------------
class ExportedModel:
    """One exported transformer, loaded: ``model(features)`` -> last hidden state, float32 ``(batch, seq, dim)``.

    ``features`` maps input names (``input_ids``, ``attention_mask``, ``token_type_ids``) to int64 arrays (numpy
    or CPU torch tensors); inputs the model does not take are ignored.
    """

    def __init__(self, folder: Path, backend: Backend, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.backend = backend
        self.threads = int(threads or default_threads())
        if backend.runtime == "onnx":
            self._run, self.input_names = _onnx_runner(self.folder / "model.onnx", self.threads)
        elif backend.runtime == "openvino":
            self._run, self.input_names = _openvino_runner(self.folder / "model.xml", backend, self.threads)
        else:
            raise ValueError(f"{backend.name} is not an exported backend")

    def __call__(self, features: Mapping[str, Any]) -> np.ndarray:
        feeds = {}
        for name in self.input_names:
            value = features[name]
            value = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
            feeds[name] = np.ascontiguousarray(value, dtype=np.int64)
        return self._run(feeds)


def _onnx_runner(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    output = session.get_outputs()[0].name

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return session.run([output], feeds)[0]

    return run, names


def _openvino_config(backend: Backend, threads: int) -> dict[str, Any]:
    return {
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": 0,  # no run-time quantisation: int8 comes from the model's own ranges
    }


def _openvino_runner(path: Path, backend: Backend, threads: int):
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", _openvino_config(backend, threads))
    request = compiled.create_infer_request()
    names = [i.get_any_name() for i in compiled.inputs]
    output = compiled.output(0)

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.array(request.infer(feeds)[output], dtype=np.float32, copy=True)

    return run, names


def sentence_vectors(st: Any, features: Mapping[str, Any], token_embeddings: Any):
    """The SentenceTransformer's modules after the transformer (pooling, dense projection, normalisation) on
    ``token_embeddings``: ``sentence_embedding`` as a float32 torch tensor."""
    import torch

    out = dict(features)
    out["token_embeddings"] = torch.as_tensor(token_embeddings)
    for module in list(st)[1:]:
        out = module(out)
    return out["sentence_embedding"].float()


# ---- building ---------------------------------------------------------------------------------------
def _first_module(st: Any):
    """The SentenceTransformer's transformer module, if its output is the plain ``last_hidden_state``."""
    first = st[0] if len(st) else None
    model = getattr(first, "model", None)
    text = (getattr(first, "modality_config", None) or {}).get("text", {})
    plain = (
        type(first).__name__ == "Transformer"
        and model is not None
        and text.get("method", "forward") == "forward"
        and text.get("method_output_name", "last_hidden_state")
        in ("last_hidden_state", ("last_hidden_state",), ["last_hidden_state"])
        and getattr(first, "module_output_name", "token_embeddings") == "token_embeddings"
    )
    if not plain:
        raise RetrievalError(
            f"exported backends run a plain text transformer (token ids in, last hidden state out); this model's first "
            f"module is {type(first).__name__}: use --backend torch"
        )
    return first, model


def _tool_versions(fmt: str) -> dict[str, str]:
    from importlib import metadata

    names = ["torch", "onnx", *_NEEDS.get(fmt, {}).values()]
    return {n: metadata.version(n) for n in dict.fromkeys(names)}


def export_key(cache: Any, *, model: str, revision: str, folder_sha256: str, max_length: int, fmt: str):
    """The cache key of one exported model (``fmt``: ``onnx-plain`` for the plain export, else a backend name)."""
    extra = static_int8_parts(fmt)
    return cache.key(
        "exported-model",
        model=model,
        revision=revision,
        folder_sha256=folder_sha256,
        max_length=int(max_length),
        format=fmt,
        opset=OPSET,
        recipe=RECIPE_VERSION,
        tools=_tool_versions(fmt),
        **extra,
    )


def exported_model(
    st: Any,
    folder: str | Path,
    backend: Backend,
    *,
    model: str,
    revision: str,
    max_length: int,
    cache: Any = None,
    threads: int | None = None,
) -> ExportedModel:
    """The exported transformer of ``st`` (a float32 SentenceTransformer on the CPU, loaded from ``folder``) for
    ``backend``, built and checked once into ``cache``, loaded once per process."""
    from ..cache import Cache
    from . import weights

    ok, why = availability(backend)
    if not ok:
        raise RetrievalError(why)
    cache = cache or Cache()
    entry = build_exported(st, folder, backend, model=model, revision=revision, max_length=max_length, cache=cache)
    threads = int(threads or default_threads())
    return weights.loaded(("exported", str(entry), backend.name, threads), lambda: ExportedModel(entry, backend, threads))


def build_exported(
    st: Any, folder: str | Path, backend: Backend, *, model: str, revision: str, max_length: int, cache: Any
) -> Path:
    """The cache entry (folder) of ``st``'s exported transformer for ``backend``, built and checked if missing."""
    from . import weights

    _first_module(st)
    parts = dict(model=model, revision=revision, folder_sha256=weights.folder_fingerprint(Path(folder)), max_length=max_length)
    key = export_key(cache, **parts, fmt=backend.name)
    found = cache.lookup(key)
    if found is not None:
        return found
    base = functools.partial(
        plain_export, st, folder, backend, model=model, revision=revision, max_length=max_length, cache=cache
    )
    if backend.runtime == "onnx":
        build = functools.partial(_build_onnx, st, base, backend, max_length)
    else:
        build = functools.partial(_build_openvino, st, base, backend, max_length)
    return cache.get_or_build(key, build, info={"model": model, "backend": backend.name})


def plain_export(
    st: Any, folder: str | Path, backend: Backend, *, model: str, revision: str, max_length: int, cache: Any
) -> Path:
    """The cache entry holding ``model.onnx``: ``st``'s transformer exported as it is (float32, no fusion), checked
    with ``backend``'s runtime; what every backend's model is made from."""
    from . import weights

    parts = dict(model=model, revision=revision, folder_sha256=weights.folder_fingerprint(Path(folder)), max_length=max_length)
    return cache.get_or_build(
        export_key(cache, **parts, fmt="onnx-plain"),
        lambda tmp: _build_plain(st, tmp / "model.onnx", max_length, backend),
        info={"model": model, "what": "plain ONNX export of the transformer (float32)"},
    )


def _build_plain(st: Any, target: Path, max_length: int, backend: Backend) -> dict[str, Any]:
    """Export the transformer (float32, eager attention) with dynamic batch and sequence axes; then check it."""
    import torch

    started = time.time()
    _, model = _first_module(st)
    size = sum(p.numel() * 4 for p in model.parameters())
    if size > MAX_EXPORT_BYTES:
        raise RetrievalError(
            f"{model.config.name_or_path}: {size / 1e9:.1f} GB of float32 weights is past what one ONNX file holds; "
            "use --backend torch"
        )
    copy_ = copy.deepcopy(model).float().cpu().eval()
    with contextlib.suppress(Exception):  # eager attention: the pattern ONNX Runtime's fusions know
        copy_.set_attn_implementation("eager")
    params = inspect.signature(copy_.forward).parameters
    names = [n for n in st.tokenizer.model_input_names if n in params]
    if "input_ids" not in names or "attention_mask" not in names:
        raise RetrievalError(f"exported backends need a model that takes input_ids and attention_mask, not {names}")
    sample = st.tokenizer(["a short text", "a somewhat longer text to pad the first"], padding=True, return_tensors="pt")

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    target.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(copy_),
            tuple(sample[n] for n in names),
            str(target),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "sequence"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    del copy_
    if backend.runtime == "onnx":  # checked by the runtime at hand (the ONNX file runs in both)
        run = _onnx_runner(target, default_threads())[0]
    else:
        run = _openvino_runner(target, BACKENDS["openvino"], default_threads())[0]
    check = check_model(st, run, FLOAT32_TOLERANCE, None, max_length)
    return {"inputs": names, "export_seconds": round(time.time() - started, 3), "check": check}


def _fusion_type(config: Any) -> str | None:
    """ONNX Runtime's transformer optimizer type for a model config (BERT-like encoders), else None."""
    kind = getattr(config, "model_type", "")
    return "bert" if kind in ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet", "electra") else None


def _build_onnx(st: Any, base, backend: Backend, max_length: int, tmp: Path) -> dict[str, Any]:
    """ONNX Runtime: the plain export fused (when it is BERT-like and still checks out), then quantised for int8."""
    import onnx

    started = time.time()
    plain = base() / "model.onnx"
    _, model = _first_module(st)
    config = model.config
    fused = tmp / "fused.onnx"
    fusion: dict[str, Any] | str | None = None
    kind = _fusion_type(config)
    if kind:
        try:
            from onnxruntime.transformers import optimizer

            with _quiet():
                opt = optimizer.optimize_model(
                    str(plain),
                    model_type=kind,
                    num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
                    hidden_size=int(getattr(config, "hidden_size", 0) or 0),
                    opt_level=0,
                    use_gpu=False,
                )
                fusion = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
                opt.save_model_to_file(str(fused))
            check_model(st, _onnx_runner(fused, default_threads())[0], FLOAT32_TOLERANCE, None, max_length)
        except Exception as exc:  # noqa: BLE001 - a fusion that fails or changes the numbers is left out
            fused.unlink(missing_ok=True)
            fusion = f"not fused ({type(exc).__name__}: {str(exc)[:200]})"
    source = fused if fused.is_file() else plain
    target = tmp / "model.onnx"
    if backend.precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with _quiet():
            quantize_dynamic(
                str(source),
                str(target),
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=False,
                op_types_to_quantize=["MatMul", "Attention"],
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        tolerance, min_cos = None, INT8_MIN_COSINE
    else:
        if source == fused:
            os.replace(fused, target)
        else:
            target.write_bytes(plain.read_bytes())
        tolerance, min_cos = FLOAT32_TOLERANCE, None
    fused.unlink(missing_ok=True)
    check = check_model(st, _onnx_runner(target, default_threads())[0], tolerance, min_cos, max_length)
    return {"fused": fusion, "build_seconds": round(time.time() - started, 3), "check": check}


def _build_openvino(st: Any, base, backend: Backend, max_length: int, tmp: Path) -> dict[str, Any]:
    """OpenVINO IR from the plain export: float32 weights for ``openvino``; for ``openvino-int8`` quantised by NNCF
    with static activation ranges from :func:`calibration_texts`."""
    import openvino as ov

    started = time.time()
    # Core.read_model, not ov.convert_model: the converter (ovc) sends usage telemetry unless told not to
    model = ov.Core().read_model(str(base() / "model.onnx"))
    if backend.precision != "int8":
        ov.save_model(model, str(tmp / "model.xml"), compress_to_fp16=False)
        del model
        run, _ = _openvino_runner(tmp / "model.xml", backend, default_threads())
        check = check_model(st, run, FLOAT32_TOLERANCE, None, max_length)
        return {"build_seconds": round(time.time() - started, 3), "check": check}
    refused: list[dict[str, Any]] = []
    for i, alpha in enumerate(SMOOTH_QUANT_MATMUL):  # the first strength whose model passes the check is kept
        quantized, info = quantize_static(model, st, max_length, alpha)
        ov.save_model(quantized, str(tmp / "model.xml"), compress_to_fp16=False)
        del quantized
        run, _ = _openvino_runner(tmp / "model.xml", backend, default_threads())
        try:
            check = check_model(st, run, None, INT8_MIN_COSINE, max_length)
            break
        except ExportCheckFailed as exc:
            if i == len(SMOOTH_QUANT_MATMUL) - 1:
                raise
            refused.append({"smooth_quant_matmul": alpha, "refused": str(exc).split(" with the torch")[0]})
    info.update(smooth_quant_matmul=alpha, refused=refused)
    return {**info, "build_seconds": round(time.time() - started, 3), "check": check}


def calibration_texts() -> list[str]:
    """The texts whose activations set an int8 model's static ranges (``retrieval/data/calibration_texts.txt``:
    passages and queries of many kinds, written for this project; the same for every dataset)."""
    lines = CALIBRATION_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def calibration_sha256() -> str:
    import hashlib

    return hashlib.sha256("\n".join(calibration_texts()).encode("utf-8")).hexdigest()


def _nncf():
    """nncf, with its usage telemetry off (it would send events to Google Analytics from the user's machine; its
    switch is the ``NNCF_CI`` variable, read when it is first imported, and the module-level object after that)."""
    saved = os.environ.get("NNCF_CI")
    os.environ["NNCF_CI"] = "1"
    try:
        import nncf
        from nncf.telemetry import decorator, wrapper
    finally:
        if saved is None:
            os.environ.pop("NNCF_CI", None)
        else:
            os.environ["NNCF_CI"] = saved
    stub = wrapper.NNCFTelemetryStub()
    wrapper.telemetry = decorator.telemetry = stub  # in case nncf was imported before, without the switch
    return nncf


def static_int8_parts(fmt: str) -> dict[str, Any]:
    """What a model exported as ``fmt`` (a backend name, or ``onnx-plain``) depends on beyond the weights and tools:
    for ``openvino-int8``'s static ranges, the calibration texts and the quantisation settings; nothing for the
    others. Part of its export key and of its document vectors' cache key."""
    if fmt != "openvino-int8":
        return {}
    return {"calibration_sha256": calibration_sha256(), "smooth_quant_matmul": list(SMOOTH_QUANT_MATMUL)}


def quantize_static(model: Any, st: Any, max_length: int, smooth_quant: float) -> tuple[Any, dict[str, Any]]:
    """``model`` (OpenVINO, float32) with int8 matrix products: NNCF post-training quantisation (its transformer
    preset: SmoothQuant, then per-channel symmetric weights and per-tensor activation ranges measured on
    :func:`calibration_texts`, one text per batch, as sentence-transformers' own static OpenVINO export does).

    SmoothQuant divides each MatMul input channel by ``max|x|**a / max|w|**(1-a)`` and multiplies the weight row
    by it, so that the activations' outlier channels are quantised on the weights' side; ``a`` is
    ``smooth_quant``. :func:`_build_openvino` tries :data:`SMOOTH_QUANT_MATMUL` in turn: NNCF's transformer default
    0.95 first, then 0.75. At 0.95 too much of the range moves into the weights for all-mpnet-base-v2: it failed
    the check (cosine 0.948 at worst, 0.980 on average over CHECK_TEXTS; with every activation left in float32, the
    weights alone int8, still 0.961 / 0.985). all-mpnet-base-v2 by ``a`` (min / mean over CHECK_TEXTS): 0.5: 0.66
    / 0.82, 0.65: 0.978 / 0.987, 0.7: 0.988 / 0.991, 0.75: 0.988 / 0.994, 0.8: 0.985 / 0.994, 0.85: 0.977 /
    0.992, 0.9: 0.966 / 0.988, SmoothQuant off: 0.80 / 0.85. all-MiniLM-L6-v2 passes at 0.95 (0.994 / 0.997) and
    stays there: at 0.75 its vectors are as close (0.995 / 0.998) but its SciFact nDCG@10 moved 0.0054 from
    float32's (0.6505 against 0.6451; 0.6491 at 0.95). Leaving the feed-forward down-projections in float32 also
    passes mpnet (0.987 / 0.994) but keeps 12 of its 72 matrix products in float32; the full bias correction, the
    mixed preset and no bias correction did not help (0.932 / 0.970, 0.948 / 0.980, 0.949 / 0.980)."""
    nncf = _nncf()
    names = [i.get_any_name() for i in model.inputs]
    items = []
    for text in calibration_texts():
        enc = st.tokenizer([text], truncation=True, max_length=max_length, return_tensors="np")
        items.append({n: np.asarray(enc[n], dtype=np.int64) for n in names})
    advanced = nncf.AdvancedQuantizationParameters(smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=smooth_quant))
    with _quiet():
        quantized = nncf.quantize(
            model.clone(),
            nncf.Dataset(items),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(items),
            advanced_parameters=advanced,
        )
    return quantized, {"calibration_texts": len(items), "calibration_sha256": calibration_sha256()}


@contextlib.contextmanager
def _quiet():
    """Silence the build tools' warnings and log lines (they print to stdout and stderr)."""
    import logging

    level = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(level)


# ---- checking ---------------------------------------------------------------------------------------
class ExportCheckFailed(RetrievalError):
    """An exported model's vectors differ from the torch model's by more than the tolerance."""


def check_model(
    st: Any, run: Any, tolerance: float | None, min_cosine: float | None, max_length: int, texts: Sequence[str] | None = None
) -> dict[str, float]:
    """Pooled vectors of ``run`` (features -> token vectors) against the torch model ``st`` on ``texts``, one at a
    time and as one padded batch: raises :class:`ExportCheckFailed` past ``tolerance`` (max abs difference) or
    under ``min_cosine`` (or :data:`INT8_MEAN_COSINE` on average); returns the worst numbers and the mean cosine."""
    import torch

    if texts is None:  # an int8 model is not held to the empty text (special tokens only: far from any calibrated range)
        texts = CHECK_TEXTS if min_cosine is None else tuple(t for t in CHECK_TEXTS if t.strip())
    worst_diff, worst_cos, cosines = 0.0, 1.0, []
    batches = [[t] for t in texts] + [list(texts)]
    for batch in batches:
        features = st.tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        features = dict(features)
        with torch.inference_mode():
            reference = st(dict(features))["sentence_embedding"].float().numpy()
            got = sentence_vectors(st, features, run({k: v.numpy() for k, v in features.items()})).numpy()
        worst_diff = max(worst_diff, float(np.max(np.abs(got - reference))))
        norms = np.linalg.norm(got, axis=1) * np.linalg.norm(reference, axis=1)
        cos = np.sum(got * reference, axis=1) / np.maximum(norms, 1e-12)
        worst_cos = min(worst_cos, float(np.min(cos)))
        cosines.extend(float(c) for c in cos)
    mean_cos = float(np.mean(cosines))
    if tolerance is not None and not worst_diff <= tolerance:
        raise ExportCheckFailed(
            f"exported model differs from the torch model by {worst_diff:.2e} (max abs, pooled vectors), "
            f"more than {tolerance:.0e}; it was not kept"
        )
    if min_cosine is not None and not (worst_cos >= min_cosine and mean_cos >= INT8_MEAN_COSINE):
        raise ExportCheckFailed(
            f"exported int8 model's vectors have cosine {worst_cos:.4f} (mean {mean_cos:.4f}) with the torch model's, "
            f"under {min_cosine} (mean {INT8_MEAN_COSINE}); it was not kept: this model loses too much in int8 "
            "(all-mpnet-base-v2 does through onnx-int8), use its float32 backend (onnx or openvino) or torch"
        )
    return {"max_abs_diff": worst_diff, "min_cosine": worst_cos, "mean_cosine": mean_cos, "texts": len(texts)}
