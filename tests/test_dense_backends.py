"""Dense encoding through exported models (ONNX Runtime, OpenVINO; float32 and int8): same vectors as the torch
model within tolerance, queries through the same backend, built once into the cache and checked before they are
kept, and the backend in every cache key and in the reproduce command."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.beir import BeirDataset
from retrieval.cli import build_parser, main
from retrieval.errors import RetrievalError, UnknownSystem
from retrieval.neural import exported
from retrieval.neural.dense import embeddings_key
from retrieval.reproduce import reproduce_command
from retrieval.runner import get_run
from retrieval.systems import parse_system

SPEC = "dense:all-MiniLM-L6-v2"
EXPORTED = ("onnx", "onnx-int8", "openvino", "openvino-int8")
TEXTS = [
    "Vitamin D and bone health",
    "coffee",
    "Regular exercise lowers blood pressure and improves bone strength. " * 30,
    "",
    "β-blockers (≥ 20 mg/day) in café workers",
]


def _needs_minilm():
    ok, why = parse_system(SPEC).availability()
    if not ok:
        pytest.skip(why)


def _needs(backend: str):
    ok, why = exported.availability(exported.parse_backend(backend))
    if not ok:
        pytest.skip(why)


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory):
    """One cache for this module's exported models (each is built once, a few seconds to a minute)."""
    from retrieval.cache import Cache

    return Cache(tmp_path_factory.mktemp("exported-cache"))


@pytest.fixture(scope="module")
def torch_minilm():
    _needs_minilm()
    from retrieval.neural.dense_model import DenseEncoder

    return DenseEncoder.from_pretrained("all-MiniLM-L6-v2", device="cpu")


def _encoder(backend: str, cache):
    _needs_minilm()
    _needs(backend)
    from retrieval.neural.dense_model import DenseEncoder

    return DenseEncoder.from_pretrained("all-MiniLM-L6-v2", backend=backend, cache=cache)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


# ---- names, options, keys, commands (no model is run) ----------------------------------------------------------
def test_backend_names_and_unknown_ones():
    assert list(exported.BACKENDS) == ["torch", *EXPORTED]
    assert exported.parse_backend(None).name == "torch" and not exported.parse_backend("").exported
    b = exported.parse_backend("OpenVINO-int8")
    assert (b.name, b.runtime, b.precision, b.exported) == ("openvino-int8", "openvino", "int8", True)
    with pytest.raises(UnknownSystem, match="unknown backend 'tensorrt'; use one of torch, onnx"):
        exported.parse_backend("tensorrt")
    with pytest.raises(UnknownSystem, match="unknown backend"):
        parse_system(SPEC + "?backend=tvm")


def test_exported_backend_runs_on_the_cpu_in_float32_only():
    system = parse_system(SPEC, backend="onnx-int8")
    assert system.device == "cpu" and system.dtype == "float32" and system.backend == "onnx-int8"
    assert parse_system(SPEC, backend="onnx", device="cpu", dtype="fp32").spec == SPEC + "?backend=onnx"
    with pytest.raises(UnknownSystem, match="runs on the CPU"):
        parse_system(SPEC, backend="openvino", device="cuda")
    with pytest.raises(UnknownSystem, match="leave out --dtype or use --dtype float32"):
        parse_system(SPEC, backend="onnx", dtype="bf16")
    with pytest.raises(UnknownSystem, match="is 'onnx' in the spec but 'openvino' was also given"):
        parse_system(SPEC + "?backend=onnx", backend="openvino")


def test_cache_keys_differ_by_backend_and_torch_keys_stay_as_they_were(tiny_dir, cache):
    _needs_minilm()
    ds = BeirDataset(tiny_dir, "tiny")
    systems = {b: parse_system(SPEC, backend=b, device="cpu") for b in exported.BACKENDS}
    torch_key = systems["torch"].model_key()
    assert "backend" not in torch_key and "precision" not in torch_key  # runs cached before backends existed still count
    assert parse_system(SPEC, device="cpu").model_key() == torch_key and systems["torch"].spec == SPEC
    emb_keys = {embeddings_key(cache, ds, s.model_key()).digest for s in systems.values()}
    run_parts = [repr(sorted(s.key_parts().items())) for s in systems.values()]
    assert len(emb_keys) == len(systems) and len(set(run_parts)) == len(systems)
    int8 = systems["openvino-int8"].key_parts()
    assert (int8["backend"], int8["precision"], int8["export_recipe"]) == ("openvino", "int8", exported.RECIPE_VERSION)
    assert systems["onnx"].spec == SPEC + "?backend=onnx"  # the spec carries it (Ray workers and first stages too)


