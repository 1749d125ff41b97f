"""The judgements benchmark's code path on the tiny dataset (never its timings)."""

from __future__ import annotations

from pathlib import Path

from bench import run_all


def test_judgements_benchmark_runs_on_tiny_data(tiny_dir: Path, tiny_cache, tmp_path: Path) -> None:
    from bench import judgements_bench
    from retrieval.beir import BeirDataset

    dataset = BeirDataset(tiny_dir, "tiny", cache=tiny_cache)
    section = judgements_bench.run(dataset, cache=tiny_cache, rounds=1, judgements=20)
    assert not section.skipped
    metrics = [r.metric for r in section.rows]
    assert any("SQLite: merged metrics" in m for m in metrics) and len(section.rows) == 3
    assert "identical per-query values: True" in section.rows[2].note
    assert all(r.ratio is not None and r.ratio > 0 for r in section.rows)
    assert "judgements" in run_all.BENCHMARKS
