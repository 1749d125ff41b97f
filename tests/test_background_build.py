"""A missing run is built in the background (issue 12, point 4): the Compare page answers at once, the column shows
the encoding progress with an ETA, and the rankings appear when the run is there; on a first start it starts on its
own. The build is a stand-in driven step by step (plan, chunks, run), so nothing depends on timing or a model."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import compact_columns, env_restored, write_tiny_beir

COMPARE = str(Path(__file__).resolve().parent.parent / "pages" / "compare.py")
SPEC = "dense:all-MiniLM-L6-v2"
RUN = [("q1", "d6", 0.9), ("q1", "d2", 0.8), ("q1", "d1", 0.7), ("q2", "d2", 0.5)]
ROW = re.compile(r'<details class="rk-row [^"]*" data-docid="([^"]*)">')


def fake_scratch(cache, dataset, system) -> Path:
    from retrieval.neural.dense import embeddings_key

    key = embeddings_key(cache, dataset, system.model_key())
    return cache.root / "_partial" / key.kind / key.digest


def test_encode_progress_counts_the_chunks_written(tmp_path):
    from retrieval.beir import open_dataset
    from retrieval.cache import MANIFEST, Cache
    from retrieval.neural.dense import embeddings_key
    from retrieval.systems import parse_system

    write_tiny_beir(tmp_path / "beir")
    cache = Cache(tmp_path / "cache")
    ds = open_dataset("tiny", str(tmp_path / "beir"), cache_root=str(cache.root), download=False)
    system = parse_system(SPEC, device="cpu")
    assert system.build_progress(ds, cache) is None  # nothing started
    scratch = fake_scratch(cache, ds, system)
    scratch.mkdir(parents=True)
    (scratch / "plan.json").write_text(json.dumps({"n": 5, "chunk_size": 2, "order_sha256": "x"}))
    assert system.build_progress(ds, cache) == (0, 5)
    np.save(scratch / "chunk-000002.npy", np.zeros((1, 4), np.float16))  # the last chunk holds 1 document
    (scratch / ".chunk-000001.npy.abc.tmp").write_bytes(b"half written")  # not a chunk yet
    assert system.build_progress(ds, cache) == (1, 5)
    np.save(scratch / "chunk-000000.npy", np.zeros((2, 4), np.float16))
    assert system.build_progress(ds, cache) == (3, 5)
    entry = cache.path(embeddings_key(cache, ds, system.model_key()))
    entry.mkdir(parents=True)
    (entry / MANIFEST).write_text("{}")
    assert system.build_progress(ds, cache) == (6, 6)  # cached: the whole corpus


def test_progress_label_gives_an_eta_from_this_builds_rate():
    from retrieval.jobs import Job
    from view.progress import progress_label, status_line

    # 2 documents were there when the build started; 4 more in 20 s, so the 6 left take about 30 s.
    counts = [(2, 12)]
    job = Job("run", "M", "ds", counts=lambda: counts[0], unit="documents")
    assert status_line(job) == (2 / 12, "Encoding ds with M: 2 of 12 documents · estimating the time left…")
    job.started -= 20.0  # 20 s later, 4 more documents: the 6 left take about 30 s
    counts[0] = (6, 12)
    assert status_line(job) == (0.5, "Encoding ds with M: 6 of 12 documents · about 30 s left")
    assert progress_label("M", "ds", 1_000, 5_183, 300.0).startswith("Encoding ds with M: 1,000 of 5,183 documents · about 5 min")
    assert progress_label("M", "ds", 12, 12, None) == "Encoded ds with M (12 documents); searching…"
    # Work that is not counted: the time spent, against an estimate made before it started where there is one.
    plain = Job("run", "BM25", "ds", estimate=100.0)
    plain.started -= 40.0
    fraction, line = status_line(plain)
    assert fraction == pytest.approx(0.4, abs=0.01) and line.startswith(
        "Building the run of BM25 on ds: 40 s so far, about 1 min"
    )


@pytest.fixture
def staged_build(tmp_path, monkeypatch):
    """The tiny dataset with no dense run, and a stand-in build that goes one step per ``go()``: the embeddings'
    plan (6 documents, chunks of 2), then two chunks, then the run in the cache."""
    import retrieval.jobs as builds
    from retrieval.run import Run
    from retrieval.runner import run_key, write_run_parquet

    write_tiny_beir(tmp_path / "beir")
    env = {"BEIR_DATA_DIR": str(tmp_path / "beir"), "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    gates = [threading.Event() for _ in range(3)]
    reached = [threading.Event() for _ in range(3)]
    calls = []
    real = builds.run_build

    def build(dataset, split, system, cache):
        calls.append(system.spec)
        if system.family != "dense":  # BM25 is built for real (seconds on the tiny dataset)
            return real(dataset, split, system, cache)
        scratch = fake_scratch(cache, dataset, system)
        steps = [
            lambda: (scratch.mkdir(parents=True), (scratch / "plan.json").write_text(json.dumps({"n": 6, "chunk_size": 2}))),
            lambda: [np.save(scratch / f"chunk-{i:06d}.npy", np.zeros((2, 4), np.float16)) for i in (0, 1)],
            lambda: cache.get_or_build(
                run_key(cache, dataset, split, system),
                lambda tmp: write_run_parquet(Run.from_records(RUN, system.spec), tmp / "run.parquet"),
                info={"dataset": dataset.name, "split": split, "spec": system.spec},
            ),
        ]
        for gate, done, step in zip(gates, reached, steps):
            assert gate.wait(60), "the test never let the build go on"
            step()
            done.set()

    def go(n: int) -> None:
        gates[n].set()
        assert reached[n].wait(30)

    monkeypatch.setattr(builds, "run_build", build)
    with env_restored(env):
        yield env, go, calls
        for g in gates:
            g.set()


def progress_texts(at) -> list[str]:
    return [p.proto.text.replace("\\", "") for p in at.get("progress")]


def columns(at) -> list[list[str]]:
    """The document ids of each column's rows (columns without rows are left out)."""
    return [ROW.findall(body) for body in compact_columns(at)]


