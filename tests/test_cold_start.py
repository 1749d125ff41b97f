"""Cold start (issue 12): showing cached runs imports no torch, transformers, sentence-transformers or pyserini,
and no ir_measures once the per-query values are cached; the run keys stay those of the code before the change.

The "nothing heavy" checks run in a fresh interpreter (``subprocess``), since this test process may already hold
torch from other tests. On a machine where torch might see a GPU, choosing the default dtype needs torch, so
those checks are skipped there (the pinned keys are still checked with ``device="cpu"``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from .conftest import write_tiny_beir

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "sentence_transformers", "pyserini", "jnius")

# Run-cache digests computed by the code of main at e04a351 (before this change) for a fixed dataset identity and
# model folders of fixed bytes found through $RETRIEVAL_MODEL_DIR: cached runs are only found again if these hold.
PINNED = {
    ("dense:all-MiniLM-L6-v2", ()): "64d2a4e4b64800fb005bc6605f0090bfd4116c9fba6782efdb8f1a1dfa444647",
    ("ce:ms-marco-MiniLM-L-6-v2", (("first_stage", "dense:all-MiniLM-L6-v2"),)): (
        "b95f280e5802b45bdf33e9350f21cb66405988eda98d981f9698a4afa147bba4"
    ),
    ("monot5:base", (("depth", 20), ("first_stage", "dense:all-MiniLM-L6-v2"))): (
        "9eba18b4951ed9445b14ed77e06057a40060c4d6003a8a49338629616a3b9963"
    ),
}
FIXED_DATASET = SimpleNamespace(name="fixed", fingerprint=lambda: "0" * 64)


def model_dir(root: Path) -> Path:
    """Model folders of fixed bytes (a config and a 'safetensors' file) under the registry ids."""
    for name in ("all-MiniLM-L6-v2", "ms-marco-MiniLM-L-6-v2", "monot5-base"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
        (folder / "model.safetensors").write_bytes(b"fixed bytes, not a model")
    return root


def gpu_possible() -> bool:
    from retrieval.neural.device import cuda_impossible

    return not cuda_impossible()


def python(script: str, env: dict[str, str]) -> dict:
    """Run ``script`` in a fresh interpreter from the project root; it prints one JSON object last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("device", ["cpu", None])
