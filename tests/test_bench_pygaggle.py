"""The pygaggle baselines: pygaggle's batching and padding, and the same scores as our MonoT5Scorer."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.pygaggle_baseline import PATTERN, PygaggleMonoT5  # noqa: E402

PAIRS = [
    ("vitamin d bone", "Vitamin D supplementation improves bone density in older adults."),
    ("vitamin d bone", "Coffee."),
    ("vitamin d bone", "Heart disease risk rises with high blood pressure " * 3),
    ("vitamin d bone", "Sleep deprivation impairs memory consolidation in adults and children."),
    ("vitamin d bone", "A " + "very long document about bone health and vitamin levels " * 80),  # > 512 tokens
    ("coffee heart", "Coffee consumption and the risk of heart disease in a large cohort."),
    ("coffee heart", "Exercise lowers blood pressure."),
    ("vitamin d bone", "Regular exercise lowers blood pressure and improves bone strength."),
    ("vitamin d bone", "true false"),
    ("vitamin d bone", "Bone."),
    ("vitamin d bone", "Vitamin D and bone health: a trial of 1000 patients over 3 years."),
]


@pytest.fixture(scope="module")
def tiny(tiny_t5_dir):
    from bench.tiny_models import tiny_t5

    return tiny_t5(tiny_t5_dir)  # this module's own model object, from the session's folder


def encoder_shapes(model):
    """Record the input shape of every encoder pass."""
    shapes = []
    encoder = model.get_encoder()
    handle = encoder.register_forward_pre_hook(
        lambda mod, args, kwargs: shapes.append(tuple((args[0] if args else kwargs["input_ids"]).shape)), with_kwargs=True
    )
    return shapes, handle


def test_today_batches_of_8_in_given_order_padded_to_longest(tiny):
    model, tokenizer = tiny
    shapes, handle = encoder_shapes(model)
    try:
        scorer = PygaggleMonoT5(model, tokenizer, padding="longest")
        scorer.score_pairs([p for p in PAIRS if p[0] == "vitamin d bone"])
    finally:
        handle.remove()
    docs = [d for q, d in PAIRS if q == "vitamin d bone"]
    lengths = [
        len(tokenizer(PATTERN.format(query="vitamin d bone", document=d), truncation=True, max_length=512)["input_ids"])
        for d in docs
    ]
    assert shapes == [(8, max(lengths[:8])), (len(docs) - 8, max(lengths[8:]))]
    assert max(lengths) == 512  # the long document was truncated


def test_older_form_pads_every_batch_to_512(tiny):
    model, tokenizer = tiny
    shapes, handle = encoder_shapes(model)
    try:
        PygaggleMonoT5(model, tokenizer, padding="max_length").score_pairs(PAIRS[:10])
    finally:
        handle.remove()
    # grouped by query as rescore() is called: 8 pairs of the first query, then the 2 of the second
    assert shapes == [(8, 512), (2, 512)]


def test_both_baselines_and_ours_give_the_same_scores(tiny):
    from retrieval.neural.monot5_model import MonoT5Scorer

    model, tokenizer = tiny
    a = PygaggleMonoT5(model, tokenizer, padding="longest").score_pairs(PAIRS)
    b = PygaggleMonoT5(model, tokenizer, padding="max_length").score_pairs(PAIRS)
    ours = MonoT5Scorer(model, tokenizer, device="cpu", dtype="float32", batch_size=4).score_pairs(PAIRS)
    assert a.dtype == np.float64 and a.shape == (len(PAIRS),)
    assert np.all(a <= 0)
    assert np.max(np.abs(a - b)) < 1e-5
    assert np.max(np.abs(a - ours)) < 1e-5
    assert len(set(np.round(a, 6))) > 3  # scores differ between pairs: the check above is not vacuous


def test_one_end_of_sequence_token_as_pygaggle_feeds(tiny):
    _, tokenizer = tiny
    scorer = PygaggleMonoT5(tiny[0], tokenizer)
    ids = scorer.encode(["Query: a Document: b Relevant:"])["input_ids"][0].tolist()
    eos = tokenizer.eos_token_id
    assert ids[-1] == eos and ids[-2] != eos


def test_unknown_padding_is_refused(tiny):
    with pytest.raises(ValueError, match="padding"):
        PygaggleMonoT5(*tiny, padding="do_not_pad")
