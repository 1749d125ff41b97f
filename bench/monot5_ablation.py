"""What makes monoT5 faster on this CPU: one change at a time, same pairs, same model, scores compared.

Not part of the default run (``python -m bench --only monot5-ablation``). Each variant is a plain scoring
loop written here (encoder pass + one decoder step, log-softmax over ``[false, true]``, as pygaggle), so
the effect of each technique is measured apart from any one implementation:

* ``sorted``: pairs ordered by token length before batching (less padding), original order restored;
* ``bs``: batch size;
* ``onednn``: fp32 ``nn.Linear`` on oneDNN instead of MKL (:mod:`bench.cpu_kernels`);
* ``threads``: torch intra-op threads;
* ``bf16``: weights and activations in bfloat16 (for information: scores move by ~1e-2).

Rows named ``MonoT5Scorer ...`` run the real ``retrieval.neural.monot5_model.MonoT5Scorer`` with the same switches
applied from outside, which is what a change inside it would give.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from .common import Row, Section, fmt, median
from .cpu_kernels import onednn_linear
from .monot5_bench import build_model, build_tokenizer, load_pairs, score_interleaved
from .pygaggle_baseline import PATTERN, PygaggleMonoT5


@dataclass(frozen=True)
class Variant:
    name: str
    sort: bool = True
    batch_size: int = 32
    onednn: bool = False
    threads: int | None = None
    bf16: bool = False
    scorer: bool = False  # the real MonoT5Scorer instead of the loop here


VARIANTS = (
    Variant("sorted, batch 8", batch_size=8),
    Variant("sorted, batch 32", batch_size=32),
    Variant("sorted, batch 32, oneDNN linear", onednn=True),
    Variant("sorted, batch 32, bf16 (info)", bf16=True),
    Variant("MonoT5Scorer default (token budget, oneDNN)", scorer=True),
    Variant("MonoT5Scorer, batch 16, plain", batch_size=16, scorer=True),
    Variant("MonoT5Scorer, batch 32", batch_size=32, scorer=True),
    Variant("MonoT5Scorer, batch 16, oneDNN linear", batch_size=16, onednn=True, scorer=True),
    Variant("MonoT5Scorer, batch 32, oneDNN linear", batch_size=32, onednn=True, scorer=True),
    Variant("MonoT5Scorer, batch 16, oneDNN linear, 1 thread", batch_size=16, onednn=True, threads=1, scorer=True),
)


class SwitchedScorer:
    """The real MonoT5Scorer with a variant's batch size, kernels and threads applied from outside."""

    def __init__(self, model, tokenizer, variant: Variant) -> None:
        from retrieval.neural.monot5_model import MonoT5Scorer

        if variant.name.startswith("MonoT5Scorer default"):  # its own defaults: token budget, oneDNN where available
            self.inner = MonoT5Scorer(model, tokenizer, device="cpu", dtype="float32")
        else:  # a fixed pair count per batch, oneDNN only when the variant asks (the switches below)
            self.inner = MonoT5Scorer(
                model, tokenizer, device="cpu", dtype="float32", batch_size=variant.batch_size, batch_tokens=1 << 30, onednn=False
            )
        self.variant = variant

    def score_pairs(self, pairs) -> np.ndarray:
        import torch

        old_threads = torch.get_num_threads()
        if self.variant.threads:
            torch.set_num_threads(self.variant.threads)
        kernels = onednn_linear(self.inner.model) if self.variant.onednn else contextlib.nullcontext()
        try:
            with kernels:
                return self.inner.score_pairs(pairs)
        finally:
            torch.set_num_threads(old_threads)


class ProbeScorer:
    """A minimal monoT5 scoring loop with switchable techniques."""

    def __init__(self, model, tokenizer, variant: Variant) -> None:
        import torch

        self.model = model.to(torch.bfloat16) if variant.bf16 else model
        self.tokenizer = tokenizer
        self.variant = variant
        vocab = tokenizer.get_vocab()
        self.ids = [vocab["▁false"], vocab["▁true"]]

    def score_pairs(self, pairs) -> np.ndarray:
        import torch

        v = self.variant
        texts = [PATTERN.format(query=q, document=d) for q, d in pairs]
        enc = self.tokenizer(texts, truncation=True, max_length=512)["input_ids"]
        order = sorted(range(len(enc)), key=lambda i: -len(enc[i])) if v.sort else list(range(len(enc)))
        out = np.empty(len(enc), dtype=np.float64)
        old_threads = torch.get_num_threads()
        if v.threads:
            torch.set_num_threads(v.threads)
        kernels = onednn_linear(self.model) if v.onednn else contextlib.nullcontext()
        try:
            with torch.inference_mode(), kernels:
                for start in range(0, len(order), v.batch_size):
                    idx = order[start : start + v.batch_size]
                    width = max(len(enc[i]) for i in idx)
                    ids = torch.zeros((len(idx), width), dtype=torch.long)
                    mask = torch.zeros((len(idx), width), dtype=torch.long)
                    for row, i in enumerate(idx):
                        ids[row, : len(enc[i])] = torch.tensor(enc[i])
                        mask[row, : len(enc[i])] = 1
                    states = self.model.get_encoder()(input_ids=ids, attention_mask=mask)
                    start_ids = torch.full((len(idx), 1), self.model.config.decoder_start_token_id, dtype=torch.long)
                    logits = self.model(encoder_outputs=states, attention_mask=mask, decoder_input_ids=start_ids).logits[
                        :, -1, self.ids
                    ]
                    scores = torch.log_softmax(logits.float(), dim=-1)[:, 1]
                    out[idx] = scores.double().numpy()
        finally:
            torch.set_num_threads(old_threads)
        return out


def run(dataset, *, cache, queries: int = 2, depth: int = 100, variants=VARIANTS) -> Section:
    """Each variant against pygaggle today (a) on ``queries`` x ``depth`` pairs."""
    import copy

    section = Section("monoT5 ablation (CPU)")
    started = time.perf_counter()
    pairs = load_pairs(dataset, cache, queries=queries, depth=depth)
    model = build_model("t5-small")
    with tempfile.TemporaryDirectory(prefix="bench-t5tok-") as tmp:
        tokenizer = build_tokenizer(tmp)
    contenders = {"(a)": PygaggleMonoT5(model, tokenizer).score_pairs}
    for v in variants:
        impl = SwitchedScorer if v.scorer else ProbeScorer
        contenders[v.name] = impl(copy.deepcopy(model) if v.bf16 else model, tokenizer, v).score_pairs
    warm = pairs.groups[0][:16]
    for fn in contenders.values():
        fn(warm)
    seconds, scores = score_interleaved(contenders, pairs)
    base_pps = pairs.n / sum(seconds["(a)"])
    base_scores = np.concatenate(scores["(a)"])
    for name in contenders:
        if name == "(a)":
            continue
        pps = pairs.n / sum(seconds[name])
        diff = float(np.max(np.abs(np.concatenate(scores[name]) - base_scores)))
        per_q = median([a / o for a, o in zip(seconds["(a)"], seconds[name])])
        section.rows.append(
            Row(
                "monot5-ablation",
                name,
                fmt(pps),
                fmt(base_pps),
                pps / base_pps,
                "speed-up over (a)",
                note=f"max |score diff| {diff:.1e}; median per-query ratio {per_q:.2f}",
            )
        )
    section.lines.append(
        f"{pairs.n} pairs ({len(pairs.qids)} queries x top-{depth}), random-init t5-small, pairs/s; "
        "rows without MonoT5Scorer in the name use bench/monot5_ablation.py's own loop"
    )
    section.seconds = time.perf_counter() - started
    return section