def rows(at) -> list[str]:
    return [d for col in columns(at) for d in col]


def compare_page(env: dict[str, str], systems: str = SPEC):
    import os

    from streamlit.testing.v1 import AppTest

    os.environ.update(env)
    at = AppTest.from_file(COMPARE, default_timeout=60)
    at.query_params.update({"dataset": "tiny", "split": "test", "qid": "q1", "systems": systems})
    return at


def test_build_runs_in_the_background_with_progress_and_eta_then_shows_the_rankings(staged_build):
    env, go, calls = staged_build
    at = compare_page(env)
    at.run()
    assert not at.exception and not progress_texts(at) and not rows(at)
    at.button(key=f"build_{SPEC}").click().run()  # returns while the build has not even written its plan
    assert not at.exception
    assert calls == [SPEC]
    assert [t.startswith("Building the run of all-MiniLM-L6-v2") and t.endswith("so far") for t in progress_texts(at)] == [True]
    go(0)
    at.run()
    assert progress_texts(at) == [
        "Encoding tiny with all-MiniLM-L6-v2 (dense, 22.7M): 0 of 6 documents · estimating the time left…"
    ]
    go(1)
    at.run()
    (text,) = progress_texts(at)
    assert re.fullmatch(r"Encoding tiny with all-MiniLM-L6-v2 \(dense, 22\.7M\): 4 of 6 documents · about \d+ s left", text), text
    assert not rows(at) and at.get("progress")[0].proto.value == 66  # percent
    go(2)
    deadline = time.monotonic() + 30
    while not rows(at) and time.monotonic() < deadline:
        at.run()
    assert not at.exception
    assert rows(at) == ["d6", "d2", "d1"]  # the run the build wrote, in its order
    assert not progress_texts(at)
    assert calls == [SPEC]  # one build, however many reruns


def test_on_a_first_start_missing_runs_build_on_their_own(staged_build):
    from pages._builds import FIRST_START

    env, go, calls = staged_build
    at = compare_page(env)
    at.session_state[FIRST_START] = True  # what the landing page sets once it has downloaded the dataset
    at.run()
    assert not at.exception
    assert calls == [SPEC]
    assert not [b for b in at.button if b.label == "Build the run now"]
    assert progress_texts(at) and progress_texts(at)[0].startswith("Building the run of")
    # Only the first page's systems: one added later waits for its button (a reranker run can take hours).
    assert FIRST_START not in at.session_state
    at.query_params["systems"] = f"{SPEC},dense:all-mpnet-base-v2"
    at.run()
    assert calls == [SPEC]
    assert [b.label for b in at.button if b.key == "build_dense:all-mpnet-base-v2"] == ["Build the run now"]


def test_on_a_first_start_bm25_shows_when_built_while_the_dense_column_still_encodes(staged_build):
    from pages._builds import FIRST_START
    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.runner import get_run

    env, go, calls = staged_build
    at = compare_page(env, "bm25-flat," + SPEC)
    at.session_state[FIRST_START] = True
    at.run()  # returns at once: both runs build in the background
    assert not at.exception
    assert sorted(calls) == sorted(["bm25-flat", SPEC])
    assert any(t.startswith("Building the run of all-MiniLM-L6-v2") for t in progress_texts(at))
    go(0)
    deadline = time.monotonic() + 120
    while not columns(at) and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ds = open_dataset("tiny", env["BEIR_DATA_DIR"], cache_root=env["RETRIEVAL_CACHE_DIR"], download=False)
    bm25 = get_run(ds, "test", "bm25-flat", cache=Cache(env["RETRIEVAL_CACHE_DIR"]), progress=False)
    assert columns(at) == [list(bm25.for_query("q1", 10)["docid"])]  # BM25's rows, while the dense column...
    assert [t for t in progress_texts(at) if "0 of 6 documents" in t]  # ...still shows its encoding progress
    go(1)
    go(2)
    deadline = time.monotonic() + 30
    while len(columns(at)) < 2 and time.monotonic() < deadline:
        at.run()
    assert columns(at)[1] == ["d6", "d2", "d1"] and not progress_texts(at)


def test_a_missing_runs_note_names_the_build_choices_its_system_offers():
    """Compare's note under a missing run says what Data & runs → Build a run offers beyond the default, from the
    system's own build choices (none for BM25; a dense model's exported backends)."""
    from pages._builds import choice_hint
    from retrieval.systems import parse_system

    assert choice_hint(parse_system("bm25-flat")) == ""
    dense = parse_system("dense:all-MiniLM-L6-v2")
    exported = " Data & runs → Build a run can run it exported (ONNX Runtime, OpenVINO), faster on a CPU."
    # the backends offered are those whose packages are installed (requirements.txt has them)
    assert choice_hint(dense) == (exported if len(dense.build_choices()["backend"]) > 1 else "")

    class Other:  # a choice the hints do not know is said by its name
        def build_choices(self):
            return {"precision": ("float32", "bfloat16"), "fixed": ("one",)}

    assert choice_hint(Other()) == " Data & runs → Build a run can set its precision."
