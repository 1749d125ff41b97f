"""GPU correctness check: the dense and monoT5 code paths on CUDA agree with the CPU path.

Random-initialised real architectures built from hand-written configs (t5-base for monoT5, a
BERT-base-sized encoder with mean pooling for dense), a tokenizer trained here, generated pairs
of realistic length: nothing is downloaded, no dataset is needed, sentence-transformers and
pyserini are not used. Prints one compact table; exit status 0 when every row passes.

    python bench/gpu_check.py            # about a minute on one H100 (most of it on the CPU side)

Correctness only; speed is bench/gpu_bench.py's job.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

FP32_ATOL = 1e-4  # CUDA fp32 vs CPU fp32 (TF32 off)
BF16_MIN_SPEARMAN = 0.90


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    n = len(a)
    s = 0
    for i in range(n):
        s += int(np.sum(np.sign(a[i] - a[i + 1 :]) * np.sign(b[i] - b[i + 1 :])))
    return 2.0 * s / (n * (n - 1))


def topk_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    k = min(k, len(a))
    return len(set(np.argsort(-a)[:k]) & set(np.argsort(-b)[:k])) / k


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    from bench.tiny_models import _WORDS

    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        q = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
        d = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(80, 420)))
        pairs.append((q, d.capitalize() + "."))
    return pairs


def row(table: list, name: str, ok: bool, **cols) -> None:
    table.append((name, "PASS" if ok else "FAIL", cols))
    print(f"  {name:<34} {'PASS' if ok else 'FAIL'}  " + "  ".join(f"{k}={v}" for k, v in cols.items()), flush=True)


def check_monot5(tok, pairs, table, batch_size: int, device: str) -> None:
    import torch
    from transformers import T5ForConditionalGeneration

    from bench.tiny_models import t5_config
    from retrieval.neural.monot5_model import MonoT5Scorer

    torch.manual_seed(0)
    model = T5ForConditionalGeneration(t5_config("base")).eval()
    lengths = [len(x) for x in tok(MonoT5Scorer(model, tok).texts(pairs), truncation=True, max_length=512)["input_ids"]]
    print(
        f"monoT5 t5-base (random init, seed 0), {len(pairs)} pairs, tokens min/mean/max "
        f"{min(lengths)}/{np.mean(lengths):.0f}/{max(lengths)}",
        flush=True,
    )
    t = time.time()
    cpu = MonoT5Scorer(copy.deepcopy(model), tok, device="cpu", dtype="float32", batch_size=16).score_pairs(pairs)
    print(f"  cpu fp32 scored in {time.time() - t:.1f} s; score mean {cpu.mean():.4f} std {cpu.std():.2e}", flush=True)
    assert np.all(cpu <= 0)
    for dtype in ("float32", "bfloat16"):
        t = time.time()
        gpu = MonoT5Scorer(copy.deepcopy(model), tok, device=device, dtype=dtype, batch_size=batch_size).score_pairs(pairs)
        secs = time.time() - t
        diff = float(np.max(np.abs(gpu - cpu)))
        rho, tau, top = spearman(cpu, gpu), kendall(cpu, gpu), topk_overlap(cpu, gpu)
        ok = diff < FP32_ATOL if dtype == "float32" else rho >= BF16_MIN_SPEARMAN
        ok = ok and bool(np.all(gpu <= 0))
        row(
            table,
            f"monoT5 {device} {dtype} vs cpu fp32",
            ok,
            max_abs_diff=f"{diff:.2e}",
            diff_over_std=f"{diff / max(cpu.std(), 1e-12):.3f}",
            spearman=f"{rho:.4f}",
            kendall=f"{tau:.4f}",
            top10=f"{top:.2f}",
            secs=f"{secs:.1f}",
        )
    direct = MonoT5Scorer(copy.deepcopy(model), tok, device=device, dtype="float32", batch_size=batch_size).score_pairs(
        pairs[:16]
    )
    forward = MonoT5Scorer(
        copy.deepcopy(model), tok, device=device, dtype="float32", batch_size=batch_size, fast_decoder=False, fast_encoder=False
    ).score_pairs(pairs[:16])
    row(
        table,
        f"monoT5 {device} fp32 restructured encoder + direct step vs transformers forward",
        float(np.max(np.abs(direct - forward))) < 1e-5,
        max_abs_diff=f"{float(np.max(np.abs(direct - forward))):.2e}",
    )
    if device.startswith("cuda"):  # bf16: our encoder (fused SDPA, bias once per batch) vs transformers' encoder, same dtype
        ours16 = MonoT5Scorer(copy.deepcopy(model), tok, device=device, dtype="bfloat16", batch_size=batch_size).score_pairs(
            pairs
        )
        theirs16 = MonoT5Scorer(
            copy.deepcopy(model), tok, device=device, dtype="bfloat16", batch_size=batch_size, fast_encoder=False
        ).score_pairs(pairs)
        rho = spearman(theirs16, ours16)
        row(
            table,
            f"monoT5 {device} bf16 restructured encoder vs transformers encoder",
            rho >= BF16_MIN_SPEARMAN,
            max_abs_diff=f"{float(np.max(np.abs(ours16 - theirs16))):.2e}",
            spearman=f"{rho:.4f}",
        )
    bs1 = MonoT5Scorer(copy.deepcopy(model), tok, device=device, dtype="float32", batch_size=1).score_pairs(pairs[:16])
    full = MonoT5Scorer(copy.deepcopy(model), tok, device=device, dtype="float32", batch_size=batch_size).score_pairs(pairs[:16])
    row(
        table,
        f"monoT5 {device} fp32 batch 1 vs batched",
        float(np.max(np.abs(bs1 - full))) < 1e-5,
        max_abs_diff=f"{float(np.max(np.abs(bs1 - full))):.2e}",
    )


def check_dense(tok, pairs, table, device: str) -> None:
    import torch
    from transformers import BertConfig, BertModel

    from retrieval.neural.dense_model import DenseEncoder
    from retrieval.neural.device import torch_dtype
    from retrieval.neural.vector_search import exact_search

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=32128,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    docs = [d for _, d in pairs]
    queries = [q for q, _ in pairs[:16]]
    print(
        f"dense BERT-base-sized encoder (random init, mean pooling, normalised), {len(docs)} documents, {len(queries)} queries",
        flush=True,
    )

    def encoder(device: str, dtype):
        m = copy.deepcopy(model).to(device=device, dtype=dtype)
        return DenseEncoder(m, tokenizer=tok, pooling="mean", normalize=True, max_length=512, batch_size=16, device=device)

    cpu = encoder("cpu", torch_dtype("float32"))
    cpu_docs, cpu_q = cpu.encode_documents(docs), cpu.encode_queries(queries)
    cpu_scores, cpu_idx = exact_search(cpu_q, cpu_docs.astype(np.float16), 10, device="cpu")
    for name in ("float32", "bfloat16"):  # the names MonoT5Scorer and DenseEncoder take; torch_dtype is the one table
        gpu = encoder(device, torch_dtype(name))
        g_docs, g_q = gpu.encode_documents(docs), gpu.encode_queries(queries)
        diff = float(np.max(np.abs(g_docs - cpu_docs)))
        cos = float(np.min(np.sum(g_docs * cpu_docs, axis=1)))
        g_scores, g_idx = exact_search(g_q, g_docs.astype(np.float16), 10, device=device)
        top = float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(g_idx, cpu_idx)]))
        ok = diff < FP32_ATOL if name == "float32" else cos > 0.99
        row(
            table,
            f"dense {device} {name} vs cpu fp32",
            ok,
            max_abs_diff=f"{diff:.2e}",
            min_cosine=f"{cos:.5f}",
            top10=f"{top:.2f}",
        )
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((200_000 if device.startswith("cuda") else 20_000, 768)).astype(np.float16)
    qs = rng.standard_normal((64, 768)).astype(np.float32)
    s_cpu, i_cpu = exact_search(qs, corpus, 100, device="cpu")
    s_gpu, i_gpu = exact_search(qs, corpus, 100, device=device)
    same = float(np.mean([len(set(a) & set(b)) / 100 for a, b in zip(i_cpu, i_gpu)]))
    row(
        table,
        f"exact_search {device} vs cpu ({len(corpus):,} x 768)",
        same >= 0.99 and float(np.max(np.abs(s_cpu - s_gpu))) < 1e-2,
        top100_overlap=f"{same:.4f}",
        max_score_diff=f"{float(np.max(np.abs(s_cpu - s_gpu))):.2e}",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cuda", help="the side compared with CPU fp32 (cpu only to dry-run this script)")
    args = ap.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: this check needs a GPU", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    import transformers

    where = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "no GPU (dry run)"
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {where}, CPU threads {torch.get_num_threads()}",
        flush=True,
    )
    started = time.time()
    from bench.tiny_models import t5_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tok = t5_tokenizer(tmp, use_scifact=False)
    pairs = make_pairs(args.pairs)
    table: list = []
    check_monot5(tok, pairs, table, args.batch_size, args.device)
    check_dense(tok, pairs, table, args.device)
    failed = [r for r in table if r[1] != "PASS"]
    print(f"\n{len(table) - len(failed)} passed, {len(failed)} failed  ({time.time() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
