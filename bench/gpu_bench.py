"""GPU benchmark: monoT5 (ours in bf16 vs pygaggle today in fp32) at t5-base and t5-3b size, dense encoding.

Run on a machine with a CUDA GPU, from the repository root (nothing is downloaded; models are built from
config with random weights, so only speed is measured, never quality):

    python bench/gpu_bench.py            # monoT5 t5-base and t5-3b (1,024 pairs each), bge-base-sized dense, real MiniLM
    python bench/gpu_bench.py --models t5-3b --compile reduce-overhead   # one model, with torch.compile + CUDA graphs
    python bench/gpu_bench.py --smoke    # tiny sizes, runs on CPU too (checks the code path)

Rows (each: ours, baseline, ours/baseline, achieved TFLOP/s and % of the bf16 peak for both):
monoT5 (ours bf16 MonoT5Scorer vs pygaggle's fp32 loop; target >= 45% of peak for t5-3b, Spearman >= 0.99 per query;
the note names the SDPA implementation that ran), the bge-base-sized encoder including tokenisation (vs a bare
pre-tokenised loop; target >= 0.9x), and the real all-MiniLM-L6-v2 on SciFact when its weights and the data are
present (vs bare SentenceTransformer.encode; target >= 15,000 docs/s, min cosine >= 0.999 and nDCG@10 within 0.002
of float32); a missing MiniLM row is explained under the table; exact search over an MS MARCO-sized float16 corpus
(8.8M x 768, 12.6 GiB) held in host memory (ours, streamed in chunks) against sentence-transformers'
``semantic_search`` with the corpus on the card, with the peak GPU memory of both (``--no-search`` skips it).
The table is rewritten after every row, so a run cut short keeps the rows it finished.

It needs torch and transformers (plus the repository; not sentencepiece, sentence-transformers or pyserini).
There is no SciFact on the GPU machine, so the text is synthetic: queries of 8-12 words and documents drawn
from a fixed list of biomedical and common English words, each pair as long (in T5 tokens, before truncation
at 512) as a pair drawn from the token-length quantiles of the CPU benchmark's real pairs (SciFact test,
BM25 top-100, measured with the repository's T5-like tokenizer). The tokenizer here is a T5 unigram tokenizer
built from that word list (one piece per word), so lengths come out as drawn. Dense documents have token
counts drawn from SciFact's corpus under BERT's WordPiece (measured likewise).

FLOPs are counted analytically on real (unpadded) tokens, so padding is work that earns nothing:

* T5 encoder, per layer, for a sequence of L tokens: ``2*L*(4*d*h*dk + m*d*ff) + 4*L^2*h*dk``
  (q, k, v, o projections; feed-forward with m = 2 matrices, 3 when gated; scores and weighted values).
* T5 decoder, one step: per layer ``2*(4*d*h*dk + m*d*ff) + 2*2*L*d*h*dk + 4*L*h*dk`` (self-attention and
  feed-forward for one token, cross-attention keys and values over the L encoder tokens, scores over L),
  plus the vocabulary projection ``2*d*V``.
* BERT encoder, per layer: ``2*L*(4*H^2 + 2*H*I) + 4*L^2*H``.

Achieved TFLOP/s = those FLOPs / seconds; the share of the card's dense bf16 peak (``--peak``, 790 TFLOP/s
for H100/H200 as the project uses it) is printed beside it. The table is printed and, when the ``OUT``
environment variable names a folder, also written to ``$OUT/gpu_bench.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

# Quantiles (0, 5, 10, 25, 50, 75, 90, 95, 99, 100 %) measured on the real data with the repository's tools:
# T5 tokens of "Query: {q} Document: {d} Relevant:" + </s> for SciFact test x BM25 top-100 (2,000 pairs, untruncated),
# and BERT WordPiece tokens ([CLS] + title + text + [SEP]) of the 5,183 SciFact documents.
QUANTILES = (0.0, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0)
T5_PAIR_TOKENS = (94, 185, 213, 258, 321, 389, 478, 543, 760, 1881)
BERT_DOC_TOKENS = (70, 156, 188, 244, 316, 410, 502, 567, 760, 1939)
WORDS = (
    "cell cells protein proteins gene genes expression patients patient risk disease clinical study studies "
    "treatment therapy cancer tumor tumour mice mouse human humans activity role effect effects increased "
    "decreased reduced higher lower levels level response responses associated association analysis data "
    "results showed found significant significantly model models function functional mechanism mechanisms "
    "pathway pathways signaling receptor receptors binding immune infection virus viral bacterial blood "
    "brain heart liver kidney lung muscle bone tissue tissues growth factor factors development stem "
    "differentiation regulation regulatory transcription dna rna mrna mutation mutations variant variants "
    "population cohort trial randomized controlled placebo dose doses drug drugs inhibitor inhibition "
    "mortality survival outcome outcomes age women men children adults years year months week weeks "
    "compared between among during after before within without however although therefore moreover "
    "the of and in to a with for by on was were is are that this these from as at be have has been which "
    "not or also than may can we our their its using used use based including both two three high low "
    "new novel previously reported here evidence suggest suggests indicate indicates demonstrate "
    "vitamin insulin glucose obesity diabetes inflammation inflammatory oxidative stress apoptosis "
    "metabolism metabolic mitochondrial membrane surface antibody antibodies antigen vaccine vaccination "
    "hiv tuberculosis malaria influenza hypertension stroke cardiovascular coronary artery vascular "
    "neurons neuronal synaptic memory cognitive alzheimer dementia depression anxiety sleep exercise "
    "diet dietary intake supplementation smoking alcohol pregnancy birth infants maternal genome genomic "
    "sequencing chromatin histone methylation epigenetic kinase phosphorylation ubiquitin degradation "
    "autophagy lysosomal endothelial epithelial fibroblast macrophage lymphocyte tcell bcell cytokine "
    "interleukin tnf interferon chemokine migration invasion metastasis proliferation angiogenesis"
).split()


@dataclass
class Result:
    name: str
    ours: float
    base: float | None
    unit: str
    tflops_ours: float | None = None
    tflops_base: float | None = None
    note: str = ""


# ---- synthetic text ------------------------------------------------------------------------------
def draw_length(rng: random.Random, quantiles: tuple[int, ...], scale: float = 1.0) -> int:
    """A length drawn from a piecewise-linear inverse CDF through ``quantiles`` (at :data:`QUANTILES`)."""
    u = rng.random()
    for (p0, v0), (p1, v1) in zip(zip(QUANTILES, quantiles), zip(QUANTILES[1:], quantiles[1:])):
        if u <= p1:
            return max(1, int((v0 + (v1 - v0) * (u - p0) / (p1 - p0)) * scale))
    return int(quantiles[-1] * scale)


def word_tokenizer():
    """A T5-style unigram tokenizer whose pieces are :data:`WORDS` (one token each), the prompt words and letters.

    Built with the ``tokenizers`` library (shipped with transformers), so no sentencepiece is needed.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = dict.fromkeys(["Query", "Document", "Relevant", "true", "false", *WORDS])
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(f"\u2581{w}", -5.0) for w in words]
    vocab += [(c, -8.0) for c in ":.,?\u2581"] + [
        (c, -10.0) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>", model_max_length=512
    )


