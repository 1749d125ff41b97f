"""The scaling benchmark's corpus tool and one in-process step (the benchmark itself is run by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import run_all, scale_bench
from retrieval.beir import BeirDataset, load_corpus
from retrieval.cache import Cache

from .conftest import TINY_DOCS


def test_make_corpus_repeats_with_new_ids(tiny_dir: Path, tmp_path: Path) -> None:
    out = scale_bench.make_corpus(tiny_dir, 15, tmp_path / "beir" / "tiny-15")
    docs = load_corpus(out / "corpus.jsonl")  # strict loader: unique, well-formed ids
    ids = list(docs)
    assert len(ids) == 15 and ids[:6] == [d["_id"] for d in TINY_DOCS] and ids[6] == "d1-r1" and ids[-1] == "d3-r2"
    assert docs["d1-r1"].text == docs["d1"].text
    ds = BeirDataset(out, cache=Cache(tmp_path / "c"))
    assert ds.qrels("test").for_query("q1") == {"d1": 2, "d3": 1, "d2": 0}


def test_open_step_reports_time_and_memory(tiny_dir: Path, tmp_path: Path) -> None:
    import resource
    import time

    out = scale_bench.make_corpus(tiny_dir, 8, tmp_path / "beir" / "tiny-8")
    started = time.perf_counter()
    result = json.loads(json.dumps(scale_bench.step("open", out, tmp_path / "c")))
    elapsed = time.perf_counter() - started
    assert result["documents"] == 8 and result["judged"] == 7
    # The timed part is the opening inside the call: more than nothing, less than the whole call (not, say, in ms).
    assert 0 < result["seconds"] < elapsed
    # The process's peak resident size, in MB: this interpreter has pandas and numpy loaded (tens of MB at least).
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert 20 < result["rss_mb"] <= peak_mb * 1.01


def test_runner_knows_scale() -> None:
    args = run_all.parse_args(["--only", "scale", "--scale-sizes", "1000"])
    assert args.only == ["scale"] and args.scale_sizes == "1000"
    assert "scale" not in run_all.BENCHMARKS  # heavy: never in the default run
