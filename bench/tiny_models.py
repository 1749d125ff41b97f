"""Models and tokenizers built offline for tests and benchmarks (nothing is downloaded).

* :func:`tiny_t5` - a tiny random T5 with a real sentencepiece tokenizer that knows ``▁true`` and
  ``▁false``, saved like a monoT5 hub folder (``spiece.model`` + safetensors) and loaded back.
* :func:`t5_tokenizer` - a T5-like unigram tokenizer (~32k pieces + 100 sentinels) trained on
  SciFact text when it is present, else on generated text, for realistic token lengths.
* :func:`t5_config` - the published T5 v1.0 shapes (small / base / large / 3b) for
  random-initialised real architectures.
Random models have random scores: assert invariants, never exact values.
"""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path
from typing import Any

T5_SHAPES = {
    "small": dict(d_model=512, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8, d_kv=64),
    "base": dict(d_model=768, d_ff=3072, num_layers=12, num_decoder_layers=12, num_heads=12, d_kv=64),
    "large": dict(d_model=1024, d_ff=4096, num_layers=24, num_decoder_layers=24, num_heads=16, d_kv=64),
    "3b": dict(d_model=1024, d_ff=16384, num_layers=24, num_decoder_layers=24, num_heads=32, d_kv=128),
}
_WORDS = (
    "the of and in a to with is for was were that by on as are from at patients study cells risk vitamin bone "
    "heart blood pressure coffee sleep memory exercise disease cancer protein gene expression increased reduced "
    "associated treatment results effect trial cohort analysis data model true false query document relevant "
    "not no yes claim evidence supports refutes density older adults children women men level levels"
).split()


def t5_config(name: str, **overrides: Any):
    """A ``T5Config`` with the shapes of t5-``name`` (small, base, large, 3b): T5 v1.0, ReLU, 32128 vocab."""
    from transformers import T5Config

    key = name.lower().removeprefix("t5-").removeprefix("monot5-")
    if key not in T5_SHAPES:
        raise ValueError(f"unknown T5 size {name!r}; use one of {sorted(T5_SHAPES)}")
    params = dict(
        vocab_size=32128,
        feed_forward_proj="relu",
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        tie_word_embeddings=True,
    )
    params.update(T5_SHAPES[key])
    params.update(overrides)
    return T5Config(**params)


def generated_sentences(n: int = 3000, seed: int = 0) -> list[str]:
    """Deterministic pseudo-sentences over a small vocabulary, with the prompt words and punctuation."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 30))]
        out.append(
            f"Query: {' '.join(words[:4])}? Document: {' '.join(words[4:]).capitalize()}, 12.5% (n=3). Relevant: true false"
        )
    return out


def _scifact_texts(limit: int | None = None) -> list[str] | None:
    env = os.environ.get("BEIR_DATA_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "beir"
    corpus = root / "scifact" / "corpus.jsonl"
    if not corpus.is_file():
        return None
    texts = []
    with open(corpus, encoding="utf-8-sig") as fh:
        for line in fh:
            if line.strip():
                doc = json.loads(line)
                texts.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())
                if limit and len(texts) >= limit:
                    break
    return texts


def _train_unigram(sentences: list[str], vocab_size: int, *, coverage: float) -> bytes:
    """A sentencepiece unigram model with T5's special ids (pad 0, eos 1, unk 2, no bos)."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=coverage,
        hard_vocab_limit=False,
        num_threads=min(4, os.cpu_count() or 1),
        minloglevel=2,
        max_sentence_length=1 << 16,
    )
    return model.getvalue()


def _unigram_pieces(sentences: list[str], vocab_size: int, *, coverage: float) -> list[tuple[str, float]]:
    """(piece, score) pairs in T5 order (``<pad>``, ``</s>``, ``<unk>``, pieces...): sentencepiece when
    installed, else the ``tokenizers`` package's unigram trainer (a dependency of transformers)."""
    try:
        import sentencepiece as spm
    except ImportError:
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers

        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False
        )
        tok.train_from_iterator(sentences, trainer=trainer)
        vocab = json.loads(tok.to_str())["model"]["vocab"]
        return [(p, float(sc)) for p, sc in vocab]
    sp = spm.SentencePieceProcessor(model_proto=_train_unigram(sentences, vocab_size, coverage=coverage))
    return [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(sp.get_piece_size())]


def _check_true_false(tokenizer: Any) -> None:
    from retrieval.neural.monot5_model import prediction_token_ids

    true_id, false_id = prediction_token_ids(tokenizer)
    got = tokenizer.convert_ids_to_tokens(tokenizer("true false", add_special_tokens=False)["input_ids"])
    if got != ["▁true", "▁false"] or tokenizer.convert_tokens_to_ids(["▁true", "▁false"]) != [true_id, false_id]:
        raise RuntimeError(f"the built tokenizer does not tokenise 'true false' as ['▁true', '▁false'] (got {got})")


def tiny_t5(tmp_dir: str | Path, *, seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer): a tiny random T5ForConditionalGeneration and a real sentencepiece tokenizer.

    The folder ``tmp_dir`` ends up like a monoT5 hub folder: ``config.json``, ``model.safetensors``,
    ``spiece.model``, ``tokenizer_config.json``; both are loaded back from it (safetensors only).
    """
    import torch
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    folder = Path(tmp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "spiece.model").is_file():
        (folder / "spiece.model").write_bytes(_train_unigram(generated_sentences(), 300, coverage=1.0))
        (folder / "tokenizer_config.json").write_text(
            json.dumps({"tokenizer_class": "T5Tokenizer", "model_max_length": 512, "extra_ids": 100}), encoding="utf-8"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    _check_true_false(tokenizer)
    if not (folder / "model.safetensors").is_file():
        torch.manual_seed(seed)
        vocab = -(-len(tokenizer) // 8) * 8
        config = t5_config(
            "small",
            vocab_size=vocab,
            d_model=32,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=4,
            d_kv=8,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=32,
        )
        T5ForConditionalGeneration(config).save_pretrained(str(folder), safe_serialization=True)
    model = T5ForConditionalGeneration.from_pretrained(str(folder), use_safetensors=True, local_files_only=True).eval()
    return model, tokenizer


def t5_tokenizer(tmp_dir: str | Path, *, vocab_size: int = 32000, use_scifact: bool = True) -> Any:
    """A T5-like tokenizer (unigram, ``vocab_size`` pieces + 100 sentinels = T5's 32100 by default).

    Trained once on SciFact titles+abstracts when the data is present (else on generated text) and
    saved in ``tmp_dir``; later calls load it from there.
    """
    from transformers import AutoTokenizer, T5Tokenizer

    folder = Path(tmp_dir)
    if (folder / "tokenizer.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        _check_true_false(tokenizer)
        return tokenizer
    texts = _scifact_texts() if use_scifact else None
    if texts:
        texts = texts + generated_sentences(500)  # makes sure the prompt words and true/false are pieces
        vocab = _unigram_pieces(texts, vocab_size, coverage=0.9995)
    else:
        vocab = _unigram_pieces(generated_sentences(20000), min(vocab_size, 2000), coverage=1.0)
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=100, model_max_length=512)
    _check_true_false(tokenizer)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(folder))
    return tokenizer