def synthetic_pairs(n: int, *, per_query: int = 100, seed: int = 0, smoke: bool = False) -> list[tuple[str, str]]:
    """``n`` (query, document) pairs, ``per_query`` documents per query, SciFact-like token lengths.

    With :func:`word_tokenizer` a pair has ``len(query words) + len(doc words) + 6`` tokens
    (``Query``, ``:``, ``Document``, ``:``, ``Relevant``, ``:``) + ``</s>``; the document gets the rest.
    """
    rng = random.Random(seed)
    pairs = []
    query, q_words = "", 0
    for i in range(n):
        if i % per_query == 0:
            q_words = rng.randint(8, 12)
            query = " ".join(rng.choice(WORDS) for _ in range(q_words))
        total = draw_length(rng, T5_PAIR_TOKENS, 1 / 8 if smoke else 1.0)
        doc_words = max(1, total - q_words - 7)
        pairs.append((query, " ".join(rng.choice(WORDS) for _ in range(doc_words))))
    return pairs


# ---- FLOPs ---------------------------------------------------------------------------------------
def t5_pair_flops(cfg, length: int) -> float:
    d, h, dk, ff, vocab = cfg.d_model, cfg.num_heads, cfg.d_kv, cfg.d_ff, cfg.vocab_size
    m = 3 if getattr(cfg, "is_gated_act", False) or "gated" in str(getattr(cfg, "feed_forward_proj", "")) else 2
    n_enc = cfg.num_layers
    n_dec = getattr(cfg, "num_decoder_layers", None) or cfg.num_layers
    enc = n_enc * (2 * length * (4 * d * h * dk + m * d * ff) + 4 * length * length * h * dk)
    dec = n_dec * (2 * (4 * d * h * dk + m * d * ff) + 4 * length * d * h * dk + 4 * length * h * dk) + 2 * d * vocab
    return float(enc + dec)


