"""Quick A/B of MonoT5Scorer's CPU paths against pygaggle (a) on SciFact queries x BM25 top-100, interleaved.

Run: ``python bench/monot5_ab_quick.py [queries]`` (default 2; each query's 100 pairs are one unit, the variants
rotate per query). Reports pairs/s, the median per-query speed-up over the first variant and the CPU seconds
(less disturbed by other processes than wall time). Wrap it in ``flock /tmp/bench.lock`` on a shared machine.
"""

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
from retrieval.neural.monot5_model import MonoT5Scorer, t5_encoder_forward_onednn

queries = int(sys.argv[1]) if len(sys.argv) > 1 else 2
ds = BeirDataset(Path(os.environ.get("BEIR_DATA_DIR", "../shared/beir")) / "scifact", "scifact")
groups = load_pairs(ds, Cache(os.environ.get("RETRIEVAL_CACHE_DIR") or None), queries=queries, depth=100).groups
model = build_model("t5-small")
with tempfile.TemporaryDirectory() as tmp:
    tok = build_tokenizer(tmp)


def scorer(encode=None, **kwargs):
    s = MonoT5Scorer(model, tok, **kwargs)
    if encode is not None:
        s._encode = encode
    return s.score_pairs


c = {
    "oneDNN encoder, one batch of 5,000 tokens on all threads (before)": scorer(
        t5_encoder_forward_onednn, workers=1, batch_tokens=5_000
    ),
    "oneDNN encoder, one batch per thread, 1,500 tokens": scorer(t5_encoder_forward_onednn, batch_tokens=1_500),
    "default (t5_encoder_forward_cpu, one batch per thread)": scorer(),
    "pygaggle (a)": PygaggleMonoT5(model, tok).score_pairs,
}
for f in c.values():
    f(groups[0][:8])
names = list(c)
wall = {k: [] for k in c}
cpu = {k: [] for k in c}
for i, group in enumerate(groups):
    for k in names[i % len(names) :] + names[: i % len(names)]:
        s, p = time.perf_counter(), time.process_time()
        c[k](group)
        wall[k].append(time.perf_counter() - s)
        cpu[k].append(time.process_time() - p)
print("load", os.getloadavg())
first = names[0]
for k in c:
    speedup = np.median(np.array(wall[first]) / np.array(wall[k]))
    print(
        f"{k}: {100 * len(groups) / sum(wall[k]):.2f} pairs/s, median per-query speed-up vs the first {speedup:.2f}, "
        f"CPU {sum(cpu[k]):.1f} s ({len(groups)} q x 100 pairs)"
    )