def test_reproduce_command_names_the_backend_and_rebuilds_the_same_key():
    _needs_minilm()
    for backend in EXPORTED:
        system = parse_system(SPEC + "?hits=100", backend=backend, device="cpu")
        rep = reproduce_command("scifact", "test", system)
        argv = list(rep.argv)
        assert argv[argv.index("--backend") + 1] == backend and argv[argv.index("--system") + 1] == SPEC + "?hits=100"
        args = build_parser().parse_args(argv)
        again = parse_system(args.system[0], backend=args.backend, dtype=args.dtype)
        assert again.key_parts() == system.key_parts()
    assert "--backend" not in reproduce_command("scifact", "test", SPEC, device="cpu").argv


def test_build_choices_offer_the_installed_backends_and_name_the_run(monkeypatch):
    """What Data & runs offers: the backends whose packages are here, torch first; the picked one goes into the spec
    (torch, the default, leaves it out) and into the display name, so two runs of one model stay apart on the page."""
    system = parse_system(SPEC + "?hits=100")
    assert system.build_choices() == {"backend": tuple(exported.BACKENDS)}  # all installed here (requirements.txt)
    assert system.spec_with({"backend": "openvino-int8"}) == SPEC + "?backend=openvino-int8&hits=100"
    assert system.spec_with({"backend": "torch"}) == SPEC + "?hits=100"
    picked = parse_system(system.spec_with({"backend": "onnx-int8"}))
    assert picked.display_name == "all-MiniLM-L6-v2 (dense, 22.7M, onnx-int8)" and "onnx" not in system.display_name
    import importlib.util

    with pytest.raises(UnknownSystem, match="no build choice backend='tvm'"):
        system.spec_with({"backend": "tvm"})
    with pytest.raises(UnknownSystem, match="takes no build choices"):
        parse_system("bm25-flat").spec_with({"backend": "onnx"})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a))
    assert system.build_choices() == {"backend": ("torch", "onnx", "onnx-int8", "openvino")}


def test_cli_backend_flag(tiny_dir, cache, capsys):
    args = build_parser().parse_args(["run", "--system", SPEC, "--backend", "openvino-int8"])
    assert args.backend == "openvino-int8"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--system", SPEC, "--backend", "tensorrt"])
    capsys.readouterr()
    rc = main(["run", "--dataset", str(tiny_dir), "--cache-dir", str(cache.root), "--system", "bm25-flat", "--backend", "onnx"])
    assert rc == 2 and "--backend applies to dense systems" in capsys.readouterr().err