def bert_doc_flops(cfg, length: int) -> float:
    hdim, inter = cfg.hidden_size, cfg.intermediate_size
    return float(cfg.num_hidden_layers * (2 * length * (4 * hdim * hdim + 2 * hdim * inter) + 4 * length * length * hdim))


# ---- timing --------------------------------------------------------------------------------------
def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_it(fn, device: str, rounds: int, warmup=None) -> tuple[float, object]:
    """Median seconds over ``rounds`` calls of ``fn`` after one untimed ``warmup()`` (default ``fn``), and the last result."""
    (warmup or fn)()
    sync(device)
    times, out = [], None
    for _ in range(rounds):
        sync(device)
        start = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


# ---- monoT5 --------------------------------------------------------------------------------------
def t5_config(name: str, smoke: bool):
    from bench.tiny_models import t5_config as repo_config

    cfg = repo_config("small" if smoke else name)
    if smoke:  # a miniature of the same family: the code path, not the size
        cfg.d_model, cfg.d_kv, cfg.d_ff, cfg.num_heads = 64, 16, 128, 4
        cfg.num_layers = cfg.num_decoder_layers = 2
    return cfg


def sdpa_kernels(fn) -> str:
    """The ``scaled_dot_product_attention`` implementations that ran inside ``fn()`` (torch.profiler op names)."""
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn()
    names = sorted(
        {
            e.key.removeprefix("aten::")
            for e in prof.key_averages()
            if e.key.removeprefix("aten::").startswith("_scaled_dot_product")
        }
    )  # the implementation, not the dispatcher
    return ", ".join(names) or "none seen"


def spearman_per_query(a, b, per_query: int) -> float:
    """Lowest Spearman rank correlation between ``a`` and ``b`` over consecutive groups of ``per_query``."""
    import numpy as np

    def ranks(x):
        r = np.empty(len(x))
        r[np.argsort(x, kind="stable")] = np.arange(len(x))
        return r

    worst = 1.0
    for start in range(0, len(a), per_query):
        x, y = np.asarray(a[start : start + per_query]), np.asarray(b[start : start + per_query])
        if len(x) > 2:
            worst = min(worst, float(np.corrcoef(ranks(x), ranks(y))[0, 1]))
    return worst


def bench_monot5(
    name: str,
    n_pairs: int,
    *,
    device: str,
    smoke: bool,
    batch_size: int | None,
    rounds: int,
    tokenizer,
    batch_tokens: int | None = None,
    compile_mode: str | None = None,
) -> Result:
    import numpy as np
    import torch
    from transformers import T5ForConditionalGeneration

    from bench.pygaggle_baseline import PATTERN, PygaggleMonoT5
    from retrieval.neural.monot5_model import MonoT5Scorer

    cfg = t5_config(name, smoke)
    torch.manual_seed(0)
    built = time.perf_counter()
    with torch.device(device):
        model = T5ForConditionalGeneration(cfg).eval()
    sync(device)
    built = time.perf_counter() - built
    params = sum(p.numel() for p in model.parameters())
    pairs = synthetic_pairs(n_pairs, smoke=smoke)
    lengths = [
        len(ids)
        for ids in tokenizer([PATTERN.format(query=q, document=d) for q, d in pairs], truncation=True, max_length=512)[
            "input_ids"
        ]
    ]
    flops = sum(t5_pair_flops(cfg, n) for n in lengths)

    base = PygaggleMonoT5(model, tokenizer, padding="longest")  # fp32, batches of 8, as pygaggle today
    t_base, s_base = time_it(lambda: base.score_pairs(pairs), device, rounds, lambda: base.score_pairs(pairs[:16]))
    model.to(torch.bfloat16)  # in place: the 3B model is not held twice
    ours = MonoT5Scorer(
        model, tokenizer, device=device, dtype="bfloat16", batch_size=batch_size, batch_tokens=batch_tokens, compile=compile_mode
    )
    t_ours, s_ours = time_it(lambda: ours.score_pairs(pairs), device, rounds, lambda: ours.score_pairs(pairs[:16]))
    kernels = sdpa_kernels(lambda: ours.score_pairs(pairs[:8]))
    diff = float(np.max(np.abs(np.asarray(s_ours, dtype=np.float64) - np.asarray(s_base, dtype=np.float64))))
    rho = spearman_per_query(s_ours, s_base, 100)
    model = ours = base = None  # free the model before the next row
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return Result(
        f"monoT5 {name}{' (smoke miniature)' if smoke else ''} ({params / 1e6:,.0f}M), {n_pairs} pairs, mean {statistics.mean(lengths):.0f} tokens",
        n_pairs / t_ours,
        n_pairs / t_base,
        "pairs/s",
        flops / t_ours / 1e12,
        flops / t_base / 1e12,
        f"baseline: pygaggle (a), fp32, batches of 8 in order; ours: MonoT5Scorer bf16, token budget "
        f"{batch_tokens or 'default'} / at most {batch_size or 'default'} pairs{', torch.compile ' + compile_mode if compile_mode else ''}; "
        f"attention ran as: {kernels}; max |score diff| {diff:.1e} (bf16 vs fp32), min Spearman per query of 100 {rho:.3f} (target >= 0.99); "
        f"built in {built:.0f} s",
    )


