"""Where the time goes when the real all-MiniLM-L6-v2 encodes SciFact on a GPU (the issue-10 row that misses).

    RETRIEVAL_MODEL_DIR=... BEIR_DATA_DIR=... python bench/gpu_minilm_profile.py [--copies 8]

Times, each the median of 3 after a warm-up, over SciFact's corpus repeated ``--copies`` times:
tokenisation alone (``SentenceTransformer.preprocess`` in our batches), the model alone over those batches
already tokenised (copied to the card and run, synchronised at the end), ``encode_documents`` end to end with
the sentence-transformers backend at two batch sizes, and the transformers backend (token-budget batches);
then the top operators of one ``encode_documents`` under ``torch.profiler``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--device", default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only (a smoke run)")
    args = parser.parse_args(argv)

    import numpy as np
    import tokenizers
    import torch

    from bench.gpu_bench import scifact_folder, sync, time_it
    from retrieval.beir import BeirDataset
    from retrieval.neural import weights
    from retrieval.neural.dense_model import DenseEncoder
    from retrieval.neural.model_system import doc_text

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.startswith("cuda")
    dtype = "bfloat16" if cuda else "float32"
    folder = scifact_folder()
    dataset = BeirDataset(folder, "scifact")
    texts = [doc_text(doc) for doc in list(dataset.corpus.values())[: args.limit]] * args.copies
    path, _ = weights.model_folder("all-MiniLM-L6-v2", "dense")

    def timed(fn):
        return time_it(fn, device, 3)

    rows = []

    def row(name, seconds, note=""):
        rows.append((name, seconds, len(texts) / seconds, note))
        print(f"{name}: {seconds:.3f} s", file=sys.stderr, flush=True)

    st_enc = DenseEncoder.from_pretrained(str(path), device=device, dtype=dtype, batch_size=256)
    st = st_enc.model
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [order[s : s + 256] for s in range(0, len(order), 256)]
    t_tok, feats = timed(lambda: [st.preprocess([texts[i] for i in b]) for b in batches])
    row("tokenise only (ST preprocess, batches of 256)", t_tok)
    t_tok1, _ = timed(lambda: st.tokenizer([texts[i] for i in order], truncation=True, max_length=st.max_seq_length))
    row("tokenise only (one tokenizer call, no padding)", t_tok1)
    pinned = [{k: v.pin_memory() if cuda else v for k, v in f.items() if isinstance(v, torch.Tensor)} for f in feats]

    def forward_only():
        with torch.inference_mode():
            return [st({k: v.to(device, non_blocking=cuda) for k, v in f.items()})["sentence_embedding"] for f in pinned]

    t_fwd, _ = timed(forward_only)
    row(
        "model only (pre-tokenised, pinned, batches of 256)",
        t_fwd,
        f"{sum(int(f['attention_mask'].numel()) for f in feats):,} padded tokens",
    )
    t_ids, _ = timed(lambda: st_enc._token_ids([texts[i] for i in order]))
    row("token ids only (our call into the fast tokenizer's Rust core)", t_ids)
    t_st, e_st = timed(lambda: st_enc.encode_documents(texts))
    row("encode_documents (ours: own tokenising, token-sorted batches of 256)", t_st)
    st_enc._st_plain = lambda: False  # the path before: SentenceTransformer.preprocess per batch
    t_old, e_old = timed(lambda: st_enc.encode_documents(texts))
    cos_old = float(np.min(np.sum(e_old.astype(np.float64) * e_st, axis=1)))
    row("encode_documents, path before (ST preprocess, batches of 256)", t_old, f"min cosine vs ours {cos_old:.5f}")
    del st_enc._st_plain
    t_bare, _ = timed(lambda: st.encode(texts, batch_size=256, normalize_embeddings=True))
    row("bare SentenceTransformer.encode, batch 256", t_bare)
    st_enc.batch_size = 1024
    t_st4, _ = timed(lambda: st_enc.encode_documents(texts))
    row("encode_documents (ours), batch 1024", t_st4)
    st_enc.batch_size = 256

    hf = st[0].auto_model
    tr_enc = DenseEncoder(
        hf,
        tokenizer=st.tokenizer,
        pooling="mean",
        normalize=True,
        max_length=st.max_seq_length,
        batch_size=1024,
        batch_tokens=65536,
        device=device,
    )
    t_tr, e_tr = timed(lambda: tr_enc.encode_documents(texts))
    cos = float(np.min(np.sum(e_tr.astype(np.float64) * e_st, axis=1)))
    row("encode_documents, transformers backend, token budget 65,536", t_tr, f"min cosine vs ours {cos:.5f}")

    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        st_enc.encode_documents(texts)
        sync(device)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=12, max_name_column_width=60)

    print(
        f"# all-MiniLM-L6-v2 on {device} ({torch.cuda.get_device_name(0) if cuda else 'cpu'}), {dtype}, "
        f"SciFact corpus x{args.copies} = {len(texts):,} documents, torch {torch.__version__}, "
        f"tokenizers {tokenizers.__version__}, {os.cpu_count()} CPUs, "
        f"TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM')!r}\n"
    )
    print("| step | seconds | docs/s | note |\n|---|---:|---:|---|")
    for name, s, rate, note in rows:
        print(f"| {name} | {s:.3f} | {rate:,.0f} | {note} |")
    print("\n## torch.profiler, one encode_documents (ours, batch 256)\n\n```")
    print(table)
    print("```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
