"""Word-occlusion saliency on the tiny random monoT5 and cross-encoder models: shape, one value per word,
deterministic, cached; words past the input limit get exactly 0. (Random models: invariants only.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.beir import BeirDataset
from retrieval.cache import Cache
from retrieval.errors import UnknownSystem
from retrieval.explain import saliency as sal_mod
from retrieval.explain.saliency import Saliency, explain_reranker, model_text, occlude, occlusion_saliency, words_of
from retrieval.systems import parse_system


@pytest.fixture(scope="module")
def tiny_t5_dir(tmp_path_factory) -> Path:
    from bench.tiny_models import tiny_t5

    folder = tmp_path_factory.mktemp("tiny-t5")
    tiny_t5(folder)
    return folder


def test_occlude_removes_one_word_and_its_space():
    title, text = "Vitamin D", "Vitamin D improves bone density."
    words = words_of(title, text)
    assert [w.label for w in words] == ["Vitamin", "D", "Vitamin", "D", "improves", "bone", "density."]
    assert [(w.field, w.start, w.end) for w in words][:3] == [("title", 0, 7), ("title", 8, 9), ("text", 0, 7)]
    assert occlude(title, text, [words[0]]) == ("D", text)
    assert occlude(title, text, [words[4]]) == (title, "Vitamin D bone density.")
    assert occlude(title, text, [words[6]]) == (title, "Vitamin D improves bone")
    assert occlude(title, text, words) == ("", "")
    assert model_text("", "x") == "x"


def test_occlusion_saliency_is_the_score_drop_per_word():
    # a transparent scorer: how often the query words occur in the document
    def score(pairs):
        return [sum(d.split().count(w) for w in q.split()) for q, d in pairs]

    base, words = occlusion_saliency(score, "bone density", "Bone", "vitamin bone density bone")
    assert base == 3.0
    assert [w.weight for w in words] == [0.0, 0.0, 1.0, 1.0, 1.0]  # "Bone" (capital) never matched


@pytest.mark.parametrize("kind", ["monot5", "ce"])
def test_reranker_saliency_shape_determinism_and_cache(kind, tiny_t5_dir, tiny_ce_dir, tiny_dir, tmp_path):
    from retrieval.systems import parse_system

    ds = BeirDataset(tiny_dir, "tiny")
    spec, folder = ("monot5:base", tiny_t5_dir) if kind == "monot5" else ("ce:ms-marco-MiniLM-L-6-v2", tiny_ce_dir)
    system = parse_system(spec, model_path=str(folder), device="cpu")
    cache = Cache(tmp_path / "cache")
    query = "vitamin D bone density"
    out = explain_reranker(ds, system, query, "d1", cache=cache)
    doc = ds.corpus["d1"]
    assert isinstance(out, Saliency) and len(out.words) == len(doc.title.split()) + len(doc.text.split())
    assert [w.label for w in out.words] == doc.title.split() + doc.text.split()
    assert all(w.text_of(doc.title, doc.text) == w.label for w in out.words)
    assert np.all(np.isfinite(out.values)) and np.any(out.values != 0)
    scorer = system.scorer(cache)
    assert out.base_score == pytest.approx(float(scorer.score_pairs([(query, model_text(doc.title, doc.text))])[0]), abs=1e-6)
    # deterministic: recomputed directly it gives the same values; from the disk cache too
    _, again = occlusion_saliency(scorer.score_pairs, query, doc.title, doc.text)
    np.testing.assert_allclose([w.weight for w in again], out.values, atol=1e-6, rtol=0)
    sal_mod._MEMO.clear()
    cached = explain_reranker(ds, system, query, "d1", cache=cache)
    assert cached.values.tolist() == out.values.tolist() and cached.words == out.words
    assert len(list(cache.entries("saliency"))) == 1
    frame = out.frame()
    assert list(frame.columns) == ["field", "start", "end", "word", "saliency"] and len(frame) == len(out.words)
    assert [w.weight for w in out.top(3)] == sorted(out.values, reverse=True)[:3]


def test_words_past_the_input_limit_get_exactly_zero(tiny_t5_dir):
    from retrieval.neural.monot5_model import MonoT5Scorer, load_monot5

    model, tok = load_monot5(str(tiny_t5_dir), "cpu", "float32")
    scorer = MonoT5Scorer(model, tok, max_length=48)
    text = " ".join(["vitamin bone density heart risk"] * 20)
    _, words = occlusion_saliency(scorer.score_pairs, "vitamin", "Bone", text)
    values = np.array([w.weight for w in words])
    assert np.all(values[-40:] == 0.0)  # beyond 48 tokens nothing the model sees changes
    assert np.any(values[:10] != 0.0)


def test_only_rerankers(tiny_dir):
    ds = BeirDataset(tiny_dir, "tiny")
    with pytest.raises(UnknownSystem, match="not a reranker"):
        explain_reranker(ds, parse_system("bm25-flat"), "x", "d1")


def test_cli_explains_a_reranker_hit(tiny_t5_dir, tiny_dir, tmp_path, capsys):
    from retrieval.cli import main

    code = main(
        [
            "explain",
            "--dataset",
            str(tiny_dir),
            "--cache-dir",
            str(tmp_path / "c"),
            "--system",
            "monot5:base",
            "--model-path",
            str(tiny_t5_dir),
            "--device",
            "cpu",
            "--qid",
            "q1",
            "--docid",
            "d1",
            "--top",
            "3",
        ]
    )
    out = capsys.readouterr()
    assert code == 0 and "occlusion saliency" in out.out and "score of the whole document" in out.out
    assert "python -m retrieval run" in out.err  # no cached run: it says how to build one


def test_explain_document_dispatches_by_family(tiny_t5_dir, tiny_dir, tmp_path):
    from retrieval.explain import explain_document
    from retrieval.explain.bm25 import BM25Explanation
    from retrieval.systems import parse_system

    ds = BeirDataset(tiny_dir, "tiny")
    cache = Cache(tmp_path / "cache")
    assert isinstance(explain_document(ds, "bm25-flat", "vitamin D bone", "d1", cache=cache), BM25Explanation)
    reranker = parse_system("monot5:base", model_path=str(tiny_t5_dir), device="cpu")
    assert isinstance(explain_document(ds, reranker, "vitamin D bone", "d1", cache=cache), Saliency)