# ---- dense ---------------------------------------------------------------------------------------
def bert_tokenizer(folder: Path):
    """A BERT WordPiece tokenizer whose vocabulary is :data:`WORDS` (one token each) plus letters and digits."""
    from transformers import BertTokenizer

    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS)]
    chars = "abcdefghijklmnopqrstuvwxyz0123456789"
    pieces += list(chars) + [f"##{c}" for c in chars] + list(".,:?")
    (folder / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    return BertTokenizer(vocab_file=str(folder / "vocab.txt"), do_lower_case=True, model_max_length=512)


def bench_dense(
    n_docs: int, *, device: str, smoke: bool, batch_size: int, rounds: int, ours_rows: int = 1024, batch_tokens: int = 65_536
) -> Result:
    """bge-base-sized BERT (12 layers, 768, random weights) in bf16, max_length 512, CLS pooling, normalised.

    Ours: ``retrieval.neural.dense_model.DenseEncoder`` (transformers backend) over the texts; baseline: a bare loop
    over the same token ids, pre-tokenised and length-sorted (the floor for this model).
    """
    import numpy as np
    import torch
    from transformers import BertConfig, BertModel

    from retrieval.neural.dense_model import DenseEncoder

    if smoke:
        cfg = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)
    else:
        cfg = BertConfig(
            vocab_size=30522,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            max_position_embeddings=512,
        )
    torch.manual_seed(0)
    with torch.device(device):
        model = BertModel(cfg, add_pooling_layer=False).eval().to(torch.bfloat16)
    rng = random.Random(1)
    # Tokens per document drawn from SciFact's WordPiece lengths (one token per word here, plus [CLS] and [SEP]).
    targets = [max(3, draw_length(rng, BERT_DOC_TOKENS, 1 / 8 if smoke else 1.0)) for _ in range(n_docs)]
    texts = [" ".join(rng.choice(WORDS) for _ in range(n - 2)) for n in targets]
    with tempfile.TemporaryDirectory(prefix="gpu-bench-bert-") as tmp:
        tokenizer = bert_tokenizer(Path(tmp))
    docs = tokenizer(texts, truncation=True, max_length=512)["input_ids"]
    lengths = [len(d) for d in docs]
    order = sorted(range(n_docs), key=lambda i: -lengths[i])

    def bare():
        out = torch.empty((n_docs, cfg.hidden_size), dtype=torch.float32, device=device)
        with torch.inference_mode():
            for start in range(0, n_docs, batch_size):
                idx = order[start : start + batch_size]
                width = lengths[idx[0]]
                ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    ids[row, : lengths[i]] = torch.tensor(docs[i])
                    mask[row, : lengths[i]] = 1
                hidden = model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state[:, 0]
                out[idx] = torch.nn.functional.normalize(hidden.float(), dim=-1)
        return out.cpu().numpy()

    ours = DenseEncoder(
        model,
        tokenizer=tokenizer,
        pooling="cls",
        normalize=True,
        max_length=512,
        batch_size=ours_rows,
        batch_tokens=batch_tokens,
        device=device,
    )
    t_bare, e_bare = time_it(bare, device, rounds)
    t_ours, e_ours = time_it(lambda: ours.encode_documents(texts), device, rounds, lambda: ours.encode_documents(texts[:64]))
    cos = float(np.min(np.sum(np.asarray(e_ours) * np.asarray(e_bare), axis=1)))
    flops = sum(bert_doc_flops(cfg, n) for n in lengths)
    return Result(
        f"dense bge-base-sized BERT ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M), {n_docs} docs, mean {statistics.mean(lengths):.0f} tokens",
        n_docs / t_ours,
        n_docs / t_bare,
        "docs/s",
        flops / t_ours / 1e12,
        flops / t_bare / 1e12,
        f"ours: DenseEncoder (tokenises in a worker thread, token budget {batch_tokens}, at most {ours_rows} rows, pools) bf16; "
        f"baseline: bare pre-tokenised length-sorted "
        f"BertModel loop, same batch; min cosine ours vs baseline {cos:.4f}",
    )


