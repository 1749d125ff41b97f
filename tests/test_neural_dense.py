"""Dense retrieval with the real all-MiniLM-L6-v2 (offline package) on the tiny fixture, and exact/FAISS search."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.beir import BeirDataset
from retrieval.neural.dense import embeddings_key
from retrieval.neural.dense_model import DenseEncoder
from retrieval.neural.model_system import doc_text
from retrieval.neural.vector_search import exact_search
from retrieval.runner import get_run, live_search
from retrieval.systems import parse_system

SPEC = "dense:all-MiniLM-L6-v2"
TEXTS = ["Vitamin D and bone health", "coffee", "Regular exercise lowers blood pressure and improves bone strength. " * 30, ""]


@pytest.fixture(scope="module")
def minilm() -> DenseEncoder:
    ok, why = parse_system(SPEC).availability()
    if not ok:
        pytest.skip(why)
    return DenseEncoder.from_pretrained("all-MiniLM-L6-v2", device="cpu")


def test_encoder_matches_sentence_transformers(minilm):
    ref = minilm.model.encode(TEXTS, normalize_embeddings=True)
    for bs in (1, 3, 32):
        got = minilm.encode_documents(TEXTS, batch_size=bs)
        assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
    np.testing.assert_allclose(minilm.encode_queries(TEXTS[::-1]), ref[::-1], atol=1e-5, rtol=0)
    assert minilm.max_length == 256 and minilm.normalize


def test_plain_transformers_backend_matches(minilm):
    """The backend without sentence-transformers (used for hand-built models) gives the same vectors."""
    from transformers import AutoModel, AutoTokenizer

    folder = minilm.model[0].model.name_or_path
    model = AutoModel.from_pretrained(folder, use_safetensors=True)
    raw = DenseEncoder(model, tokenizer=AutoTokenizer.from_pretrained(folder), pooling="mean", normalize=True, max_length=256)
    np.testing.assert_allclose(raw.encode_documents(TEXTS, batch_size=2), minilm.encode_documents(TEXTS), atol=1e-5, rtol=0)


def _scifact_texts(n: int) -> list[str]:
    import json
    import os
    from pathlib import Path

    corpus = (
        Path(os.environ.get("BEIR_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "beir"))
        / "scifact"
        / "corpus.jsonl"
    )
    if not corpus.is_file():
        pytest.skip(f"SciFact is not at {corpus}")
    texts = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            texts.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())  # doc_text of the BEIR record
            if len(texts) == n:
                return texts
    return texts


def test_pipelined_encoding_equals_bare_sentence_transformers_on_scifact(minilm):
    """Tokeniser thread + token-budget batches give today's vectors: bare SentenceTransformer.encode, ~200 real docs."""
    from transformers import AutoModel, AutoTokenizer

    texts = _scifact_texts(200)
    reference = minilm.model.encode(texts, normalize_embeddings=True, batch_size=32)
    assert minilm.pipeline
    ours = minilm.encode_documents(texts)
    assert float(np.max(np.abs(ours - reference))) < 1e-5
    folder = minilm.model[0].model.name_or_path
    raw = DenseEncoder(
        AutoModel.from_pretrained(folder, use_safetensors=True),
        tokenizer=AutoTokenizer.from_pretrained(folder),
        pooling="mean",
        normalize=True,
        max_length=256,
        batch_size=64,
        batch_tokens=4096,
    )
    assert raw.pipeline
    assert float(np.max(np.abs(raw.encode_documents(texts) - reference))) < 1e-5


