"""monoT5 on CPU: our ``MonoT5Scorer`` against two pygaggle-style baselines, same model and tokenizer.

Model: a random-initialised t5-small (``bench.tiny_models.t5_config("t5-small")``, seed 0), fp32,
with the offline T5-like tokenizer of ``bench.tiny_models``; the three contenders share the
very same objects. Pairs: the first ``queries`` judged queries of SciFact test, each with its BM25-flat
top ``depth`` documents (``retrieval.get_run``), document text as our reranker builds it.

Timing: each query's pairs are one unit of work (pygaggle's ``rescore`` is per query), the contenders
alternate per query in a rotating order after an untimed warm-up; pairs per second is total pairs over
total seconds, and the median of the per-query ratios is reported beside it. Baseline (b) pads every
batch to 512 tokens, so its cost does not depend on the text: ``b_queries`` lets it run on the first
queries only (default: all).
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .common import Row, Section, fmt, median, timed


@dataclass(frozen=True)
class Pairs:
    """(query, document) pairs grouped by query, in BM25 rank order."""

    qids: list[str]
    groups: list[list[tuple[str, str]]]

    @property
    def n(self) -> int:
        return sum(len(g) for g in self.groups)

    def flat(self) -> list[tuple[str, str]]:
        return [p for g in self.groups for p in g]


def document_text(doc) -> str:
    """The document text our reranker scores (``title + " " + text``, retrieval.neural.model_system.doc_text)."""
    from retrieval.neural.model_system import doc_text

    return doc_text(doc)


def load_pairs(
    dataset, cache, *, queries: int = 20, depth: int = 100, split: str = "test", first_stage: str = "bm25-flat"
) -> Pairs:
    """The first ``queries`` judged queries of ``split`` with their ``first_stage`` top ``depth`` documents."""
    from retrieval.runner import get_run

    run = get_run(dataset, split, first_stage, cache=cache, progress=False)
    texts = dataset.split_queries(split)
    qids = [q for q in texts if q in set(run.qids)][:queries]
    groups = []
    for qid in qids:
        docids = run.for_query(qid, depth)["docid"].tolist()
        groups.append([(texts[qid], document_text(dataset.corpus[d])) for d in docids])
    return Pairs(qids, groups)


def build_model(name: str = "t5-small", seed: int = 0):
    """A random-initialised T5 of the named architecture (nothing downloaded), in eval mode."""
    import torch
    from transformers import T5ForConditionalGeneration

    from bench.tiny_models import t5_config

    torch.manual_seed(seed)
    return T5ForConditionalGeneration(t5_config(name)).eval()


def build_tokenizer(folder: str):
    from bench.tiny_models import t5_tokenizer

    return t5_tokenizer(folder)


def score_interleaved(
    contenders: dict[str, Callable[[Sequence[tuple[str, str]]], np.ndarray]], pairs: Pairs, limits: dict[str, int] | None = None
):
    """Per-query seconds and scores of each contender (rotating order; ``limits[name]`` = queries it runs)."""
    limits = limits or {}
    names = list(contenders)
    seconds = {n: [] for n in names}
    scores = {n: [] for n in names}
    for i, group in enumerate(pairs.groups):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            if i >= limits.get(name, len(pairs.groups)):
                continue
            t, s = timed(functools.partial(contenders[name], group))
            seconds[name].append(t)
            scores[name].append(np.asarray(s, dtype=np.float64))
    return seconds, scores


def run(
    dataset,
    *,
    cache,
    queries: int = 20,
    depth: int = 100,
    b_queries: int | None = None,
    batch_size: int | None = None,
    model_name: str = "t5-small",
    bf16: bool = True,
    model=None,
    tokenizer=None,
) -> Section:
    """Pairs/s of ours against pygaggle today (a) and pygaggle padded to 512 (b), and score differences."""
    import torch

    from retrieval.neural.monot5_model import MonoT5Scorer

    from .pygaggle_baseline import PygaggleMonoT5

    section = Section("monoT5 (CPU)")
    started = time.perf_counter()
    pairs = load_pairs(dataset, cache, queries=queries, depth=depth)
    if model is None:
        model = build_model(model_name)
    if tokenizer is None:
        with tempfile.TemporaryDirectory(prefix="bench-t5tok-") as tmp:
            tokenizer = build_tokenizer(tmp)
    kwargs = {"device": "cpu", "dtype": "float32"}
    if batch_size:
        kwargs["batch_size"] = batch_size
    ours = MonoT5Scorer(model, tokenizer, **kwargs)
    pyg_a = PygaggleMonoT5(model, tokenizer, padding="longest")
    pyg_b = PygaggleMonoT5(model, tokenizer, padding="max_length")
    contenders = {"ours": ours.score_pairs, "a": pyg_a.score_pairs, "b": pyg_b.score_pairs}

    warm = pairs.groups[0][:16]
    for fn in contenders.values():  # warm-up, untimed
        fn(warm)
    nb = len(pairs.groups) if b_queries is None else max(1, min(b_queries, len(pairs.groups)))
    seconds, scores = score_interleaved(contenders, pairs, {"b": nb})

    n = pairs.n
    nb_pairs = sum(len(g) for g in pairs.groups[:nb])
    pps = {
        "ours": n / sum(seconds["ours"]),
        "a": n / sum(seconds["a"]),
        "b": nb_pairs / sum(seconds["b"]),
        "ours_b": nb_pairs / sum(seconds["ours"][:nb]),
    }  # ours on the same queries as (b)
    ours_all = np.concatenate(scores["ours"])
    diff_a = float(np.max(np.abs(ours_all - np.concatenate(scores["a"]))))
    diff_b = float(np.max(np.abs(ours_all[:nb_pairs] - np.concatenate(scores["b"]))))
    per_q_a = median([a / o for o, a in zip(seconds["ours"], seconds["a"])])
    per_q_b = median([b / o for o, b in zip(seconds["ours"], seconds["b"])])
    what = f"{len(pairs.qids)} q x top-{depth} = {n:,} pairs"
    section.rows += [
        Row(
            "monot5",
            f"pairs/s vs pygaggle today (a), {what}",
            fmt(pps["ours"]),
            fmt(pps["a"]),
            pps["ours"] / pps["a"],
            "speed-up ours/(a)",
            ">= 2",
            f"median per-query ratio {per_q_a:.2f}",
        ),
        Row(
            "monot5",
            f"pairs/s vs pygaggle pad-512 (b), first {nb} q = {nb_pairs:,} pairs",
            fmt(pps["ours_b"]),
            fmt(pps["b"]),
            pps["ours_b"] / pps["b"],
            "speed-up ours/(b)",
            ">= 2.5",
            f"median per-query ratio {per_q_b:.2f}",
        ),
        Row(
            "monot5",
            "max |score diff| vs (a), fp32",
            f"{diff_a:.2e}",
            "",
            None,
            "log P(true)",
            "< 1e-4",
            "met" if diff_a < 1e-4 else "MISSED",
        ),
        Row(
            "monot5",
            "max |score diff| vs (b), fp32",
            f"{diff_b:.2e}",
            "",
            None,
            "log P(true)",
            "< 1e-4",
            "met" if diff_b < 1e-4 else "MISSED",
        ),
    ]
    section.lines += [
        f"model: random-init {model_name if model_name else 'T5'} "
        f"({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters), fp32, "
        f"torch threads {torch.get_num_threads()}; ours: MonoT5Scorer({_describe(ours)})",
        f"baselines: pygaggle MonoT5 rewritten in bench/pygaggle_baseline.py, batches of 8 in BM25 order; "
        "(a) padding='longest', (b) padding='max_length' (512)"
        f"{'' if nb == len(pairs.groups) else f', on the first {nb} queries'}",
        f"seconds in total: ours {sum(seconds['ours']):.1f}, (a) {sum(seconds['a']):.1f}, (b) {sum(seconds['b']):.1f}; "
        f"tokens per pair (ours' tokenizer, at most 512): {_token_stats(tokenizer, pairs)}",
    ]
    if bf16 and _cpu_has_bf16():
        section.rows.append(_bf16_row(model, tokenizer, pairs, kwargs, ours_all, pps["ours"]))
    section.seconds = time.perf_counter() - started
    return section


def _bf16_row(model, tokenizer, pairs: Pairs, kwargs: dict, fp32_scores: np.ndarray, fp32_pps: float) -> Row:
    """For information: ours in bf16 (this CPU has avx512_bf16) on the first two queries."""
    import copy

    from retrieval.neural.monot5_model import MonoT5Scorer

    sub = Pairs(pairs.qids[:2], pairs.groups[:2])
    scorer = MonoT5Scorer(copy.deepcopy(model), tokenizer, **{**kwargs, "dtype": "bfloat16"})
    scorer.score_pairs(sub.groups[0][:16])
    seconds, scores = score_interleaved({"bf16": scorer.score_pairs}, sub)
    pps = sub.n / sum(seconds["bf16"])
    diff = float(np.max(np.abs(np.concatenate(scores["bf16"]) - fp32_scores[: sub.n])))
    return Row(
        "monot5",
        f"ours bf16 vs ours fp32, {sub.n} pairs (info)",
        fmt(pps),
        fmt(fp32_pps),
        pps / fp32_pps,
        "speed-up bf16/fp32",
        "",
        f"max |score diff| {diff:.1e}: not within 1e-4, so not used above",
    )


def _cpu_has_bf16() -> bool:
    from .common import _cpu_flags

    return "avx512_bf16" in _cpu_flags() or "amx_bf16" in _cpu_flags()


def _describe(scorer) -> str:
    parts = []
    for name in ("batch_size", "batch_tokens", "workers", "max_length", "dtype", "device"):
        if hasattr(scorer, name):
            parts.append(f"{name}={getattr(scorer, name)}")
    if hasattr(scorer, "_encode"):
        parts.append(f"encoder={getattr(scorer._encode, '__name__', scorer._encode)}")
    return ", ".join(parts)


def _token_stats(tokenizer, pairs: Pairs) -> str:
    from .pygaggle_baseline import PATTERN

    texts = [PATTERN.format(query=q, document=d) for q, d in pairs.flat()]
    lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]])
    truncated = int((lengths >= 512).sum())
    return f"mean {lengths.mean():.0f}, median {np.median(lengths):.0f}, max {lengths.max()}, {truncated} truncated"