def scifact_folder() -> Path | None:
    env = os.environ.get("BEIR_DATA_DIR")
    for root in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "beir", ROOT / "shared" / "beir"]:
        if (root / "scifact" / "corpus.jsonl").is_file():
            return root / "scifact"
    return None


def bench_minilm(*, device: str, smoke: bool, rounds: int, batch_size: int) -> Result | str:
    """Real all-MiniLM-L6-v2 over SciFact's corpus: ours (DenseEncoder, bf16 on CUDA) against a bare
    ``SentenceTransformer.encode`` of the same model and dtype; min cosine and nDCG@10 against float32.
    Returns a sentence instead when the weights or the data are missing."""
    import numpy as np
    import torch

    from retrieval.neural import weights

    folder = scifact_folder()
    if folder is None:
        return "real MiniLM row skipped: no SciFact here (set BEIR_DATA_DIR to the folder holding scifact/)"
    try:
        path, _ = weights.model_folder("all-MiniLM-L6-v2", "dense")
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the other rows stand
        return f"real MiniLM row skipped: weights not found ({str(exc).splitlines()[0][:160]})"
    from retrieval.beir import BeirDataset
    from retrieval.evaluate import evaluate
    from retrieval.neural.dense_model import DenseEncoder
    from retrieval.neural.model_system import doc_text
    from retrieval.neural.vector_search import exact_search
    from retrieval.run import Run

    dataset = BeirDataset(folder, "scifact")
    docids = list(dataset.corpus)[: 64 if smoke else None]
    texts = [doc_text(dataset.corpus[d]) for d in docids]
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    ours = DenseEncoder.from_pretrained(str(path), device=device, dtype=dtype, batch_size=batch_size)
    bare = ours.model  # the same SentenceTransformer: the baseline is its own encode
    t_bare, e_bare = time_it(
        lambda: bare.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True),
        device,
        rounds,
        lambda: bare.encode(texts[:64], batch_size=batch_size),
    )
    t_ours, e_ours = time_it(lambda: ours.encode_documents(texts), device, rounds, lambda: ours.encode_documents(texts[:64]))
    ref = DenseEncoder.from_pretrained(str(path), device=device, dtype="float32", batch_size=batch_size)
    e_ref = ref.encode_documents(texts)
    cos = float(np.min(np.sum(np.asarray(e_ours, dtype=np.float64) * e_ref, axis=1)))
    lengths = [len(x) for x in bare.tokenizer(texts, truncation=True, max_length=ours.max_length)["input_ids"]]
    cfg = bare[0].model.config
    flops = sum(bert_doc_flops(cfg, n) for n in lengths)
    queries = dataset.split_queries("test")
    qids = list(queries)[: 20 if smoke else None]
    ndcg = {}
    for label, enc, emb in (("ours", ours, e_ours), ("fp32", ref, e_ref)):
        scores, idx = exact_search(enc.encode_queries([queries[q] for q in qids]), emb, 10, device=device)
        run = Run.from_records([(q, docids[j], float(s)) for r, q in enumerate(qids) for s, j in zip(scores[r], idx[r])], label)
        ndcg[label] = evaluate(run, dataset.qrels("test"), ["nDCG@10"]).mean["nDCG@10"]
    ours = ref = bare = None  # free the models before the next row
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return Result(
        f"dense all-MiniLM-L6-v2 (real weights) on SciFact, {len(texts)} docs, mean {statistics.mean(lengths):.0f} tokens",
        len(texts) / t_ours,
        len(texts) / t_bare,
        "docs/s",
        flops / t_ours / 1e12,
        flops / t_bare / 1e12,
        f"ours: DenseEncoder.from_pretrained {dtype} batch {batch_size} (target >= 15,000 docs/s on H100/H200); baseline: "
        f"bare SentenceTransformer.encode, same model; min cosine vs float32 {cos:.4f} (target >= 0.999); nDCG@10 test "
        f"{ndcg['ours']:.4f} vs float32 {ndcg['fp32']:.4f} (target: within 0.002)",
    )


