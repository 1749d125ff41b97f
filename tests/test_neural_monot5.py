"""monoT5 scoring and reranking on a tiny random T5 (built here, nothing downloaded).

A random model's scores mean nothing: these tests check invariants (log-probabilities, batch and
order invariance, agreement with a pygaggle-style reference computation, reranking only reorders,
cached scores are reused), never the values themselves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.beir import BeirDataset
from retrieval.cache import Cache
from retrieval.neural.monot5_model import MonoT5Scorer, prediction_token_ids
from retrieval.runner import get_run, live_search
from retrieval.systems import parse_system

PAIRS = [
    ("vitamin D bone density", "Vitamin D supplementation improves bone density in older adults."),
    ("coffee heart disease", "Coffee consumption and the risk of heart disease in a large cohort."),
    ("memory and sleep", "Sleep deprivation impairs memory consolidation."),
    ("blood pressure", "Regular exercise lowers blood pressure and improves bone strength. " * 12),
    ("x", "y"),
    ("is it true?", "false claims, 12.5% (n=3)"),
    ("vitamin D bone density", "Heart disease risk rises with high blood pressure."),
]


@pytest.fixture(scope="module")
def tiny(tiny_t5_dir):
    from bench.tiny_models import tiny_t5

    model, tokenizer = tiny_t5(tiny_t5_dir)  # this module's own model object, from the session's folder
    return tiny_t5_dir, model, tokenizer


def conftest_function(request, name: str):
    """A helper from tests/conftest.py (not importable by name under pytest's rootdir conftest loading)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if callable(getattr(plugin, name, None)) and getattr(plugin, "__file__", "").endswith("conftest.py"):
            return getattr(plugin, name)
    raise LookupError(name)


@pytest.fixture(scope="module")
def tiny_ds(request, tmp_path_factory) -> BeirDataset:
    write_tiny_beir = conftest_function(request, "write_tiny_beir")
    return BeirDataset(write_tiny_beir(tmp_path_factory.mktemp("beir")), "tiny")


@pytest.fixture(scope="module")
def shared_cache(tiny_cache) -> Cache:
    """The session's tiny-data cache: its BM25 first stage is built once per session."""
    return tiny_cache


def test_tiny_tokenizer_really_knows_true_and_false(tiny):
    _, _, tok = tiny
    true_id, false_id = prediction_token_ids(tok)
    assert true_id != false_id and tok.unk_token_id not in (true_id, false_id)
    assert tok.convert_ids_to_tokens([true_id, false_id]) == ["▁true", "▁false"]
    assert tok("true", add_special_tokens=False)["input_ids"] == [true_id]


def test_scores_are_log_probabilities(tiny):
    _, model, tok = tiny
    scores = MonoT5Scorer(model, tok).score_pairs(PAIRS)
    assert scores.dtype == np.float64 and scores.shape == (len(PAIRS),)
    assert np.all(scores <= 0) and np.all((np.exp(scores) >= 0) & (np.exp(scores) <= 1))
    assert len(set(np.round(scores, 9))) > 1  # not a constant


def test_scores_do_not_depend_on_batch_size_or_order(tiny):
    _, model, tok = tiny
    ref = MonoT5Scorer(model, tok, batch_size=64).score_pairs(PAIRS)
    for bs in (1, 2, 3):
        np.testing.assert_allclose(MonoT5Scorer(model, tok, batch_size=bs).score_pairs(PAIRS), ref, atol=1e-5, rtol=0)
    perm = np.random.default_rng(1).permutation(len(PAIRS))
    shuffled = MonoT5Scorer(model, tok, batch_size=2).score_pairs([PAIRS[i] for i in perm])
    np.testing.assert_allclose(shuffled, ref[perm], atol=1e-5, rtol=0)


def test_pairs_with_the_same_input_are_scored_once_and_share_the_score(tiny, monkeypatch):
    _, model, tok = tiny
    scorer = MonoT5Scorer(model, tok, batch_size=2, max_length=16)
    long_a = "vitamin d " * 30 + "tail one"
    long_b = "vitamin d " * 30 + "tail two"  # differs only past 16 tokens: the same truncated input
    pairs = [PAIRS[0], ("vitamin", long_a), PAIRS[1], ("vitamin", long_b), PAIRS[0]]
    seen, counted = [], []
    real = MonoT5Scorer._score_batch
    monkeypatch.setattr(MonoT5Scorer, "_score_batch", lambda self, ids, mask: seen.append(len(ids)) or real(self, ids, mask))
    scores = scorer.score_pairs(pairs, on_batch=counted.append)
    assert sum(seen) == 3  # three distinct inputs
    assert scores[1] == scores[3] and scores[0] == scores[4]  # bit for bit
    assert sum(counted) == len(pairs)  # progress counts every pair
    np.testing.assert_allclose(scores[[0, 2]], MonoT5Scorer(model, tok, max_length=16).score_pairs(PAIRS[:2]), atol=1e-5, rtol=0)


def _pygaggle_style(model, tok, pairs, batch=8):
    """Reference: batches of 8 in the given order, padded to the longest, encoder + one decoder step."""
    import torch

    true_id, false_id = prediction_token_ids(tok)
    out = []
    for start in range(0, len(pairs), batch):
        texts = [f"Query: {q} Document: {d} Relevant:" for q, d in pairs[start : start + batch]]
        enc = tok(texts, padding="longest", truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            encoded = model.get_encoder()(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            start_ids = torch.full((len(texts), 1), model.config.decoder_start_token_id, dtype=torch.long)
            logits = model(encoder_outputs=encoded, attention_mask=enc["attention_mask"], decoder_input_ids=start_ids).logits[
                :, -1
            ]
            out.extend(torch.log_softmax(logits[:, [false_id, true_id]], dim=1)[:, 1].tolist())
    return np.array(out)


def test_scores_equal_the_pygaggle_style_computation(tiny):
    _, model, tok = tiny
    pairs = PAIRS * 3
    reference = _pygaggle_style(model, tok, pairs)
    fast = MonoT5Scorer(model, tok, batch_size=5)
    assert fast.fast_decoder  # the direct first decoder step
    np.testing.assert_allclose(fast.score_pairs(pairs), reference, atol=1e-5, rtol=0)
    full = MonoT5Scorer(model, tok, batch_size=5, fast_decoder=False)  # the model's own forward
    np.testing.assert_allclose(full.score_pairs(pairs), reference, atol=1e-5, rtol=0)


def test_long_documents_are_truncated_to_512_tokens(tiny):
    _, model, tok = tiny
    scorer = MonoT5Scorer(model, tok)
    long_doc = "Regular exercise lowers blood pressure. " * 200
    ids = tok(scorer.texts([("q", long_doc)]), truncation=True, max_length=512)["input_ids"][0]
    assert len(ids) == 512 and ids[-1] == tok.eos_token_id
    a, b = scorer.score_pairs([("q", long_doc), ("q", long_doc + " And more text at the end.")])
    assert a == pytest.approx(b, abs=1e-6)  # the tail beyond 512 tokens is cut off in both


def _reranker(folder: Path, **options):
    return parse_system("monot5:base", model_path=str(folder), device="cpu", **options)


def test_rerank_only_reorders_first_stage_candidates(tiny, tiny_ds, shared_cache):
    folder = tiny[0]
    first = get_run(tiny_ds, "test", "bm25-flat", cache=shared_cache, progress=False)
    run = get_run(tiny_ds, "test", _reranker(folder, depth=3), cache=shared_cache, progress=False)
    assert run.qids == first.qids
    for q in first.qids:
        assert set(run.for_query(q)["docid"]) == set(first.for_query(q, 3)["docid"])
    assert (run.frame["score"] <= 0).all()


def test_deeper_rerank_scores_only_new_pairs(tiny, tiny_ds, cache, monkeypatch):
    folder, shared_cache = tiny[0], cache  # a fresh cache: no scores from other tests
    calls: list[int] = []
    original = MonoT5Scorer.score_pairs

    def counting(self, pairs, **kwargs):
        calls.append(len(pairs))
        return original(self, pairs, **kwargs)

    monkeypatch.setattr(MonoT5Scorer, "score_pairs", counting)
    first = get_run(tiny_ds, "test", "bm25-flat", cache=shared_cache, progress=False)
    n = {d: sum(min(d, len(first.for_query(q))) for q in first.qids) for d in (1, 5)}
    assert n[5] > n[1]
    shallow = _reranker(folder, depth=1).retrieve(
        tiny_ds, tiny_ds.split_queries("test"), cache=shared_cache, progress=False, input_runs=[first]
    )
    before = sum(calls)
    deep_system = _reranker(folder, depth=5)
    deep = get_run(tiny_ds, "test", deep_system, cache=shared_cache, progress=False)
    assert before == n[1] and sum(calls) - before == n[5] - n[1]  # only the pairs below depth 1 were new
    for q in shallow.qids:  # the shared pairs kept their cached scores
        s = dict(zip(shallow.for_query(q)["docid"], shallow.for_query(q)["score"]))
        d = dict(zip(deep.for_query(q)["docid"], deep.for_query(q)["score"]))
        assert all(d[k] == s[k] for k in s)
    calls.clear()
    get_run(tiny_ds, "test", deep_system, cache=shared_cache, progress=False)  # the run itself is cached
    live = live_search(tiny_ds, deep_system, tiny_ds.queries["q1"], k=5, cache=shared_cache)  # same text: cached scores
    assert calls == []
    assert list(live.for_query("live")["docid"]) == list(deep.for_query("q1")["docid"])


def test_reranker_key_has_first_stage_and_depth(tiny):
    system = _reranker(tiny[0], depth=7, first_stage="bm25-multifield")
    parts = system.key_parts()
    assert parts["first_stage"] == parse_system("bm25-multifield").key_parts() and parts["depth"] == 7
    assert parts["revision"].startswith("sha256:") and parts["dtype"] == "float32"
    assert _reranker(tiny[0], depth=8).key_parts() != _reranker(tiny[0], depth=7).key_parts()
    assert _reranker(tiny[0], dtype="bfloat16").key_parts()["dtype"] == "bfloat16"


def test_live_query_reranks_a_typed_query(tiny, tiny_ds, shared_cache):
    run = live_search(tiny_ds, _reranker(tiny[0], depth=4), "  does exercise help  blood pressure? ", k=3, cache=shared_cache)
    assert run.qids == ["live"] and len(run) <= 3
    bm25 = live_search(tiny_ds, "bm25-flat", "does exercise help blood pressure?", k=4, cache=shared_cache)
    assert set(run.for_query("live")["docid"]) <= set(bm25.for_query("live")["docid"])
    assert list(run.for_query("live")["rank"]) == list(range(1, len(run) + 1))


def test_onednn_linear_path_equals_the_plain_path(tiny):
    from retrieval.neural import cpu_kernels

    _, model, tok = tiny
    pairs = PAIRS * 2
    plain = MonoT5Scorer(model, tok, onednn=False).score_pairs(pairs)
    fast = MonoT5Scorer(model, tok)
    if not cpu_kernels.onednn_available():
        pytest.skip("torch.ops.mkldnn._linear_pointwise is not available in this torch build")
    assert fast.onednn  # on by default on CPU float32
    with cpu_kernels.onednn_linear(model) as switched:
        assert switched == sum(type(m).__name__ == "Linear" for m in model.modules()) > 0
    assert all("forward" not in m.__dict__ for m in model.modules())  # switched back after the block
    np.testing.assert_allclose(fast.score_pairs(pairs), plain, atol=1e-5, rtol=0)


def test_missing_onednn_op_falls_back_to_the_plain_path(tiny, monkeypatch):
    import torch

    from retrieval.neural import cpu_kernels

    _, model, tok = tiny
    reference = MonoT5Scorer(model, tok, onednn=False).score_pairs(PAIRS)
    cpu_kernels.onednn_available.cache_clear()
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    try:
        assert not cpu_kernels.onednn_available()
        scorer = MonoT5Scorer(model, tok, onednn=True)  # asked for, but not there: plain path, no error
        assert scorer.onednn is False
        with cpu_kernels.onednn_linear(model) as switched:
            assert switched == 0
        np.testing.assert_allclose(scorer.score_pairs(PAIRS), reference, atol=0, rtol=0)
    finally:
        cpu_kernels.onednn_available.cache_clear()


def test_token_budget_batches_keep_scores_and_cap_padding(tiny):
    from retrieval.neural.batching import token_batches

    _, model, tok = tiny
    pairs = PAIRS * 3
    reference = MonoT5Scorer(model, tok, batch_size=1, onednn=False).score_pairs(pairs)
    for budget in (1, 40, 300, 10_000):
        got = MonoT5Scorer(model, tok, batch_tokens=budget, onednn=False).score_pairs(pairs)
        np.testing.assert_allclose(got, reference, atol=1e-5, rtol=0)
    lengths = [9, 1, 4, 4, 7, 2, 30]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches = token_batches(lengths, order, max_tokens=12, max_rows=3)
    assert [i for b in batches for i in b] == order  # every item once, order kept
    assert batches[0] == [6]  # longer than the budget: alone
    assert all(len(b) <= 3 and (len(b) == 1 or len(b) * lengths[b[0]] <= 12) for b in batches)


def test_restructured_encoder_equals_the_transformers_forward(tiny):
    import torch

    from retrieval.neural.monot5_model import attention_bias, t5_encoder_forward

    _, model, tok = tiny
    texts = MonoT5Scorer(model, tok).texts(PAIRS)
    enc = tok(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    assert (enc["attention_mask"] == 0).any()  # the batch really has padding
    encoder = model.get_encoder()
    with torch.inference_mode():
        reference = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        ours = t5_encoder_forward(encoder, enc["input_ids"], enc["attention_mask"])
        bias = attention_bias(encoder, enc["attention_mask"], torch.float32)
    real = enc["attention_mask"].bool()
    assert float((ours - reference)[real].abs().max()) < 1e-5
    assert bias.shape[-1] == enc["input_ids"].shape[1] and bias.stride(-2) % 16 == 0  # rows padded for the fused kernel
    scorer = MonoT5Scorer(model, tok, onednn=False)
    assert scorer.fast_encoder
    np.testing.assert_allclose(
        scorer.score_pairs(PAIRS),
        MonoT5Scorer(model, tok, onednn=False, fast_encoder=False).score_pairs(PAIRS),
        atol=1e-5,
        rtol=0,
    )


def test_bfloat16_scores_stay_near_float32(tiny):
    import copy

    _, model, tok = tiny
    fp32 = MonoT5Scorer(model, tok).score_pairs(PAIRS * 2)
    bf16 = MonoT5Scorer(copy.deepcopy(model), tok, dtype="bfloat16").score_pairs(PAIRS * 2)
    assert np.max(np.abs(bf16 - fp32)) < 5e-2  # bf16 has 8 bits of mantissa: ~1e-2 on log-probabilities


# Run in a child process with oneDNN capped at AVX2 (``ONEDNN_MAX_CPU_ISA``), so every machine tests the fallback an
# AVX2-only CPU takes: oneDNN refuses bfloat16 there ("could not create a primitive descriptor").
_AVX2_CHILD = """
import sys, numpy as np
from bench.tiny_models import tiny_t5
from retrieval.neural import cpu_kernels
from retrieval.neural.monot5_model import MonoT5Scorer, t5_encoder_forward
model, tok = tiny_t5(sys.argv[1])
pairs = [(q, d) for q, d in {pairs!r}] * 2
fp32 = MonoT5Scorer(model, tok).score_pairs(pairs)
scorer = MonoT5Scorer(model, tok, dtype="bfloat16")
bf16 = scorer.score_pairs(pairs)
print(cpu_kernels.onednn_available("float32"), cpu_kernels.onednn_available("bfloat16"), scorer.onednn,
      scorer._encode is t5_encoder_forward, float(np.max(np.abs(bf16 - fp32))))
"""


def test_bfloat16_falls_back_where_onednn_cannot_run_it(tiny):
    """On an AVX2-only CPU (simulated everywhere by capping oneDNN's instruction set) bfloat16 scoring takes the plain
    PyTorch path instead of crashing in oneDNN, and stays near float32; float32 keeps its oneDNN path."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.run(
        [sys.executable, "-c", _AVX2_CHILD.format(pairs=PAIRS), str(tiny[0])],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    fp32_op, bf16_op, scorer_onednn, plain_encoder, gap = child.stdout.split()
    assert bf16_op == "False" and scorer_onednn == "False" and plain_encoder == "True"
    assert fp32_op == "True"  # float32's oneDNN inner product needs only AVX2
    assert float(gap) < 5e-2


def test_bfloat16_takes_the_fused_onednn_encoder_where_the_cpu_has_it(tiny):
    import copy

    from retrieval.neural import cpu_kernels
    from retrieval.neural.monot5_model import t5_encoder_forward_onednn

    if not cpu_kernels.onednn_available("bfloat16"):
        pytest.skip("oneDNN's bfloat16 inner product needs AVX-512 or AMX; this CPU has neither (see /proc/cpuinfo)")
    _, model, tok = tiny
    scorer = MonoT5Scorer(copy.deepcopy(model), tok, dtype="bfloat16")
    assert scorer.onednn and scorer._encode is t5_encoder_forward_onednn


def test_a_dtype_the_cpu_cannot_run_is_refused_in_one_line(tiny, monkeypatch):
    import copy

    import torch

    from retrieval.errors import RetrievalError
    from retrieval.neural import cpu_kernels

    real_linear = torch.nn.functional.linear

    def no_half(x, w, b=None):
        if x.dtype is torch.float16:
            raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'Half'\nmore detail")
        return real_linear(x, w, b)

    cpu_kernels.cpu_dtype_error.cache_clear()
    monkeypatch.setattr(torch.nn.functional, "linear", no_half)
    try:
        assert cpu_kernels.cpu_dtype_error("float32") is None
        _, model, tok = tiny
        with pytest.raises(RetrievalError) as err:
            MonoT5Scorer(copy.deepcopy(model), tok, dtype="float16")
        message = str(err.value)
        assert "\n" not in message and "float16 does not run on this CPU" in message and "--dtype float32" in message
    finally:
        cpu_kernels.cpu_dtype_error.cache_clear()


def test_fused_cpu_encoder_equals_the_transformers_forward(tiny):
    """The CPU encoder with oneDNN post-ops (ReLU in the matmul, residual adds in the output projections, one
    rms_norm call per norm) gives transformers' encoder output and the plain path's scores."""
    import torch

    from retrieval.neural import cpu_kernels
    from retrieval.neural.monot5_model import t5_encoder_forward, t5_encoder_forward_onednn

    if not cpu_kernels.onednn_available():
        pytest.skip("torch.ops.mkldnn._linear_pointwise is not available in this torch build")
    _, model, tok = tiny
    scorer = MonoT5Scorer(model, tok, workers=1)
    assert scorer._encode is not t5_encoder_forward  # float32 takes t5_encoder_forward_cpu; this path serves bfloat16
    scorer._encode = t5_encoder_forward_onednn
    texts = scorer.texts(PAIRS)
    enc = tok(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    assert (enc["attention_mask"] == 0).any()
    encoder = model.get_encoder()
    with torch.inference_mode():
        reference = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        fused = t5_encoder_forward_onednn(encoder, enc["input_ids"], enc["attention_mask"])
    real = enc["attention_mask"].bool()
    assert float((fused - reference)[real].abs().max()) < 1e-5
    assert float(reference[real].abs().max()) > 1e-2  # not a degenerate comparison of zeros
    full = tok([texts[3]] * 3, truncation=True, max_length=512, return_tensors="pt")  # a batch without padding
    with torch.inference_mode():
        reference = encoder(input_ids=full["input_ids"], attention_mask=full["attention_mask"]).last_hidden_state
        fused = t5_encoder_forward_onednn(encoder, full["input_ids"], full["attention_mask"])
    assert bool(full["attention_mask"].all()) and float((fused - reference).abs().max()) < 1e-5
    pairs = PAIRS * 3
    plain = MonoT5Scorer(model, tok, onednn=False, fast_encoder=False, fast_decoder=False).score_pairs(pairs)
    np.testing.assert_allclose(scorer.score_pairs(pairs), plain, atol=1e-5, rtol=0)
    scorer = MonoT5Scorer(model, tok, batch_size=2, workers=1)
    scorer._encode = t5_encoder_forward_onednn
    np.testing.assert_allclose(scorer.score_pairs(pairs), plain, atol=1e-5, rtol=0)


def test_cpu_encoder_equals_the_transformers_forward(tiny):
    """The float32 CPU encoder (buffers, in-place residual matmuls, attention per sequence over its own tokens) gives
    transformers' encoder output on every real position, finite padding rows, and the plain path's scores."""
    import torch

    from retrieval.neural.monot5_model import position_bias, sequence_attention, t5_encoder_forward_cpu

    _, model, tok = tiny
    assert MonoT5Scorer(model, tok)._encode is t5_encoder_forward_cpu  # the default on CPU float32 for monoT5's layout
    assert MonoT5Scorer(model, tok, onednn=False)._encode is t5_encoder_forward_cpu  # no oneDNN op needed
    encoder = model.get_encoder()
    texts = MonoT5Scorer(model, tok).texts(PAIRS)
    enc = tok(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    real = enc["attention_mask"].bool()
    assert not bool(real.all()) and len(set(real.sum(1).tolist())) > 2  # several lengths, really padded
    full = tok([texts[3]] * 3, truncation=True, max_length=512, return_tensors="pt")
    with torch.inference_mode():
        for batch in (enc, full):
            reference = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            ours = t5_encoder_forward_cpu(encoder, batch["input_ids"], batch["attention_mask"])
            mask = batch["attention_mask"].bool()
            assert float((ours - reference)[mask].abs().max()) < 1e-5
            assert float(reference[mask].abs().max()) > 1e-2 and bool(torch.isfinite(ours).all())
        # attention alone, against SDPA with transformers' additive mask over the padded batch
        length, heads, inner = enc["input_ids"].shape[1], model.config.num_heads, model.config.num_heads * model.config.d_kv
        q, k, v = (torch.randn(len(texts), length, inner) for _ in range(3))
        bias = position_bias(encoder, length, torch.float32)
        out = torch.full((len(texts), length, inner), 7.0)
        sequence_attention(q, k, v, bias, real.sum(1).tolist(), heads, out)
        split = [t.view(len(texts), length, heads, -1).transpose(1, 2) for t in (q, k, v)]
        masked = bias.masked_fill(~real[:, None, None, :], torch.finfo(torch.float32).min)
        expected = torch.nn.functional.scaled_dot_product_attention(*split, attn_mask=masked, scale=1.0)
        expected = expected.transpose(1, 2).reshape(len(texts), length, inner)
        assert float((out - expected)[real].abs().max()) < 1e-5
        assert bool((out[~real] == 7.0).all())  # padding rows left as they were
        left = enc["attention_mask"].flip(1)  # left padding: refused, not silently wrong
        with pytest.raises(ValueError, match="right padding"):
            t5_encoder_forward_cpu(encoder, enc["input_ids"], left)
    pairs = PAIRS * 3
    plain = MonoT5Scorer(model, tok, onednn=False, fast_encoder=False, fast_decoder=False).score_pairs(pairs)
    for scorer in (MonoT5Scorer(model, tok), MonoT5Scorer(model, tok, batch_size=2, workers=2)):
        np.testing.assert_allclose(scorer.score_pairs(pairs), plain, atol=1e-5, rtol=0)
    np.testing.assert_allclose(plain, _pygaggle_style(model, tok, pairs), atol=1e-5, rtol=0)


def test_fused_cpu_encoder_only_takes_the_relu_t5_layout(tiny):
    """A gated feed-forward T5 (v1.1 / Flan-T5) or mixed weight dtypes keep the plain path, with the same scores."""
    import copy

    import torch
    from transformers import T5ForConditionalGeneration

    from bench.tiny_models import t5_config
    from retrieval.neural import cpu_kernels
    from retrieval.neural.monot5_model import t5_encoder_forward

    _, model, tok = tiny
    assert cpu_kernels.t5_fused_layout(model.get_encoder(), torch.float32)
    assert not cpu_kernels.t5_fused_layout(model.get_encoder(), torch.float16)
    mixed = copy.deepcopy(model)
    mixed.get_encoder().block[0].layer[-1].DenseReluDense.wo.to(torch.bfloat16)
    assert not cpu_kernels.t5_fused_layout(mixed.get_encoder(), torch.float32)
    torch.manual_seed(0)
    shape = dict(vocab_size=model.config.vocab_size, d_model=32, d_ff=64, d_kv=8, num_heads=4, num_layers=2)
    gated = T5ForConditionalGeneration(t5_config("small", feed_forward_proj="gated-gelu", **shape)).eval()
    assert hasattr(gated.get_encoder().block[0].layer[-1].DenseReluDense, "wi_0")  # really the gated layout
    assert not cpu_kernels.t5_fused_layout(gated.get_encoder(), torch.float32)
    scorer = MonoT5Scorer(gated, tok)
    assert scorer._encode is t5_encoder_forward
    reference = _pygaggle_style(gated, tok, PAIRS)
    np.testing.assert_allclose(scorer.score_pairs(PAIRS), reference, atol=1e-5, rtol=0)


def test_threaded_batches_equal_one_batch_at_a_time(tiny, monkeypatch):
    """On CPU, batches are scored by one thread each (``workers``): same scores in input order as one batch at a time
    and as the pygaggle-style reference, PyTorch's thread count put back, and a failing batch stops the run cleanly."""
    import torch

    _, model, tok = tiny
    pairs = PAIRS * 4
    reference = _pygaggle_style(model, tok, pairs)
    serial = MonoT5Scorer(model, tok, batch_tokens=60, workers=1)
    threaded = MonoT5Scorer(model, tok, batch_tokens=60, workers=2)
    assert serial._worker_count(10) == 1 and threaded._worker_count(10) == 2 and threaded._worker_count(1) == 1
    assert MonoT5Scorer(model, tok)._worker_count(10) == min(10, torch.get_num_threads())  # default: one per thread
    threads = torch.get_num_threads()
    names = []
    real_score = MonoT5Scorer._score_batch

    def record(self, input_ids, mask):
        names.append(__import__("threading").current_thread().name)
        return real_score(self, input_ids, mask)

    monkeypatch.setattr(MonoT5Scorer, "_score_batch", record)
    counted = []
    got = threaded.score_pairs(pairs, on_batch=counted.append)
    assert len(counted) > 2 and sum(counted) == len(pairs)  # really several batches
    assert set(names) <= {f"monot5_{i}" for i in range(2)} and names  # scored in the worker threads
    assert torch.get_num_threads() == threads
    np.testing.assert_allclose(got, serial.score_pairs(pairs), atol=1e-6, rtol=0)
    np.testing.assert_allclose(got, reference, atol=1e-5, rtol=0)

    calls = []

    def fail_third(self, input_ids, mask):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("batch failed")
        return real_score(self, input_ids, mask)

    monkeypatch.setattr(MonoT5Scorer, "_score_batch", fail_third)
    with pytest.raises(RuntimeError, match="batch failed"):
        threaded.score_pairs(pairs)
    assert torch.get_num_threads() == threads
    assert all("forward" not in m.__dict__ for m in model.modules())  # the oneDNN switch is undone
