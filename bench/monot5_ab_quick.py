"""Quick A/B of MonoT5Scorer configurations against pygaggle (a) on one SciFact query x top-48 (run: python bench/monot5_ab_quick.py)."""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.getcwd())
from bench.monot5_bench import build_model, build_tokenizer, load_pairs
from bench.pygaggle_baseline import PygaggleMonoT5
from retrieval.beir import BeirDataset
from retrieval.cache import Cache
from retrieval.neural.monot5_model import MonoT5Scorer

ds = BeirDataset(Path(os.environ.get("BEIR_DATA_DIR", "../shared/beir")) / "scifact", "scifact")
pairs = load_pairs(ds, Cache(os.environ.get("RETRIEVAL_CACHE_DIR") or None), queries=1, depth=48).flat()
model = build_model("t5-small")
with tempfile.TemporaryDirectory() as tmp:
    tok = build_tokenizer(tmp)
c = {
    "plain enc+bs16 (yesterday)": MonoT5Scorer(
        model, tok, batch_size=16, batch_tokens=1 << 30, onednn=False, fast_encoder=False
    ).score_pairs,
    "fast_encoder only": MonoT5Scorer(model, tok, onednn=False).score_pairs,
    "fast_encoder+onednn (default)": MonoT5Scorer(model, tok).score_pairs,
    "pygaggle (a)": PygaggleMonoT5(model, tok).score_pairs,
}
for f in c.values():
    f(pairs[:8])
t = {k: [] for k in c}
for r in range(3):
    for k, f in list(c.items())[r % 4 :] + list(c.items())[: r % 4]:
        s = time.perf_counter()
        f(pairs)
        t[k].append(time.perf_counter() - s)
print("load", os.getloadavg())
for k in c:
    print(f"{k}: {len(pairs) / np.median(t[k]):.2f} pairs/s (median of 3, {len(pairs)} pairs)")