def bench_search(n_docs: int, dim: int, n_queries: int, k: int, *, device: str, rounds: int) -> Result:
    """Exact search over an MS MARCO-sized float16 corpus kept in host memory: ours (``exact_search``, chunks
    streamed to the card, running top-k) against sentence-transformers' ``semantic_search`` over the same corpus
    held on the card. Reports peak GPU memory of both and the top-k overlap (scores are float16 products, so
    a few boundary swaps are rounding, not a bug)."""
    import numpy as np
    import torch
    from sentence_transformers.util import semantic_search

    from retrieval.neural.vector_search import exact_search

    gen = torch.Generator(device=device).manual_seed(0)
    corpus = np.empty((n_docs, dim), dtype=np.float16)
    step = 1 << 20
    for start in range(0, n_docs, step):  # drawn on the card, kept on the host
        rows = min(step, n_docs - start)
        corpus[start : start + rows] = torch.randn(rows, dim, generator=gen, device=device).half().cpu().numpy()
    queries = torch.randn(n_queries, dim, generator=gen, device=device).cpu().numpy()
    cuda = device.startswith("cuda")

    def peak(fn):
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        out = fn()
        return out, ((torch.cuda.max_memory_allocated() - base) / 2**30 if cuda else float("nan"))

    t_ours, (ours, mem_ours) = time_it(
        lambda: peak(lambda: exact_search(queries, corpus, k, device=device)),
        device,
        rounds,
        lambda: exact_search(queries[:2], corpus, k, device=device),
    )
    on_card = torch.from_numpy(corpus).to(device)
    q_card = torch.from_numpy(queries).to(device).half()
    t_base, (base, mem_base) = time_it(
        lambda: peak(lambda: semantic_search(q_card, on_card, top_k=k)),
        device,
        rounds,
        lambda: semantic_search(q_card[:2], on_card, top_k=k),
    )
    corpus_gib = on_card.numel() * 2 / 2**30
    on_card = q_card = None  # frees the card
    overlap = statistics.mean(len(set(ours[1][i].tolist()) & {h["corpus_id"] for h in base[i]}) / k for i in range(n_queries))
    return Result(
        f"exact search {n_docs:,} x {dim} float16 (cosine), {n_queries} queries, top {k}",
        n_queries / t_ours,
        n_queries / t_base,
        "queries/s",
        note=f"ours: exact_search with the corpus in host memory ({corpus_gib:.1f} GiB), streamed in chunks; peak GPU "
        f"memory {mem_ours:.2f} GiB; baseline: sentence_transformers semantic_search with the corpus on the card, "
        f"peak GPU memory {mem_base:.2f} GiB beyond the corpus; top-{k} overlap {overlap:.4f}",
    )