def test_missing_runtime_package_is_named(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    ok, why = exported.availability(exported.parse_backend("openvino"))
    assert not ok and "openvino" in why and "requirements.txt" in why
    assert exported.availability(exported.parse_backend("torch")) == (True, "")
    _needs_minilm()
    ok, why = parse_system(SPEC, backend="openvino-int8").availability()
    assert not ok and "needs the Python package(s) openvino" in why


# ---- the exported models ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", EXPORTED)
def test_backend_vectors_equal_torch_within_tolerance(backend, torch_minilm, export_cache):
    enc = _encoder(backend, export_cache)
    assert enc.backend == backend and enc.exported is not None and enc.dim == 384
    calls = []
    run = enc.exported._run
    enc.exported._run = lambda feeds: calls.append(len(next(iter(feeds.values())))) or run(feeds)
    docs = enc.encode_documents(TEXTS, batch_size=2)
    n_doc_calls = len(calls)
    queries = enc.encode_queries(TEXTS[::-1])
    assert n_doc_calls > 0 and len(calls) > n_doc_calls  # queries are encoded by the same backend
    ref = torch_minilm.encode_documents(TEXTS)
    assert docs.dtype == np.float32 and docs.shape == ref.shape
    if backend.endswith("int8"):
        words = np.array([bool(t.strip()) for t in TEXTS])  # the empty text is left out for int8 (see check_model)
        assert _cosines(docs, ref)[words].min() >= 0.97 and _cosines(queries, ref[::-1])[words[::-1]].min() >= 0.97
        assert np.abs(docs - ref).max() > 1e-5  # int8 it is: not the float32 numbers
    else:
        np.testing.assert_allclose(docs, ref, atol=1e-4, rtol=0)
        np.testing.assert_allclose(queries, ref[::-1], atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)  # the model's Normalize module still runs


@pytest.mark.parametrize("backend", ["onnx-int8", "openvino-int8"])
def test_int8_backends_agree_with_torch_on_scifact_documents(backend, torch_minilm, export_cache, scifact):
    """200 real documents (many past the 256-token limit): each int8 vector close to the float32 one."""
    texts = [f"{d.title} {d.text}".strip() for d in list(scifact.corpus.values())[:200]]
    got = _encoder(backend, export_cache).encode_documents(texts)
    cos = _cosines(got, torch_minilm.encode_documents(texts))
    assert cos.min() >= 0.97 and cos.mean() >= 0.99


def test_exported_models_are_built_once_and_recorded(export_cache, monkeypatch, torch_minilm):
    for backend in EXPORTED:
        _encoder(backend, export_cache)
    entries = {m["key"]["parts"]["format"]: (p, m) for p, m in export_cache.entries("exported-model")}
    assert set(entries) == {"onnx-plain", *EXPORTED}  # the plain export, then one model per backend made from it
    for backend in EXPORTED:
        path, manifest = entries[backend]
        check = manifest["info"]["check"]
        assert check["texts"] == len(exported.CHECK_TEXTS) - (1 if backend.endswith("int8") else 0)  # int8: not ""
        if backend.endswith("int8"):
            assert check["min_cosine"] >= exported.INT8_MIN_COSINE and check["mean_cosine"] >= exported.INT8_MEAN_COSINE
        else:
            assert check["max_abs_diff"] <= exported.FLOAT32_TOLERANCE
        parts = manifest["key"]["parts"]
        assert parts["folder_sha256"].startswith("sha256:") and parts["opset"] == exported.OPSET
        assert ("onnxruntime" if backend.startswith("onnx") else "openvino") in parts["tools"]
        if backend == "openvino-int8":  # static ranges: the calibration texts are part of the key
            assert parts["calibration_sha256"] == exported.calibration_sha256() and "nncf" in parts["tools"]
            assert manifest["info"]["calibration_texts"] == len(exported.calibration_texts()) >= 50
    from retrieval.neural import weights

    weights._LOADED.clear()  # loaded models are memoised: make the next load read the cache

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    import torch

    monkeypatch.setattr(torch.onnx, "export", no_export)
    enc = _encoder("openvino-int8", export_cache)
    assert enc.exported.folder == entries["openvino-int8"][0]


def test_a_model_that_fails_the_check_is_not_kept(torch_minilm, tmp_path, monkeypatch):
    """A broken int8 model (its weights zeroed by a faulty quantiser) is refused; only the checked plain export
    stays in the cache, and the error says by how much the vectors missed."""
    _needs("openvino-int8")
    from retrieval.cache import Cache

    cache = Cache(tmp_path / "cache")
    real = exported.quantize_static

    tried = []

    def zeroing(model, st, max_length, smooth_quant):
        from openvino import opset13 as ops

        tried.append(smooth_quant)

        for node in model.get_ordered_ops():
            if node.get_type_name() == "MatMul" and node.input_value(1).get_node().get_type_name() == "Constant":
                shape = node.input_value(1).get_node().get_data().shape
                node.input(1).replace_source_output(ops.constant(np.zeros(shape, np.float32)).output(0))
        model.validate_nodes_and_infer_types()
        return model, {}

    monkeypatch.setattr(exported, "quantize_static", zeroing)
    with pytest.raises(exported.ExportCheckFailed, match=r"cosine .* under 0.95 \(mean 0.99\); it was not kept"):
        _encoder("openvino-int8", cache)
    assert tried == list(exported.SMOOTH_QUANT_MATMUL)  # each SmoothQuant strength in turn, then refused
    formats = [m["key"]["parts"]["format"] for _, m in cache.entries("exported-model")]
    assert formats == ["onnx-plain"]
    assert not [p for p in (cache.root / "exported-model").iterdir() if p.name.startswith(".tmp-")]
    monkeypatch.setattr(exported, "quantize_static", real)
    assert _encoder("openvino-int8", cache).backend == "openvino-int8"  # a good build afterwards is kept


def test_dense_run_through_a_backend(tiny_dir, export_cache, torch_minilm):
    _needs("onnx")
    ds = BeirDataset(tiny_dir, "tiny")
    torch_run = get_run(ds, "test", SPEC, cache=export_cache, progress=False)
    onnx_run = get_run(ds, "test", parse_system(SPEC, backend="onnx"), cache=export_cache, progress=False)
    assert onnx_run.name == SPEC + "?backend=onnx"
    for q in torch_run.qids:  # float32 through ONNX Runtime: the same ranking
        assert list(onnx_run.for_query(q)["docid"]) == list(torch_run.for_query(q)["docid"])
    keys = [m["key"]["parts"]["model"] for _, m in export_cache.entries("embeddings")]
    assert sorted(k.get("backend", "torch") for k in keys) == ["onnx", "torch"]


def test_exported_backend_refuses_a_model_it_cannot_run(torch_minilm):
    class NotATransformer:
        pass

    with pytest.raises(RetrievalError, match="use --backend torch"):
        exported._first_module([NotATransformer()])


def test_calibration_texts_are_part_of_the_int8_key(tmp_path, monkeypatch, cache):
    texts = exported.calibration_texts()
    assert len(texts) >= 50 and not any(t.startswith("#") for t in texts)
    assert min(len(t) for t in texts) < 40 < 600 < max(len(t) for t in texts)  # queries and long passages
    parts = dict(model="m", revision="r", folder_sha256="sha256:x", max_length=256)
    before = {f: exported.export_key(cache, **parts, fmt=f).digest for f in ("onnx-int8", "openvino-int8")}
    other = tmp_path / "calibration.txt"
    other.write_text("# other texts\none text\nanother text\n", encoding="utf-8")
    monkeypatch.setattr(exported, "CALIBRATION_FILE", other)
    assert exported.calibration_texts() == ["one text", "another text"]
    assert exported.export_key(cache, **parts, fmt="openvino-int8").digest != before["openvino-int8"]
    assert exported.export_key(cache, **parts, fmt="onnx-int8").digest == before["onnx-int8"]  # no calibration there


def test_smooth_quant_setting_is_part_of_the_int8_keys(monkeypatch, cache, tiny_dir):
    """The SmoothQuant strengths tried change an openvino-int8 model's vectors: its export key and its embeddings key."""
    parts = dict(model="m", revision="r", folder_sha256="sha256:x", max_length=256)
    ds = BeirDataset(tiny_dir, "tiny")
    systems = {b: parse_system(SPEC, backend=b, device="cpu") for b in ("openvino", "openvino-int8")}
    before = {f: exported.export_key(cache, **parts, fmt=f).digest for f in ("openvino", "openvino-int8")}
    emb = {b: embeddings_key(cache, ds, s.model_key()).digest for b, s in systems.items()}
    assert systems["openvino-int8"].model_key()["smooth_quant_matmul"] == list(exported.SMOOTH_QUANT_MATMUL)
    monkeypatch.setattr(exported, "SMOOTH_QUANT_MATMUL", (0.5,))
    assert exported.export_key(cache, **parts, fmt="openvino-int8").digest != before["openvino-int8"]
    assert exported.export_key(cache, **parts, fmt="openvino").digest == before["openvino"]
    assert embeddings_key(cache, ds, systems["openvino-int8"].model_key()).digest != emb["openvino-int8"]
    assert embeddings_key(cache, ds, systems["openvino"].model_key()).digest == emb["openvino"]


def test_nncf_is_loaded_without_its_telemetry():
    _needs("openvino-int8")
    nncf = exported._nncf()
    from nncf.telemetry import decorator, wrapper

    assert isinstance(decorator.telemetry, wrapper.NNCFTelemetryStub) and nncf.quantize


# encodes SciFact (5,183 documents) once per backend: a minute or two each on 2 cores
@pytest.mark.parametrize("backend", ["onnx-int8", "openvino-int8"])
def test_int8_backend_keeps_scifact_ndcg_within_0005_of_float32(backend, scifact, session_cache):
    """The acceptance line of the int8 backends: SciFact test nDCG@10 within 0.005 of the torch float32 run, queries
    encoded by the same backend."""
    from retrieval.evaluate import evaluate

    _needs_minilm()
    _needs(backend)
    qrels = scifact.qrels("test")
    base = evaluate(get_run(scifact, "test", parse_system(SPEC, device="cpu"), cache=session_cache), qrels)
    run = get_run(scifact, "test", parse_system(SPEC, backend=backend), cache=session_cache)
    got = evaluate(run, qrels)
    assert len(run.qids) == 300 and run.depth() == 1000
    assert abs(got.mean["nDCG@10"] - base.mean["nDCG@10"]) <= 0.005
