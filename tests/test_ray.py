"""Scale-out on a local Ray instance with two CPU workers: same cache entries, same results, safe when a worker dies.

Skipped when ray is not installed (it is optional: requirements-ray.txt).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is optional (pip install -r requirements-ray.txt); the Ray tests need it")

from retrieval.beir import BeirDataset  # noqa: E402
from retrieval.cache import Cache  # noqa: E402
from retrieval.errors import RetrievalError  # noqa: E402
from retrieval.neural import dense  # noqa: E402
from retrieval.parallel import RayExecutor, attach  # noqa: E402
from retrieval.runner import get_run  # noqa: E402
from retrieval.systems import parse_system  # noqa: E402

# A local Ray instance and the JVM that BM25 starts in-process (pyjnius) crashed the interpreter together (a
# segfault when the whole suite ran in one process), so these tests run in an interpreter of their own.
INNER = os.environ.get("RETRIEVAL_RAY_TESTS_INNER") == "1"
own_interpreter = pytest.mark.skipif(not INNER, reason="runs in its own interpreter (test_ray_tests_in_their_own_interpreter)")


def test_ray_tests_in_their_own_interpreter():
    if INNER:
        pytest.skip("this is the inner run")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", __file__],
        env={**os.environ, "RETRIEVAL_RAY_TESTS_INNER": "1"},
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "3 passed" in proc.stdout, proc.stdout[-3000:]


SLICE = 48  # SciFact documents
CRASH_TEXT_PREFIX = "crash-marker:"


@pytest.fixture(scope="module")
def local_ray():
    executor = RayExecutor(workers=2)
    executor._init()
    yield executor
    ray.shutdown()


@pytest.fixture(scope="module")
def scifact_slice(tmp_path_factory) -> BeirDataset:
    source = Path(os.environ.get("BEIR_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "beir")) / "scifact"
    if not (source / "corpus.jsonl").is_file():
        pytest.skip(f"SciFact is not at {source}")
    folder = tmp_path_factory.mktemp("beir") / "scifact-slice"
    (folder / "qrels").mkdir(parents=True)
    with open(source / "corpus.jsonl", encoding="utf-8") as fh:
        docs = [json.loads(next(fh)) for _ in range(SLICE)]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "vitamin D and bone density"}) + "\n", encoding="utf-8"
    )
    (folder / "qrels" / "test.tsv").write_text(f"query-id\tcorpus-id\tscore\nq1\t{docs[0]['_id']}\t1\n", encoding="utf-8")
    return BeirDataset(folder, "scifact-slice")


def _minilm(**options):
    system = parse_system("dense:all-MiniLM-L6-v2", device="cpu", **options)
    ok, why = system.availability()
    if not ok:
        pytest.skip(why)
    system.chunk_size = 8  # several chunks for two workers
    return system


@own_interpreter
def test_ray_encoding_writes_the_same_embeddings(local_ray, scifact_slice, tmp_path):
    here, there = _minilm(), _minilm()
    attach(there, local_ray)
    emb_here, ids_here, _ = here.corpus_embeddings(scifact_slice, cache=Cache(tmp_path / "a"), progress=False)
    cache_b = Cache(tmp_path / "b")
    emb_there, ids_there, entry = there.corpus_embeddings(scifact_slice, cache=cache_b, progress=False)
    assert ids_there == ids_here and [e for e, _ in cache_b.entries("embeddings")] == [entry]
    a, b = np.asarray(emb_here, dtype=np.float64), np.asarray(emb_there, dtype=np.float64)
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() > 1 - 1e-6
    assert there._encoder is None  # the driver never loaded the model: the actors did the encoding
    plain = _minilm()  # the app's path finds the entry the cluster wrote and encodes nothing
    plain.encoder = lambda cache=None: (_ for _ in ()).throw(AssertionError("must not encode"))
    plain.corpus_embeddings(scifact_slice, cache=cache_b, progress=False)


class CrashingEncoder:
    """Loads the real MiniLM; its process dies (as a killed worker does) on a chunk holding the marker text."""

    def __init__(self) -> None:
        from retrieval.neural.dense_model import DenseEncoder

        self.inner = DenseEncoder.from_pretrained("all-MiniLM-L6-v2", device="cpu")

    def encode_documents(self, texts, batch_size=None, **kwargs):
        if any(t.startswith(CRASH_TEXT_PREFIX) for t in texts):
            os._exit(1)
        return self.inner.encode_documents(texts, batch_size=batch_size, **kwargs)


@own_interpreter
def test_a_worker_killed_mid_run_leaves_no_partial_entry_and_a_rerun_completes(local_ray, scifact_slice, tmp_path):
    system = _minilm()
    cache = Cache(tmp_path / "cache")
    original = scifact_slice.corpus
    first_id = sorted(original, key=lambda d: (-len(original[d].text) - len(original[d].title), d))[SLICE // 2]
    from dataclasses import replace

    broken = dict(original)
    broken[first_id] = replace(original[first_id], title=CRASH_TEXT_PREFIX + original[first_id].title)
    key_parts = system.model_key()
    ds = type("Slice", (), {"name": scifact_slice.name, "corpus": broken, "fingerprint": lambda self: "slice-with-marker"})()
    with pytest.raises(RetrievalError, match="Ray worker died"):
        dense.corpus_embeddings(
            ds,
            lambda: None,
            key_parts,
            cache=cache,
            chunk_size=8,
            progress=False,
            executor=RayExecutor(workers=2),
            worker_factory=CrashingEncoder,
        )
    assert not list(cache.entries("embeddings"))  # no entry, not even a partial one
    scratch = cache.scratch(dense.embeddings_key(cache, ds, key_parts))
    chunks = sorted(p.name for p in scratch.glob("chunk-*.npy"))
    assert len(chunks) < SLICE // 8  # the crashed chunk was never written
    for path in scratch.glob("chunk-*.npy"):
        assert np.load(path, allow_pickle=False).shape[0] == 8  # whatever was written is whole
    # rerun with a healthy worker: only the missing chunks are encoded, and the entry appears
    emb, ids, _ = dense.corpus_embeddings(
        ds,
        lambda: None,
        key_parts,
        cache=cache,
        chunk_size=8,
        progress=False,
        executor=RayExecutor(workers=2),
        worker_factory=system.worker_factory(cache, "encoder"),
    )
    assert len(list(cache.entries("embeddings"))) == 1 and emb.shape == (SLICE, 384) and ids == list(broken)


@own_interpreter
def test_ray_rerank_gives_the_same_run(local_ray, request, tmp_path_factory):
    from bench.tiny_models import tiny_t5
    from tests.test_neural_monot5 import conftest_function

    folder = tmp_path_factory.mktemp("tiny-t5")
    tiny_t5(folder)
    ds = BeirDataset(conftest_function(request, "write_tiny_beir")(tmp_path_factory.mktemp("beir")), "tiny")
    spec = "monot5:base"
    here = parse_system(spec, model_path=str(folder), device="cpu", depth=5, flush_every=3)
    there = parse_system(spec, model_path=str(folder), device="cpu", depth=5, flush_every=3)
    attach(there, local_ray)
    run_here = get_run(ds, "test", here, cache=Cache(tmp_path_factory.mktemp("c1")), progress=False)
    run_there = get_run(ds, "test", there, cache=Cache(tmp_path_factory.mktemp("c2")), progress=False)
    assert there._scorer is None  # scored by the actors
    a, b = run_here.frame.reset_index(drop=True), run_there.frame.reset_index(drop=True)
    assert list(a["qid"]) == list(b["qid"]) and list(a["docid"]) == list(b["docid"])
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy(), atol=1e-6, rtol=0)