# ---- report --------------------------------------------------------------------------------------
def table(results: list[Result], peak: float, header: list[str]) -> str:
    lines = [
        *header,
        "",
        "| benchmark | ours | baseline | ours/baseline | ours TFLOP/s (% of peak) | baseline TFLOP/s (% of peak) | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:

        def tf(x):
            return "" if x is None else f"{x:.3g} ({100 * x / peak:.2g}%)"

        base = "" if r.base is None else f"{r.base:,.1f} {r.unit}"
        ratio = "" if r.base is None else f"{r.ours / r.base:.2f}x"
        lines.append(
            f"| {r.name} | {r.ours:,.1f} {r.unit} | {base} | {ratio} | {tf(r.tflops_ours)} | {tf(r.tflops_base)} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny models and sizes (CPU is fine): checks the code path")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--models", default="t5-base,t5-3b")
    parser.add_argument("--pairs", default="t5-base=1024,t5-3b=1024", help="pairs per model, name=count,...")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="ours (monoT5): most pairs per batch (default: MonoT5Scorer's)"
    )
    parser.add_argument(
        "--batch-tokens", type=int, default=None, help="ours (monoT5): padded tokens per batch (default: MonoT5Scorer's)"
    )
    parser.add_argument(
        "--compile",
        default=None,
        choices=["default", "reduce-overhead", "max-autotune"],
        help="ours (monoT5): torch.compile mode (default: off)",
    )
    parser.add_argument("--dense-docs", type=int, default=16384)
    parser.add_argument("--dense-batch-size", type=int, default=128, help="baseline loop's batch size (bge-base-sized row)")
    parser.add_argument(
        "--dense-batch-tokens", type=int, default=65536, help="ours: padded tokens per batch (bge-base-sized row)"
    )
    parser.add_argument("--minilm-batch-size", type=int, default=256, help="real MiniLM row: batch size of both")
    parser.add_argument("--no-minilm", action="store_true", help="skip the real MiniLM row")
    parser.add_argument("--search-docs", type=int, default=8_841_823, help="exact-search row: corpus rows (MS MARCO's)")
    parser.add_argument("--search-dim", type=int, default=768)
    parser.add_argument("--no-search", action="store_true", help="skip the exact-search row")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median) after one warm-up")
    parser.add_argument("--peak", type=float, default=790.0, help="the card's dense bf16 peak in TFLOP/s")
    args = parser.parse_args(argv)

    import torch
    import transformers

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    pair_counts = dict((k, int(v)) for k, v in (item.split("=") for item in args.pairs.split(",")))
    if args.smoke:
        pair_counts = {k: 12 for k in pair_counts}
        args.dense_docs, args.batch_size, args.dense_batch_size, args.dense_batch_tokens, args.rounds = 24, 8, 8, 256, 1
        args.search_docs, args.search_dim = 20_000, 64
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    header = [
        f"# GPU benchmark{' (smoke: tiny sizes, not a measurement)' if args.smoke else ''}",
        "",
        f"device: {gpu}; torch {torch.__version__}, transformers {transformers.__version__}; "
        f"peak used for %: {args.peak:.0f} TFLOP/s bf16; synthetic SciFact-length text; random weights; "
        f"median of {args.rounds} timed rounds after a warm-up",
    ]
    started = time.perf_counter()
    tokenizer = word_tokenizer()
    results: list[Result] = []
    notes: list[str] = []
    out = os.environ.get("OUT")

    def report(final: bool = False) -> str:
        """The table so far, written to ``$OUT/gpu_bench.md`` after every row (a run cut short keeps its rows)."""
        text = table(results, args.peak, header) + "".join(f"\n\n{n}" for n in notes)
        text += f"\n\n{'Total' if final else 'So far:'} wall time {time.perf_counter() - started:.0f} s.\n"
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / "gpu_bench.md").write_text(text, encoding="utf-8")
        return text

    for name in [m for m in args.models.split(",") if m]:
        print(f"monoT5 {name}...", file=sys.stderr, flush=True)
        results.append(
            bench_monot5(
                name,
                pair_counts.get(name, 256),
                device=device,
                smoke=args.smoke,
                batch_size=args.batch_size,
                rounds=args.rounds,
                tokenizer=tokenizer,
                batch_tokens=args.batch_tokens,
                compile_mode=args.compile,
            )
        )
        report()
    print("dense...", file=sys.stderr, flush=True)
    results.append(
        bench_dense(
            args.dense_docs,
            device=device,
            smoke=args.smoke,
            batch_size=args.dense_batch_size,
            rounds=args.rounds,
            ours_rows=8 if args.smoke else 1024,
            batch_tokens=args.dense_batch_tokens,
        )
    )
    report()
    if not args.no_minilm:
        print("dense MiniLM on SciFact...", file=sys.stderr, flush=True)
        minilm = bench_minilm(
            device=device, smoke=args.smoke, rounds=args.rounds, batch_size=8 if args.smoke else args.minilm_batch_size
        )
        (results if isinstance(minilm, Result) else notes).append(minilm)
        report()
    if not args.no_search:
        print("exact search...", file=sys.stderr, flush=True)
        results.append(bench_search(args.search_docs, args.search_dim, 200, 100, device=device, rounds=min(args.rounds, 2)))
    print(report(final=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
