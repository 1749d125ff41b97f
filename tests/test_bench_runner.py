"""The benchmark command end to end on the tiny BEIR folder (code paths and result file, never timings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import run_all

from .conftest import SCIFACT, needs_scifact


def test_arguments_select_benchmarks_and_sizes():
    args = run_all.parse_args([])
    assert args.only == list(run_all.BENCHMARKS) and args.queries == 20 and args.depth == 100
    args = run_all.parse_args(["--only", "bm25, monot5", "--pairs", "250", "--depth", "100"])
    assert args.only == ["bm25", "monot5"] and args.queries == 3
    args = run_all.parse_args(["--quick"])
    assert (args.dense_docs, args.queries, args.b_queries, args.rounds) == (1000, 5, 2, 2)
    assert run_all.parse_args(["--only", "monot5-ablation"]).only == ["monot5-ablation"]
    with pytest.raises(SystemExit):
        run_all.parse_args(["--only", "bm25,nonsense"])


def test_missing_data_is_reported_not_raised(tmp_path, capsys):
    assert run_all.main(["--data-dir", str(tmp_path), "--no-write"]) == 2
    assert "corpus.jsonl not found" in capsys.readouterr().err


@pytest.mark.slow
def test_cpu_benchmarks_run_end_to_end_on_tiny_data(tiny_dir: Path, tmp_path: Path, capsys):
    results = tmp_path / "results"
    argv = [
        "--only",
        "bm25,dense,monot5",
        "--data-dir",
        str(tiny_dir.parent),
        "--dataset",
        "tiny",
        "--cache",
        str(tmp_path / "cache"),
        "--results-dir",
        str(results),
        "--rounds",
        "1",
        "--queries",
        "2",
        "--depth",
        "4",
        "--b-queries",
        "1",
        "--bm25-k",
        "5",
    ]
    assert run_all.main(argv) == 0
    out = capsys.readouterr().out
    files = list(results.glob("*.md"))
    assert len(files) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md", files[0].name)
    report = files[0].read_text(encoding="utf-8")
    for text in (out, report):
        assert "| bm25 | queries/s" in text and "| bm25 | nDCG@10 |" in text
        assert "| dense | encode 6 docs" in text
        assert "| monot5 | pairs/s vs pygaggle today (a)" in text and "| monot5 | pairs/s vs pygaggle pad-512 (b)" in text
    assert "skipped" not in report and "failed" not in report
    # Behaviour, not speed: the baselines score like ours, and the dense cache serves the second run.
    assert len(re.findall(r"\| monot5 \| max \|score diff\| vs \([ab]\), fp32 \| [0-9.e+-]+ \|.*\| met \|", report)) == 2
    assert re.search(
        r"\| dense \| model calls: first run / second run / embeddings re-read \(\d+ docs\) \| [1-9]\d* / 0 / 0 \|", report
    )
    for key in ("- cpu:", "- cores:", "- ram:", "- torch:", "- transformers:", "- pyserini:", "- torch threads:"):
        assert key in report


@pytest.mark.slow
@pytest.mark.browser
@needs_scifact
def test_app_latency_on_scifact(tmp_path: Path, session_cache):
    from bench import app_bench
    from retrieval.beir import BeirDataset

    if not Path(app_bench.CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {app_bench.CHROMIUM}")
    section = app_bench.run(
        BeirDataset(SCIFACT, "scifact"), cache=session_cache, data_dir=SCIFACT.parent, rounds=1, rerun_count=3
    )
    assert not section.skipped
    metrics = [r.metric for r in section.rows]
    assert any(m.startswith("Compare warm rerun, same view") and "p50 / p95" in m for m in metrics), section.lines
    assert any(m.startswith("cold start to first ranking") for m in metrics)
    cold = next(r for r in section.rows if r.metric.startswith("cold start"))
    assert float(cold.ours.split()[0]) > 0
