"""monoT5 relevance scores, as pygaggle's ``MonoT5`` computes them, but faster.

Input ``Query: {q} Document: {d} Relevant:`` plus the end-of-sequence token, truncated to 512
tokens (pygaggle appends ``</s>`` to the text and lets the tokenizer truncate the whole input;
tokenising without the literal ``</s>`` with a tokenizer that appends it gives the same ids).
Score = log-softmax over the logits of ``▁false`` and ``▁true`` at the first decoder step, taken
for ``true``. One encoder pass and one decoder step per batch; no ``generate()``.

Speed-ups over pygaggle's batches of 8 in the given order: pairs are tokenised once, sorted by
token length (longest first) and cut into larger batches padded only to their own longest
member, run under ``torch.inference_mode`` with SDPA attention. The single decoder step is
computed directly (``fast_decoder``, on by default for float32/bfloat16): self-attention over
one position is the identity on its value, and cross-attention folds the query into the key
projection (``(q Wk) H^T``) and applies the value projection after the weighted sum, which saves
the two ``L x d x d`` projections of the encoder states per decoder layer; only the ``false`` and
``true`` rows of the output projection are computed. Same mathematics, different rounding
(differences ~1e-6). Scores return in input order.

The encoder runs through :func:`t5_encoder_forward` (``fast_encoder``, on by default for float32/bfloat16):
transformers' own T5 layers and weights, but the relative position bias and the padding mask are combined once
per batch in the compute dtype (not in every layer), and attention is one ``scaled_dot_product_attention``
call per layer with that bias, laid out for the fused memory-efficient kernel on CUDA (the GPU profile of
2026-11-27 found transformers' T5 path in SDPA's unfused float32 math fallback). ``compile="default"`` or
``"reduce-overhead"`` (CUDA graphs) wraps it in ``torch.compile``; off by default. On CPU the linear layers
run on oneDNN (:mod:`retrieval.neural.cpu_kernels`); a ReLU T5 (monoT5's layout) runs through
:func:`t5_encoder_forward_cpu` in float32 (buffers made once per batch, residual additions inside the matmuls,
attention per sequence over its own tokens) and :func:`t5_encoder_forward_onednn` in bfloat16; batches are cut
by a token budget (:mod:`retrieval.neural.batching`) and scored one per thread, several at a time (``workers``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .batching import token_batches
from .device import dtype_name, resolve_device, resolve_dtype, torch_dtype

TEMPLATE = "Query: {query} Document: {document} Relevant:"
# Padded tokens per batch. CPU: about 4 SciFact-length pairs per batch, one batch per thread at a time (A/B on 5
# SciFact queries x 100 with 2 threads: 1,500 >= 2,500 > 5,000 tokens; more, smaller batches also even out the
# threads' last batches); CUDA: about 100 such pairs (the GPU profile found no gain from larger batches).
DEFAULT_BATCH_TOKENS_CPU = 1_500
DEFAULT_BATCH_TOKENS_CUDA = 32_768
TOKEN_TRUE = "▁true"
TOKEN_FALSE = "▁false"


def prediction_token_ids(tokenizer: Any, token_true: str = TOKEN_TRUE, token_false: str = TOKEN_FALSE) -> tuple[int, int]:
    """(id of ``true``, id of ``false``); raises ValueError if the tokenizer lacks them as single pieces."""
    vocab = tokenizer.get_vocab()
    ids = []
    for piece in (token_true, token_false):
        if piece in vocab:
            ids.append(int(vocab[piece]))
            continue
        enc = tokenizer(piece.lstrip("▁"), add_special_tokens=False)["input_ids"]
        if len(enc) != 1 or enc[0] == getattr(tokenizer, "unk_token_id", None):
            raise ValueError(f"the tokenizer does not know {piece!r} as a single token (got ids {enc}); not a monoT5 tokenizer")
        ids.append(int(enc[0]))
    if ids[0] == ids[1]:
        raise ValueError(f"the tokenizer maps true and false to the same id {ids[0]}")
    return ids[0], ids[1]


class MonoT5Scorer:
    """Score (query, document) pairs with a monoT5 model.

    The model is moved to ``device``/``dtype`` in place (default: where it is, as it is; a given
    device without a dtype gets that device's default: CPU float32, CUDA bfloat16). Pass a copy
    to keep the original. Batches are cut from the length-sorted pairs by a token budget: at most
    ``batch_tokens`` padded tokens (default 1,500 on CPU, 32,768 on CUDA) and at most ``batch_size`` pairs
    (default 64 on CPU, 256 on CUDA); ``score_pairs(batch_size=N)`` forces N pairs per batch instead.
    ``onednn`` (default: on where available, CPU float32/bfloat16) runs the linear layers on oneDNN
    (:mod:`retrieval.neural.cpu_kernels`; same fp32 results up to summation order); the float32 CPU encoder of a
    monoT5-layout model (:func:`t5_encoder_forward_cpu`) uses BLAS calls with in-place residuals instead.
    ``workers`` (CPU; default ``torch.get_num_threads()``) batches are scored at the same time, each by one thread.

    Example:
        >>> scorer = MonoT5Scorer.from_pretrained("castorini/monot5-base-msmarco-10k")  # doctest: +SKIP
        >>> scorer.score_pairs([("vitamin d", "Vitamin D improves bone density.")])  # doctest: +SKIP
        array([-0.08...])
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        max_length: int = 512,
        template: str = TEMPLATE,
        fast_decoder: bool = True,
        batch_tokens: int | None = None,
        onednn: bool | None = None,
        fast_encoder: bool = True,
        compile: str | bool | None = None,
        workers: int | None = None,
    ) -> None:
        import torch

        from .cpu_kernels import check_cpu_dtype, onednn_available

        current = next(model.parameters())
        self.device = resolve_device(device) if device else str(current.device)
        if dtype:
            self.dtype = resolve_dtype(dtype, self.device, t5=True)
        elif device and self.device != str(current.device):
            self.dtype = resolve_dtype(None, self.device, t5=True)
        else:
            self.dtype = dtype_name(current.dtype)
        if self.device == "cpu":
            check_cpu_dtype(self.dtype)  # one clear line, before a kernel deep in the model refuses
        self.model = model.to(device=self.device, dtype=torch_dtype(self.dtype)).eval()
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.template = template
        cuda = self.device.startswith("cuda")
        self.batch_size = int(batch_size or (256 if cuda else 64))
        self.batch_tokens = int(batch_tokens or (DEFAULT_BATCH_TOKENS_CUDA if cuda else DEFAULT_BATCH_TOKENS_CPU))
        can_onednn = self.device == "cpu" and onednn_available(self.dtype)  # bfloat16 needs AVX-512 or AMX
        self.onednn = can_onednn if onednn is None else bool(onednn) and can_onednn
        self.workers = None if workers is None else max(1, int(workers))
        self.true_id, self.false_id = prediction_token_ids(tokenizer)
        cfg = model.config
        start = getattr(cfg, "decoder_start_token_id", None)
        self.decoder_start_id = int(start if start is not None else (cfg.pad_token_id or 0))
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self.fast_decoder = bool(fast_decoder) and self.dtype != "float16" and _has_t5_layout(model)
        self.fast_encoder = bool(fast_encoder) and self.dtype != "float16" and _has_t5_layout(model)
        self._encode = t5_encoder_forward
        if self.fast_encoder and self.device == "cpu":
            from .cpu_kernels import t5_fused_layout

            if t5_fused_layout(self.model.get_encoder(), torch_dtype(self.dtype)):
                if self.dtype == "float32":
                    self._encode = t5_encoder_forward_cpu
                elif self.onednn:
                    self._encode = t5_encoder_forward_onednn
        self.compile = None if compile in (None, False, "", "none") else ("default" if compile is True else str(compile))
        if self.compile and self.fast_encoder:  # optional: fewer kernel launches; "reduce-overhead" adds CUDA graphs
            import torch

            self._encode = torch.compile(t5_encoder_forward, mode=self.compile, dynamic=True)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        max_length: int = 512,
        model_path: str | Path | None = None,
        revision: str | None = None,
        cache: Any = None,
    ) -> MonoT5Scorer:
        """Load from a local folder, or by registry id / Hugging Face id through the loading order."""
        from . import weights

        path, _ = weights.model_folder(name_or_path, "monot5", model_path=model_path, revision=revision, cache=cache)
        dev = resolve_device(device)
        dt = resolve_dtype(dtype, dev, t5=True)
        model, tokenizer = load_monot5(str(path), dev, dt)
        return cls(model, tokenizer, device=dev, dtype=dt, batch_size=batch_size, max_length=max_length)

    def texts(self, pairs: Sequence[tuple[str, str]]) -> list[str]:
        return [self.template.format(query=q, document=d) for q, d in pairs]

    def score_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        batch_size: int | None = None,
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """float64 log P(true) per pair, in input order (all <= 0).

        Pairs whose model input is the same (after tokenisation and truncation) are scored once and share that
        score bit for bit. A pair's score may otherwise differ in the last bits with the batch it falls in
        (batch shapes change the kernels' blocking); occlusion saliency relies on this sharing: a word past the
        input limit leaves the input as it was and must get exactly 0.
        """
        pairs = list(pairs)
        out = np.zeros(len(pairs), dtype=np.float64)
        if not pairs:
            return out
        ids = self.tokenizer(self.texts(pairs), truncation=True, max_length=self.max_length, add_special_tokens=True)["input_ids"]
        first: dict[tuple[int, ...], int] = {}
        source = [first.setdefault(tuple(x), i) for i, x in enumerate(ids)]  # the first pair with the same input
        repeats = len(pairs) - len(first)
        lengths = [len(x) for x in ids]
        order = sorted(first.values(), key=lambda i: -lengths[i])
        if batch_size:  # an explicit pair count per batch (no token budget)
            batches = [order[s : s + int(batch_size)] for s in range(0, len(order), int(batch_size))]
        else:
            batches = token_batches(lengths, order, max_tokens=self.batch_tokens, max_rows=self.batch_size)
        from tqdm.auto import tqdm

        from .cpu_kernels import onednn_linear

        workers = self._worker_count(len(batches))
        with (
            onednn_linear(self.model, self.onednn),
            tqdm(total=len(pairs), desc="monoT5", unit="pair", disable=not progress, file=sys.stderr, mininterval=1.0) as bar,
        ):
            if workers > 1:
                done = self._run_batches_threaded(ids, batches, workers)
            else:
                done = (self._run_batch(ids, idx) for idx in batches)
            with contextlib.closing(done):  # on an error, the workers stop before the kernels are switched back
                for idx, scores in done:
                    out[idx] = scores
                    bar.update(len(idx))
                    if on_batch:
                        on_batch(len(idx))
            if repeats:  # progress counts pairs, repeats included
                bar.update(repeats)
                if on_batch:
                    on_batch(repeats)
        return out[np.asarray(source)] if repeats else out

    def _worker_count(self, batches: int) -> int:
        """Batches scored at the same time: on CPU one per intra-op thread (``workers``, default
        ``torch.get_num_threads()``), never more than there are batches; elsewhere one."""
        import torch

        if self.device != "cpu" or batches < 2:
            return 1
        return max(1, min(batches, self.workers if self.workers is not None else torch.get_num_threads()))

    def _run_batch(self, ids: list[list[int]], idx: list[int]):
        import torch

        with torch.inference_mode():
            input_ids, mask = self._pad([ids[i] for i in idx])
            return idx, self._score_batch(input_ids, mask)

    def _run_batches_threaded(self, ids: list[list[int]], batches: list[list[int]], workers: int):
        """``(idx, scores)`` per batch, in batch order, from ``workers`` threads that each score whole batches with
        one intra-op thread.

        On CPU this beats one batch at a time on all threads: each core runs its own matmuls, attention and norms
        from start to end, with no barrier between the threads after every operation and its activations in its own
        cache (measured by ``bench/monot5_bench.py``). Each batch is computed exactly as alone (one thread: the
        same operations, summation order up to the kernels' blocking). PyTorch's thread count is a process-wide
        setting that its worker threads copy when they start: it is set to 1 in the workers and put back here
        when the batches are done.
        """
        import concurrent.futures

        import torch

        threads = torch.get_num_threads()

        def one_thread() -> None:
            torch.set_num_threads(1)

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monot5", initializer=one_thread)
        try:
            futures = [pool.submit(self._run_batch, ids, idx) for idx in batches]
            for future in futures:
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            torch.set_num_threads(threads)

    def _pad(self, rows: list[list[int]]):
        """(input_ids, attention_mask) on the device, padded on the right to the longest row."""
        import torch

        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, r in enumerate(rows):
            input_ids[row, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[row, : len(r)] = 1
        if self.device.startswith("cuda"):
            return input_ids.pin_memory().to(self.device, non_blocking=True), mask.pin_memory().to(self.device, non_blocking=True)
        return input_ids.to(self.device), mask.to(self.device)

    def _score_batch(self, input_ids, attention_mask) -> np.ndarray:
        import torch

        if self.fast_decoder:
            if self.fast_encoder:
                encoded = self._encode(self.model.get_encoder(), input_ids, attention_mask)
            else:
                encoded = self.model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            pair = self._first_step_logits(encoded, attention_mask).float()
        else:
            start = torch.full((input_ids.shape[0], 1), self.decoder_start_id, dtype=torch.long, device=self.device)
            logits = self.model(
                input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=start, use_cache=False
            ).logits[:, -1, :]
            pair = logits[:, [self.false_id, self.true_id]].float()
        return torch.log_softmax(pair, dim=1)[:, 1].double().cpu().numpy()

    def _first_step_logits(self, encoded, attention_mask):
        """Logits of (false, true) at the first decoder step, from the encoder states ``encoded`` (B, L, d)."""
        import torch

        model, cfg = self.model, self.model.config
        batch = encoded.shape[0]
        decoder = model.get_decoder()
        x = decoder.embed_tokens(torch.full((batch, 1), self.decoder_start_id, dtype=torch.long, device=encoded.device))
        masked = (attention_mask == 0)[:, None, :]  # (B, 1, L): padding positions
        for block in decoder.block:
            self_attn = block.layer[0]
            x = x + self_attn.SelfAttention.o(self_attn.SelfAttention.v(self_attn.layer_norm(x)))  # softmax over one key = 1
            cross = block.layer[1]
            att = cross.EncDecAttention
            heads, d_kv = att.n_heads, att.key_value_proj_dim
            q = att.q(cross.layer_norm(x)).view(batch, heads, d_kv)
            qk = torch.einsum("bhj,hjd->bhd", q, att.k.weight.view(heads, d_kv, -1))  # query folded into W_k
            scores = torch.einsum("bhd,bld->bhl", qk, encoded)  # T5: no 1/sqrt(d) scaling, no cross-attention bias
            weights = torch.softmax(scores.masked_fill(masked, float("-inf")).float(), dim=-1).to(encoded.dtype)
            context = torch.einsum("bhl,bld->bhd", weights, encoded)
            values = torch.einsum("bhd,hjd->bhj", context, att.v.weight.view(heads, d_kv, -1)).reshape(batch, 1, heads * d_kv)
            x = x + att.o(values)
            x = block.layer[-1](x)  # feed-forward with its own norm and residual
        x = decoder.final_layer_norm(x)[:, 0]
        if getattr(cfg, "scale_decoder_outputs", getattr(cfg, "tie_word_embeddings", True)):
            x = x * (cfg.d_model**-0.5)
        rows = model.lm_head.weight[[self.false_id, self.true_id]]
        out = x @ rows.T
        bias = getattr(model.lm_head, "bias", None)
        return out + bias[[self.false_id, self.true_id]] if bias is not None else out


def attention_bias(encoder: Any, attention_mask, dtype, *, align: int = 16):
    """T5's relative position bias plus the padding mask, once per batch: ``(B, heads, L, L)`` in ``dtype``.

    Transformers adds the padding mask to the bias inside every layer (a ``where`` and dtype copies per layer);
    here it is built once and shared by all layers. Its rows are allocated ``align`` elements wide and sliced
    back to ``L``, so the last dimension's stride meets the fused (memory-efficient) SDPA kernel's alignment and
    SDPA does not pad a copy of it in every layer. Padding keys get the dtype's most negative value (as in
    transformers); padding is on the right, so every query row keeps at least one real key.
    """
    import torch

    batch, length = attention_mask.shape
    first = encoder.block[0].layer[0].SelfAttention
    bias = first.compute_bias(length, length, device=attention_mask.device)  # (1, h, L, L)
    full = _aligned_empty(batch, bias.shape[1], length, dtype, attention_mask.device, align)
    padding = (attention_mask == 0)[:, None, None, :]
    torch.where(
        padding, torch.tensor(torch.finfo(dtype).min, dtype=dtype, device=attention_mask.device), bias.to(dtype), out=full
    )
    return full


def t5_encoder_forward(encoder: Any, input_ids, attention_mask):
    """The T5 encoder's last hidden state (``encoder(...).last_hidden_state``), restructured for speed.

    Same weights and the same mathematics as transformers' ``T5Stack`` in eval mode: embeddings, per block
    pre-norm self-attention (no 1/sqrt(d) scaling, relative position bias from the first block) and the
    feed-forward layer with residuals, final norm. Differences: the bias (+ padding mask) is built once per
    batch (:func:`attention_bias`) in the compute dtype; attention is one ``scaled_dot_product_attention``
    call on contiguous ``(B, heads, L, d_kv)`` inputs with that bias, so on CUDA the fused memory-efficient
    kernel can run in bf16 instead of the float32 math fallback; no dropout, no attention weights kept.
    float16 (whose T5 activations need transformers' clamping) is not handled here.
    """
    import torch

    x = encoder.embed_tokens(input_ids)
    batch, length = input_ids.shape
    bias = attention_bias(encoder, attention_mask, x.dtype)
    for block in encoder.block:
        layer = block.layer[0]
        att = layer.SelfAttention
        heads, d_kv = att.n_heads, att.key_value_proj_dim
        h = layer.layer_norm(x)
        q, k, v = (proj(h).view(batch, length, heads, d_kv).transpose(1, 2) for proj in (att.q, att.k, att.v))
        context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
        x = x + att.o(context.transpose(1, 2).reshape(batch, length, heads * d_kv))
        x = block.layer[-1](x)  # feed-forward with its own norm and residual
    return encoder.final_layer_norm(x)


def _rms_norm(x, width, weight, eps):
    """T5's RMS norm ``weight * x / sqrt(mean(x^2) + eps)`` with one reduction pass (``vector_norm``) and one
    multiplication pass plus an in-place one (``rms_norm`` on CPU makes separate pow, mean and two mul passes)."""
    import torch

    return torch.mul(x, _rms_scale(x, width[0], eps)).to(x.dtype).mul_(weight)


def _rms_scale(x, width, eps):
    """``1 / sqrt(mean(x^2) + eps)`` over the last dimension (``width`` long), in float32 as T5 does."""
    import torch

    scale = torch.linalg.vector_norm(x, dim=-1, keepdim=True, dtype=torch.float32)
    return torch.rsqrt(scale.square_().div_(width).add_(eps))


def t5_encoder_forward_onednn(encoder: Any, input_ids, attention_mask):
    """:func:`t5_encoder_forward` for CPU with fewer passes over the activations (T5 v1.0 / monoT5 layout only).

    Same weights, same mathematics, same attention (the bias built once per batch, one SDPA call per layer); the
    differences are where the element-wise work happens: each RMS norm reads its input once for the reduction
    (:func:`_rms_norm`, T5's formula ``w * x / sqrt(mean(x^2) + eps)``), the feed-forward ReLU runs as the post-op
    of the first feed-forward matmul and both residual additions as post-ops of the output projections
    (:mod:`retrieval.neural.cpu_kernels`), so the layer has no separate ReLU and add passes and no ``nn.Module``
    calls; a batch without padding (e.g. all documents truncated to 512 tokens) passes the ``(1, heads, L, L)``
    position bias for SDPA to broadcast instead of building the ``(B, heads, L, L)`` bias-plus-mask tensor.
    Needs the oneDNN op (:func:`~retrieval.neural.cpu_kernels.onednn_available`) and the layout
    :func:`~retrieval.neural.cpu_kernels.t5_fused_layout` accepts; ``MonoT5Scorer`` checks both.
    """
    import torch

    from .cpu_kernels import linear, linear_add

    rms_norm = _rms_norm
    x = encoder.embed_tokens(input_ids)
    batch, length = input_ids.shape
    width = (x.shape[-1],)
    if bool(attention_mask.all()):  # no padding (e.g. truncated documents): (1, heads, L, L), broadcast
        bias = encoder.block[0].layer[0].SelfAttention.compute_bias(length, length, device=x.device).to(x.dtype)
    else:
        bias = attention_bias(encoder, attention_mask, x.dtype)
    for block in encoder.block:
        layer, ff = block.layer[0], block.layer[-1]
        att, dense = layer.SelfAttention, ff.DenseReluDense
        heads, d_kv = att.n_heads, att.key_value_proj_dim
        h = rms_norm(x, width, layer.layer_norm.weight, layer.layer_norm.variance_epsilon)
        q, k, v = (linear(h, proj.weight).view(batch, length, heads, d_kv).transpose(1, 2) for proj in (att.q, att.k, att.v))
        context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
        x = linear_add(context.transpose(1, 2).reshape(batch, length, heads * d_kv), att.o.weight, x)
        h = rms_norm(x, width, ff.layer_norm.weight, ff.layer_norm.variance_epsilon)
        x = linear_add(linear(h, dense.wi.weight, "relu"), dense.wo.weight, x)
    final = encoder.final_layer_norm
    return rms_norm(x, width, final.weight, final.variance_epsilon)


def position_bias(encoder: Any, length: int, dtype, *, align: int = 16):
    """T5's relative position bias for one sequence of ``length`` tokens: ``(1, heads, length, length)`` in ``dtype``,
    rows allocated ``align`` elements wide (see :func:`attention_bias`). Its top-left ``l x l`` block is the bias of a
    sequence of ``l`` tokens (the bias depends only on the distance between positions)."""

    first = encoder.block[0].layer[0].SelfAttention
    bias = first.compute_bias(length, length, device=encoder.embed_tokens.weight.device)
    return _aligned_empty(1, bias.shape[1], length, dtype, bias.device, align).copy_(bias)


def _aligned_empty(batch: int, heads: int, length: int, dtype, device, align: int):
    """An uninitialised ``(batch, heads, length, length)`` tensor whose rows are allocated ``align`` elements wide."""
    import torch

    width = -(-length // align) * align
    return torch.empty((batch, heads, length, width), dtype=dtype, device=device)[..., :length]


def _rms_norm_into(x, weight, eps, out):
    """:func:`_rms_norm` (float32) written into ``out``: ``weight * x / sqrt(mean(x^2) + eps)``."""
    import torch

    return torch.mul(x, _rms_scale(x, x.shape[-1], eps), out=out).mul_(weight)


def sequence_attention(q, k, v, bias, lengths: Sequence[int], heads: int, out):
    """Self-attention of each sequence over its own tokens only: ``q``, ``k``, ``v`` are ``(B, L, heads * d_kv)``,
    sequence ``b`` has its ``lengths[b]`` real tokens first (padding on the right), ``bias`` is the
    ``(1, heads, L, L)`` position bias (:func:`position_bias`); the context of sequence ``b`` is written to
    ``out[b, :l]`` (``(B, L, heads * d_kv)``), its padding rows are left as they are.

    Padding keys take no part (no mask: the keys are cut at ``l``), which is what transformers' additive mask of
    the dtype's minimum gives (``exp`` of it is 0); padding queries are not computed. Each call gets contiguous
    ``(1, heads, l, d_kv)`` inputs and the unexpanded bias block; no ``(B, heads, L, L)`` mask tensor is built.
    (Single-thread A/B of PyTorch's CPU flash kernel: contiguous per-sequence inputs 1.1-1.8x faster than the
    batched call on strided inputs with a bias-plus-mask tensor for 360-512 tokens, slower for 200; inside the
    buffered encoder, +12% end to end in one interleaved run of 5 queries x 100 pairs.)
    """
    import torch

    d_kv = q.shape[-1] // heads
    sdpa = torch.nn.functional.scaled_dot_product_attention
    for b, length in enumerate(lengths):
        qb, kb, vb = (t[b, :length].view(1, length, heads, d_kv).transpose(1, 2).contiguous() for t in (q, k, v))
        context = sdpa(qb, kb, vb, attn_mask=bias[:, :, :length, :length], scale=1.0)  # T5: no 1/sqrt(d) scaling
        out[b, :length].view(length, heads, d_kv).copy_(context[0].transpose(0, 1))
    return out


def t5_encoder_forward_cpu(encoder: Any, input_ids, attention_mask):
    """:func:`t5_encoder_forward` for one CPU thread in float32 (T5 v1.0 / monoT5 layout, right padding only).

    Same weights and mathematics as transformers' ``T5Stack`` in eval mode; what differs is where the work and
    the memory go:

    * activations live in buffers made once per batch (normed input, q, k, v, context, feed-forward) and the
      residual stream is updated in place: ``x += h W^T`` is one BLAS call (``addmm_``, the addition inside the
      matmul), the ReLU runs in place; no new tensor per layer, so no fresh pages for the kernel to fault in;
    * attention is computed per sequence over its real tokens only (:func:`sequence_attention`), with the
      ``(1, heads, L, L)`` position bias shared by all sequences and layers: no bias-plus-mask tensor.

    Rows past a sequence's length (padding) hold finite values that no real position reads. Raises ValueError
    for a mask that is not ones-then-zeros per row. ``MonoT5Scorer`` uses it on CPU in float32 where
    :func:`~retrieval.neural.cpu_kernels.t5_fused_layout` accepts the encoder (A/B against
    :func:`t5_encoder_forward_onednn`, both one batch per thread: ``bench/monot5_ab_quick.py``).
    """
    import torch

    batch, length = input_ids.shape
    lengths = attention_mask.sum(dim=1)
    if not bool((attention_mask.bool() == (torch.arange(length, device=lengths.device) < lengths[:, None])).all()):
        raise ValueError("t5_encoder_forward_cpu needs right padding: each attention_mask row must be ones, then zeros")
    x = encoder.embed_tokens(input_ids)
    rows, d_model = batch * length, x.shape[-1]
    x2 = x.view(rows, d_model)  # the residual stream, updated in place
    first = encoder.block[0]
    heads, inner = first.layer[0].SelfAttention.n_heads, first.layer[0].SelfAttention.inner_dim
    bias = position_bias(encoder, length, x.dtype)
    h = torch.empty((rows, d_model), dtype=x.dtype)
    q, k, v = (torch.empty((batch, length, inner), dtype=x.dtype) for _ in range(3))
    context = torch.zeros((batch, length, inner), dtype=x.dtype)  # padding rows stay 0
    hidden = torch.empty((rows, first.layer[-1].DenseReluDense.wi.weight.shape[0]), dtype=x.dtype)
    lengths = lengths.tolist()
    for block in encoder.block:
        layer, ff = block.layer[0], block.layer[-1]
        att, dense = layer.SelfAttention, ff.DenseReluDense
        _rms_norm_into(x2, layer.layer_norm.weight, layer.layer_norm.variance_epsilon, h)
        for out, proj in ((q, att.q), (k, att.k), (v, att.v)):
            torch.mm(h, proj.weight.t(), out=out.view(rows, inner))
        sequence_attention(q, k, v, bias, lengths, heads, context)
        x2.addmm_(context.view(rows, inner), att.o.weight.t())
        _rms_norm_into(x2, ff.layer_norm.weight, ff.layer_norm.variance_epsilon, h)
        torch.mm(h, dense.wi.weight.t(), out=hidden).relu_()
        x2.addmm_(hidden, dense.wo.weight.t())
    final = encoder.final_layer_norm
    return _rms_norm_into(x2, final.weight, final.variance_epsilon, h).view(batch, length, d_model)


def _has_t5_layout(model: Any) -> bool:
    """Whether ``model`` looks like transformers' T5ForConditionalGeneration (for the direct decoder step)."""
    try:
        block = model.get_decoder().block[0]
        att = block.layer[1].EncDecAttention
        return (
            type(model).__name__ == "T5ForConditionalGeneration"
            and len(block.layer) == 3
            and not att.has_relative_attention_bias
            and hasattr(model.get_decoder(), "final_layer_norm")
        )
    except (AttributeError, IndexError, TypeError):
        return False


def load_monot5(path: str, device: str, dtype: str) -> tuple[Any, Any]:
    """(model, tokenizer) from a local folder: safetensors only, no remote code, SDPA attention; memoised."""
    from . import weights

    def load() -> tuple[Any, Any]:
        from transformers import AutoTokenizer, T5ForConditionalGeneration

        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
        model = (
            T5ForConditionalGeneration.from_pretrained(
                path,
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch_dtype(dtype),
                attn_implementation="sdpa",
            )
            .to(device)
            .eval()
        )
        return model, tokenizer

    return weights.loaded(("monot5", path, device, dtype), load)