def test_own_tokenising_gives_the_ids_of_sentence_transformers_preprocess(minilm):
    """For a plain text model the encoder tokenises through the fast tokenizer's Rust core (a copy that truncates
    at max_length; 3-4x faster end to end on a GPU machine): the ids equal SentenceTransformer.preprocess's,
    text by text, over all of SciFact plus empty, whitespace-only, non-Latin, invisible-character and over-long
    text, with a prompt too; the shared tokenizer's own settings are left untouched."""
    texts = _scifact_texts(10_000) + ["", "  ", "p53 naïve café 中文 \u2060x \U0001d518", "word " * 3000, "<b>x</b>&amp;"]
    assert minilm._st_plain()
    before = minilm.model.tokenizer.backend_tokenizer.truncation
    for prompt in ("", "query: "):
        ids, types = minilm._token_ids([prompt + t for t in texts])
        for start in range(0, len(texts), 1000):
            feats = minilm.model.preprocess(texts[start : start + 1000], prompt=prompt or None)
            for row, length in enumerate(feats["attention_mask"].sum(dim=1).tolist()):
                i = start + row
                assert ids[i] == feats["input_ids"][row, :length].tolist(), i
                assert types[i] == feats["token_type_ids"][row, :length].tolist(), i
    assert max(map(len, ids)) == minilm.max_length == 256
    assert minilm.model.tokenizer.backend_tokenizer.truncation == before


def test_model_that_lowercases_itself_keeps_sentence_transformers_preprocess(minilm, monkeypatch):
    """A first module with options of its own (here do_lower_case) is not 'plain': batches come from
    SentenceTransformer.preprocess, and the vectors are still those of encode."""
    calls = []
    real = minilm.model.preprocess
    monkeypatch.setattr(minilm.model[0], "do_lower_case", True, raising=False)
    monkeypatch.setattr(minilm.model, "preprocess", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert not minilm._st_plain()
    got = minilm.encode_documents(TEXTS)
    assert calls
    monkeypatch.undo()
    np.testing.assert_allclose(got, minilm.model.encode(TEXTS, normalize_embeddings=True), atol=1e-5, rtol=0)


def test_prefetch_is_bounded_and_passes_errors_on():
    import threading
    import time

    from retrieval.neural.dense_model import prefetch

    produced: list[int] = []

    def items():
        for i in range(100):
            produced.append(i)
            yield i

    stream = prefetch(items(), depth=2)
    assert next(stream) == 0
    time.sleep(0.3)
    assert len(produced) <= 4  # one consumed, two queued, one waiting to be put
    stream.close()  # stopping early stops the producer thread
    seen = len(produced)
    time.sleep(0.3)
    assert len(produced) == seen < 100
    assert not any(t.name == "dense-tokenize" and t.is_alive() for t in threading.enumerate())

    def failing():
        yield 1
        raise ValueError("bad text at line 7")

    with pytest.raises(ValueError, match="line 7"):
        list(prefetch(failing()))


def test_exact_search_equals_brute_force():
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((503, 16)).astype(np.float32)
    queries = rng.standard_normal((7, 16)).astype(np.float32)
    for similarity in ("dot", "cos"):
        c = corpus / np.linalg.norm(corpus, axis=1, keepdims=True) if similarity == "cos" else corpus
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True) if similarity == "cos" else queries
        full = q @ c.T
        scores, idx = exact_search(queries, corpus, 20, similarity=similarity, corpus_chunk=64, query_chunk=3)
        np.testing.assert_array_equal(idx, np.argsort(-full, axis=1, kind="stable")[:, :20])
        np.testing.assert_allclose(scores, np.take_along_axis(full, idx, 1), atol=1e-5)
    s, i = exact_search(queries, corpus.astype(np.float16), 1000)
    assert s.shape == (7, 503) and np.all(np.diff(s, axis=1) <= 0)


