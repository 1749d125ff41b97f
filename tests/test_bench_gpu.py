"""The GPU benchmark's code path, on CPU with miniature models (--smoke): it runs and writes its table."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("torch")

from bench import gpu_bench  # noqa: E402


def minilm_row_expected() -> bool:
    """Whether gpu_bench can run its real all-MiniLM-L6-v2 row here (SciFact and the weights both present)."""
    from retrieval.neural import weights

    if gpu_bench.scifact_folder() is None:
        return False
    try:
        weights.model_folder("all-MiniLM-L6-v2", "dense")
    except Exception:  # noqa: BLE001 - any reason the weights cannot be had means no row
        return False
    return True


def test_smoke_run_prints_and_writes_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OUT", str(tmp_path))
    assert gpu_bench.main(["--smoke", "--device", "cpu"]) == 0
    written = (tmp_path / "gpu_bench.md").read_text(encoding="utf-8")
    assert written.strip() in capsys.readouterr().out
    rows = [line for line in written.splitlines() if line.startswith("| monoT5") or line.startswith("| dense")]
    names = [r.split("|")[1].split("(")[0].strip() for r in rows]
    assert names[:3] == ["monoT5 t5-base", "monoT5 t5-3b", "dense bge-base-sized BERT"]
    if minilm_row_expected():  # the real MiniLM row when its weights and SciFact are here, else the reason why not
        assert names[3:] == ["dense all-MiniLM-L6-v2"]
    else:
        assert names[3:] == [] and "real MiniLM row skipped" in written
    assert "max |score diff|" in rows[0] and "x |" in rows[0] and "Spearman" in rows[0]
    assert "attention ran as: _scaled_dot_product" in rows[0]  # the profiler saw which SDPA implementation ran
    for row in rows:  # ours, baseline, ratio and both % of peak are filled in
        cells = [c.strip() for c in row.split("|")[2:7]]
        assert all(cells) and cells[2].endswith("x") and all("%" in c for c in cells[3:5])


def test_synthetic_pairs_follow_the_measured_token_lengths():
    tokenizer = gpu_bench.word_tokenizer()
    pairs = gpu_bench.synthetic_pairs(400, per_query=100)
    assert len({q for q, _ in pairs}) == 4
    lengths = sorted(len(ids) for ids in tokenizer([f"Query: {q} Document: {d} Relevant:" for q, d in pairs])["input_ids"])
    median = lengths[len(lengths) // 2]
    assert abs(median - gpu_bench.T5_PAIR_TOKENS[4]) < 40  # real SciFact pairs: median 321 tokens
    assert tokenizer.unk_token_id not in {i for ids in tokenizer([d for _, d in pairs[:20]])["input_ids"] for i in ids}


def test_flops_formula_matches_a_hand_count():
    from transformers import T5Config

    cfg = T5Config(d_model=4, d_kv=2, num_heads=2, d_ff=8, num_layers=1, num_decoder_layers=1, vocab_size=10)
    # encoder: 2*L*(4*4*2*2 + 2*4*8) + 4*L^2*2*2; decoder: 2*(64 + 64) + 4*L*4*4 + 4*L*4 + 2*4*10, with L = 3
    expected = (2 * 3 * (64 + 64) + 4 * 9 * 4) + (2 * 128 + 4 * 3 * 16 + 4 * 3 * 4) + 80
    assert gpu_bench.t5_pair_flops(cfg, 3) == expected
    assert gpu_bench.draw_length(random.Random(0), (10, 10, 10, 10, 10, 10, 10, 10, 10, 10)) == 10
