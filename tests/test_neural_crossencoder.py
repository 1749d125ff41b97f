"""The MiniLM cross-encoder path on a tiny random BERT built here (tokenizer from the offline MiniLM package)."""

from __future__ import annotations

import numpy as np

from retrieval.beir import BeirDataset
from retrieval.neural.crossencoder_model import CrossEncoderScorer
from retrieval.runner import get_run
from retrieval.systems import parse_system


def test_cross_encoder_scores_are_batch_and_order_invariant(tiny_ce_dir):
    scorer = CrossEncoderScorer.from_pretrained(tiny_ce_dir, device="cpu", batch_size=2)
    pairs = [("vitamin d", "bone density and vitamin D " * k) for k in range(1, 7)] + [("coffee", "heart")]
    ref = CrossEncoderScorer(scorer.model, batch_size=64).score_pairs(pairs)
    assert ref.dtype == np.float64 and len(set(np.round(ref, 9))) > 1
    np.testing.assert_allclose(scorer.score_pairs(pairs[::-1])[::-1], ref, atol=1e-5, rtol=0)
    direct = scorer.model.predict(pairs, activation_fn=__import__("torch").nn.Identity())  # what sentence-transformers gives
    np.testing.assert_allclose(ref, np.asarray(direct, dtype=np.float64).ravel(), atol=1e-5, rtol=0)


def test_cross_encoder_reranks_first_stage(tiny_ce_dir, tiny_dir, tiny_cache):
    ds, cache = BeirDataset(tiny_dir, "tiny"), tiny_cache
    system = parse_system("ce:ms-marco-MiniLM-L-6-v2", model_path=str(tiny_ce_dir), depth=4, device="cpu")
    assert system.availability()[0] and system.spec == "ce:ms-marco-MiniLM-L-6-v2?depth=4"
    first = get_run(ds, "test", "bm25-flat", cache=cache, progress=False)
    run = get_run(ds, "test", system, cache=cache, progress=False)
    for q in first.qids:
        assert set(run.for_query(q)["docid"]) == set(first.for_query(q, 4)["docid"])
    assert system.key_parts()["score"] == "logit"