def test_chunked_exact_search_equals_unchunked_with_ties():
    """Small chunks give the very result of one chunk, ties included (equal scores: lower row first)."""
    rng = np.random.default_rng(3)
    base = rng.integers(-2, 3, size=(40, 8)).astype(np.float32)  # few distinct values: many equal scores
    corpus = base[rng.integers(0, 40, size=600)]  # and many duplicated rows
    queries = rng.integers(-2, 3, size=(9, 8)).astype(np.float32)
    full = queries @ corpus.T  # small integers: exact in float32 whatever the summation order, so ties are real ties
    assert all(len(set(full[r])) < full.shape[1] / 10 for r in range(len(queries)))
    whole_s, whole_i = exact_search(queries, corpus, 50, similarity="dot", corpus_chunk=10_000, query_chunk=100)
    for chunk, qchunk in ((7, 2), (50, 9), (1, 4), (599, 1)):
        s, i = exact_search(queries, corpus, 50, similarity="dot", corpus_chunk=chunk, query_chunk=qchunk)
        np.testing.assert_array_equal(i, whole_i)
        np.testing.assert_array_equal(s, whole_s)
    for r in range(len(queries)):  # score desc, then row asc
        pairs = list(zip(-whole_s[r], whole_i[r]))
        assert pairs == sorted(pairs)
    # cosine: the same row can round one ulp apart in differently shaped products, so scores agree to ~1e-7
    cos_s, _ = exact_search(queries, corpus, 50, similarity="cos", corpus_chunk=10_000)
    np.testing.assert_allclose(exact_search(queries, corpus, 50, similarity="cos", corpus_chunk=7)[0], cos_s, atol=1e-6, rtol=0)
    expected = np.lexsort((np.arange(600)[None, :].repeat(9, 0), -full), axis=1)[:, :50]
    np.testing.assert_array_equal(exact_search(queries, corpus, 50, similarity="dot", corpus_chunk=13)[1], expected)


def test_float16_compute_path_finds_the_float32_neighbours():
    """The GPU's float16 path (run here on CPU): same neighbours up to float16 rounding of the scores."""
    rng = np.random.default_rng(4)
    corpus = rng.standard_normal((3000, 64)).astype(np.float16)
    queries = rng.standard_normal((10, 64)).astype(np.float32)
    s32, i32 = exact_search(queries, corpus, 20)
    s16, i16 = exact_search(queries, corpus, 20, compute_dtype="float16", corpus_chunk=256)
    assert s16.dtype == np.float32 and np.all(np.diff(s16, axis=1) <= 0)
    assert np.mean([len(set(a) & set(b)) / 20 for a, b in zip(i16, i32)]) >= 0.95
    assert np.max(np.abs(s16[:, 0] - s32[:, 0])) < 2e-3


def test_faiss_search_finds_the_exact_neighbours(tmp_path):
    pytest.importorskip("faiss")
    from retrieval.neural.vector_search import build_faiss_index, faiss_search

    rng = np.random.default_rng(1)
    corpus = rng.standard_normal((2000, 32)).astype(np.float16)
    queries = rng.standard_normal((20, 32)).astype(np.float32)
    build_faiss_index(corpus, tmp_path / "index.faiss")
    _, approx = faiss_search(queries, tmp_path / "index.faiss", 10)
    _, exact = exact_search(queries, corpus, 10)
    overlap = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert overlap >= 0.9


@pytest.fixture
def tiny_ds(tiny_dir) -> BeirDataset:
    return BeirDataset(tiny_dir, "tiny")


def test_dense_run_on_tiny_dataset(minilm, tiny_ds, cache):
    run = get_run(tiny_ds, "test", SPEC, cache=cache, progress=False)
    assert run.qids == ["q1", "q2", "q3", "q4"] and run.depth() == 6
    assert run.for_query("q1")["docid"].iloc[0] == "d1"  # "vitamin D bone density"
    assert run.for_query("q4")["docid"].iloc[0] == "d4"  # "memory and sleep"
    assert run.frame["score"].between(-1.001, 1.001).all()
    entry = next(iter(cache.entries("embeddings")))[0]
    emb = np.load(entry / "embeddings.npy", mmap_mode="r", allow_pickle=False)
    assert isinstance(emb, np.memmap) and emb.dtype == np.float16 and emb.shape == (6, 384)
    expected = minilm.encode_documents([doc_text(d) for d in tiny_ds.corpus.values()])
    np.testing.assert_allclose(np.asarray(emb, dtype=np.float32), expected, atol=2e-3)  # float16 storage