def test_run_keys_are_those_of_the_code_before(tmp_path, monkeypatch, device):
    if device is None and gpu_possible():
        pytest.skip("torch may see a GPU here: the default dtype (and so the key) is that GPU's")
    from retrieval.cache import Cache
    from retrieval.runner import run_key
    from retrieval.systems import parse_system

    monkeypatch.setenv("RETRIEVAL_MODEL_DIR", str(model_dir(tmp_path / "models")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = Cache(tmp_path / "cache")
    for (spec, options), digest in PINNED.items():
        system = parse_system(spec, device=device, **dict(options))
        assert run_key(cache, FIXED_DATASET, "test", system).digest == digest, spec


KEYS_SCRIPT = """
    import json, sys
    from types import SimpleNamespace
    from retrieval.cache import Cache
    from retrieval.runner import run_key
    from retrieval.systems import parse_system

    fixed = SimpleNamespace(name="fixed", fingerprint=lambda: "0" * 64)
    cache = Cache()
    specs = [("dense:all-MiniLM-L6-v2", {}), ("ce:ms-marco-MiniLM-L-6-v2", {"first_stage": "dense:all-MiniLM-L6-v2"}),
             ("monot5:base", {"depth": 20, "first_stage": "dense:all-MiniLM-L6-v2"})]
    digests = {s: run_key(cache, fixed, "test", parse_system(s, **o)).digest for s, o in specs}
    print(json.dumps({"digests": digests, "modules": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}))
"""


def test_computing_run_keys_imports_no_model_library(tmp_path):
    if gpu_possible():
        pytest.skip("torch may see a GPU here: choosing the default dtype asks torch")
    env = {
        "RETRIEVAL_MODEL_DIR": str(model_dir(tmp_path / "models")),
        "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
    }
    out = python(f"HEAVY = {HEAVY!r}\n" + textwrap.dedent(KEYS_SCRIPT), env)
    assert out["modules"] == []  # not torch, transformers, sentence-transformers, pyserini; nor huggingface_hub below
    assert out["digests"] == {spec: digest for (spec, _), digest in PINNED.items()}


def test_hf_cache_lookup_needs_no_huggingface_hub_for_a_model_never_fetched(tmp_path, monkeypatch):
    from retrieval.neural import registry, weights

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delitem(sys.modules, "huggingface_hub.constants", raising=False)
    info = registry.lookup("base", "monot5")
    assert weights.hub_cache_dir() == tmp_path / "hub"
    assert weights.hf_cached(info, info.revision) is None
    # A folder of that repo in the cache: the answer is huggingface_hub's own (an incomplete snapshot is not a model).
    (tmp_path / "hub" / ("models--" + info.hf_id.replace("/", "--")) / "snapshots").mkdir(parents=True)
    assert weights.hf_cached(info, info.revision) is None


# ---- the Compare page over a cached dense run, in a fresh interpreter -------------------------------------------
PAGE_SCRIPT = """
    import json, os, sys
    from streamlit.testing.v1 import AppTest
    import retrieval.evaluate

    ev = sys.modules["retrieval.evaluate"]  # the package re-exports the function under the same name

    evaluated = []
    fresh = ev.evaluate
    ev.evaluate = lambda *a, **k: evaluated.append(1) or fresh(*a, **k)  # what cached_evaluate would call

    at = AppTest.from_file(os.path.join(os.getcwd(), "pages", "compare.py"), default_timeout=120)
    for k, v in {"dataset": "tiny", "split": "test", "qid": "q1", "systems": "dense:all-MiniLM-L6-v2"}.items():
        at.query_params[k] = v
    at.run()
    from pages._rows import ROWS_SLOT
    columns = [json.loads(el.proto.json) for el in at.main.get("bidi_component") if el.proto.component_name == "rk_column"]
    rows = [c["html"].replace(ROWS_SLOT, "".join(c["rows"])) for c in columns]  # the compact columns, rows in place
    metrics = [r for r in rows if "nDCG@10 <b>" in r]  # the compact column's metric line
    print(json.dumps({
        "exceptions": [str(e.value) for e in at.exception],
        "rows": rows,
        "metrics": metrics,
        "evaluated": len(evaluated),
        "modules": sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in HEAVY}),
    }))
"""


@pytest.fixture
def cached_dense_env(tmp_path):
    """A tiny dataset whose dense run (a made-up ranking, written under the run key the app computes) and its
    per-query values are in the cache; nothing is encoded."""
    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.evaluate import cached_evaluate
    from retrieval.run import Run
    from retrieval.runner import cached_run, run_key, write_run_parquet
    from retrieval.systems import parse_system

    write_tiny_beir(tmp_path / "beir")
    cache = Cache(tmp_path / "cache")
    ds = open_dataset("tiny", str(tmp_path / "beir"), cache_root=str(cache.root), download=False)
    system = parse_system("dense:all-MiniLM-L6-v2", device="cpu")
    run = Run.from_records(
        [("q1", "d3", 0.9), ("q1", "d1", 0.8), ("q1", "d6", 0.1), ("q2", "d2", 0.7), ("q3", "d3", 0.5)], system.spec
    )

    def build(tmp: Path) -> dict:
        write_run_parquet(run, tmp / "run.parquet")
        return {"spec": system.spec, "rows": len(run), "queries": len(run.qids)}

    cache.get_or_build(run_key(cache, ds, "test", system), build, info={"dataset": "tiny", "split": "test"})
    stored = cached_run(cache, ds, "test", system)
    cached_evaluate(stored, ds.qrels("test"), cache=cache, dataset_sha256=ds.fingerprint(), split="test")
    return {"BEIR_DATA_DIR": str(tmp_path / "beir"), "RETRIEVAL_CACHE_DIR": str(cache.root), "HF_HUB_OFFLINE": "1"}


def test_compare_page_shows_a_cached_dense_run_without_model_libraries_or_evaluation(cached_dense_env):
    if gpu_possible():
        pytest.skip("torch may see a GPU here: choosing the default dtype asks torch")
    out = python(f"HEAVY = {HEAVY!r}\n" + textwrap.dedent(PAGE_SCRIPT), cached_dense_env)
    assert out["exceptions"] == []
    assert len(out["rows"]) == 1
    assert [d for d in ("d3", "d1", "d6") if f'data-docid="{d}"' in out["rows"][0]] == ["d3", "d1", "d6"]
    assert out["rows"][0].index('data-docid="d3"') < out["rows"][0].index('data-docid="d1"')
    assert out["metrics"], "the per-query metrics line is shown"
    assert out["modules"] == []  # no torch, transformers, sentence-transformers, pyserini
    assert out["evaluated"] == 0  # the per-query values came from the cache


def test_cached_evaluation_equals_a_fresh_one_and_is_reused(tmp_path):
    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.evaluate import cached_evaluate, evaluate, run_checksum
    from retrieval.run import Run

    write_tiny_beir(tmp_path / "beir")
    cache = Cache(tmp_path / "cache")
    ds = open_dataset("tiny", str(tmp_path / "beir"), cache_root=str(cache.root), download=False)
    qrels = ds.qrels("test")
    plain = Run.from_records([("q1", "d2", 3.0), ("q1", "d1", 2.0), ("q2", "d6", 1.0)], "up")
    assert run_checksum(plain) is None  # not from the cache (an upload): evaluated each time, nothing stored
    assert (
        cached_evaluate(plain, qrels, cache=cache, dataset_sha256=ds.fingerprint(), split="test").mean
        == evaluate(plain, qrels).mean
    )
    assert not (cache.root / "evaluation").exists()

    entry = tmp_path / "entry"
    entry.mkdir()
    from retrieval.runner import write_run_parquet

    write_run_parquet(plain, entry / "run.parquet")
    from retrieval.cache import MANIFEST, sha256_file

    (entry / MANIFEST).write_text(json.dumps({"files": {"run.parquet": {"sha256": sha256_file(entry / "run.parquet")}}}))
    cached = Run(plain.frame, "sys", {"cache_entry": str(entry)})
    fresh = evaluate(cached, qrels)
    first = cached_evaluate(cached, qrels, cache=cache, dataset_sha256=ds.fingerprint(), split="test")
    again = cached_evaluate(cached, qrels, cache=Cache(cache.root), dataset_sha256=ds.fingerprint(), split="test")
    for ev in (first, again):
        pd.testing.assert_frame_equal(ev.per_query, fresh.per_query, check_exact=True)
        assert (ev.measures, ev.missing_qids, ev.notes, ev.run_name) == (fresh.measures, fresh.missing_qids, fresh.notes, "sys")
    assert fresh.missing_qids  # q3 and q4 have no results: kept with the values
    assert len(list(cache.entries("evaluation"))) == 1
    # Another split or other qrels content is another entry, never the stored values.
    cached_evaluate(cached, qrels, cache=cache, dataset_sha256="1" * 64, split="test")
    assert len(list(cache.entries("evaluation"))) == 2


def test_the_repl_probe_app_py_skips_still_exists_in_streamlit():
    """app.py skips Streamlit's REPL check (``inspect.stack()`` over every loaded module, up to 0.17 s of a cold start's
    first run) by marking its warning as given: a Streamlit that renames the flag would silently bring it back."""
    from streamlit import delta_generator

    from pages import _nav

    assert hasattr(delta_generator, "_use_warning_has_been_displayed")
    _nav.quiet_repl_probe()
    assert delta_generator._use_warning_has_been_displayed is True


def _made_up_distributions(root: Path) -> list:
    """Installed-looking packages (a ``.dist-info`` folder each) for every way Streamlit's component check can say
    yes, and ways it says no."""
    import importlib.metadata

    cases = {
        "plain-1.0": "Name: plain\nVersion: 1.0\nSummary: Nothing to do with it\nRequires-Dist: numpy\n",
        "st_widgets-1.0": "Name: st_widgets\nVersion: 1.0\nSummary: A widget\n",
        "st-charts-1.0": "Name: st-charts\nVersion: 1.0\n",
        "stable-1.0": "Name: stable\nVersion: 1.0\nSummary: st is not a prefix here\n",
        "fancy-1.0": "Name: fancy\nVersion: 1.0\nSummary: Fancy tables for Streamlit apps\n",
        "needs-1.0": "Name: needs\nVersion: 1.0\nRequires-Dist: Streamlit>=1.40\n",
        "streamlit_thing-1.0": "Name: streamlit_thing\nVersion: 1.0\n",
        "mention-1.0": "Name: mention\nVersion: 1.0\n\nA long description that mentions streamlit only in its body.\n",
        "pkginfo-1.0": None,  # metadata only as PKG-INFO
    }
    out = []
    for folder, text in cases.items():
        info = root / f"{folder}.dist-info"
        info.mkdir()
        if text is None:
            (info / "PKG-INFO").write_text("Name: st-old\nVersion: 1.0\n", encoding="utf-8")
        else:
            (info / "METADATA").write_text(text, encoding="utf-8")
        out.append(importlib.metadata.PathDistribution(info))
    return out


def test_the_quick_component_scan_keeps_the_candidates_streamlit_would_keep(tmp_path, monkeypatch):
    """app.py makes Streamlit's start-up scan for component packages read each package's metadata once as text
    (0.22 s of a 2.4 s cold start here): for every installed package and for made-up ones of each kind, it keeps
    exactly the packages Streamlit's own check keeps, and it installs once however often it is called."""
    import importlib.metadata

    from streamlit.components.v2 import manifest_scanner

    from pages import _nav

    # Streamlit's own check (the tests' conftest has put the quick one in place already)
    original = getattr(manifest_scanner._is_likely_streamlit_component_package, "__wrapped__", None)
    original = original or manifest_scanner._is_likely_streamlit_component_package
    monkeypatch.setattr(manifest_scanner, "_is_likely_streamlit_component_package", original)
    _nav.quick_component_scan()
    quick = manifest_scanner._is_likely_streamlit_component_package
    assert quick is not original
    _nav.quick_component_scan()
    assert manifest_scanner._is_likely_streamlit_component_package is quick

    made_up = _made_up_distributions(tmp_path)
    kept = {d.metadata["Name"] for d in made_up if quick(d)}
    assert kept == {d.metadata["Name"] for d in made_up if original(d)}
    assert kept == {"st_widgets", "st-charts", "fancy", "needs", "streamlit_thing", "st-old"}
    installed = list(importlib.metadata.distributions())
    assert [quick(d) for d in installed] == [original(d) for d in installed]
    assert "streamlit" in {d.metadata["Name"].lower() for d in installed if quick(d)}


def test_app_py_puts_the_quick_scan_in_place_when_streamlit_run_imports_it():
    """``streamlit run`` imports app.py to find its app, then makes the runtime (the scan): app.py, imported outside
    a session's run, puts the quick check in place (a fresh interpreter, as the server is)."""
    code = textwrap.dedent(
        f"""
        import importlib.util, sys
        sys.path.insert(0, {str(ROOT)!r})
        spec = importlib.util.spec_from_file_location("app", {str(ROOT / "app.py")!r})
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        from streamlit.components.v2 import manifest_scanner
        print(getattr(manifest_scanner._is_likely_streamlit_component_package, "_quick", False))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"