def test_interrupted_encode_resumes_with_the_rest(minilm, tiny_ds, cache, monkeypatch):
    system = parse_system(SPEC, chunk_size=2, device="cpu")
    enc = system.encoder(cache)
    original = enc.encode_documents
    encoded: list[int] = []

    def crash_on_third_chunk(texts, **kwargs):
        if len(encoded) == 2:
            raise RuntimeError("simulated crash")
        encoded.append(len(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(enc, "encode_documents", crash_on_third_chunk)
    with pytest.raises(RuntimeError, match="simulated crash"):
        system.corpus_embeddings(tiny_ds, cache=cache, progress=False)
    assert encoded == [2, 2] and not list(cache.entries("embeddings"))

    resumed: list[int] = []

    def counting(texts, **kwargs):
        resumed.append(len(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(enc, "encode_documents", counting)
    emb, docids, entry = system.corpus_embeddings(tiny_ds, cache=cache, progress=False)
    assert resumed == [2]  # only the chunk not done before the crash
    assert docids == list(tiny_ds.corpus)
    full = original([doc_text(tiny_ds.corpus[d]) for d in docids])
    np.testing.assert_allclose(np.asarray(emb, dtype=np.float32), full, atol=2e-3)
    resumed.clear()
    system.corpus_embeddings(tiny_ds, cache=cache, progress=False)
    assert resumed == []  # cached now
    assert not (cache.root / "_partial" / "embeddings").exists() or not any((cache.root / "_partial" / "embeddings").iterdir())


def test_embedding_key_changes_with_what_changes_vectors(tiny_ds, cache, minilm):
    base = parse_system(SPEC, device="cpu")
    other_dtype = parse_system(SPEC, device="cpu", dtype="bfloat16")
    assert base.model_key()["revision"].startswith("pypi:")
    assert embeddings_key(cache, tiny_ds, base.model_key()) != embeddings_key(cache, tiny_ds, other_dtype.model_key())
    more_hits = parse_system(SPEC, device="cpu", hits=10)
    assert more_hits.spec == "dense:all-MiniLM-L6-v2?hits=10"
    assert more_hits.model_key() == base.model_key() and more_hits.key_parts() != base.key_parts()


def test_live_dense_query_reuses_corpus_embeddings(minilm, tiny_ds, cache, monkeypatch):
    system = parse_system(SPEC, device="cpu")
    get_run(tiny_ds, "test", system, cache=cache, progress=False)
    enc = system.encoder(cache)
    calls = []
    monkeypatch.setattr(enc, "encode_documents", lambda *a, **k: calls.append(1))
    run = live_search(tiny_ds, system, "bone density and vitamin D", k=3, cache=cache)
    assert calls == [] and run.qids == ["live"] and len(run) == 3
    assert run.for_query("live")["docid"].iloc[0] == "d1"
    faiss_ok = True
    try:
        import faiss  # noqa: F401
    except ImportError:
        faiss_ok = False
    if faiss_ok:
        approx = live_search(
            tiny_ds, parse_system(SPEC, device="cpu", index="faiss"), "bone density and vitamin D", k=3, cache=cache
        )
        assert list(approx.for_query("live")["docid"]) == list(run.for_query("live")["docid"])


def test_plain_checkpoint_without_modules_gets_registry_pooling(minilm, tmp_path):
    """A folder with no modules.json (like facebook/contriever-msmarco) is wrapped with Transformer + Pooling here."""
    import shutil

    from retrieval.neural.dense_model import load_sentence_transformer

    src = minilm.model[0].model.name_or_path
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "special_tokens_map.json",
    ):
        shutil.copy(f"{src}/{name}", tmp_path / name)
    st = load_sentence_transformer(str(tmp_path), "cpu", "float32", pooling="mean", normalize=True)
    enc = DenseEncoder(st, normalize=True, max_length=256)
    np.testing.assert_allclose(enc.encode_documents(TEXTS[:2]), minilm.encode_documents(TEXTS[:2]), atol=1e-5, rtol=0)
    cls = DenseEncoder(load_sentence_transformer(str(tmp_path), "cpu", "float32", pooling="cls"), normalize=False)
    assert not np.allclose(cls.encode_documents(TEXTS[:1]), enc.encode_documents(TEXTS[:1]), atol=1e-3)
