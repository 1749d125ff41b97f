"""Hybrid fusion (retrieval/fusion.py): reciprocal-rank fusion and normalised CombSUM as a system like any other,
checked against ranx's fusion of the same runs and against a hand computation."""

from __future__ import annotations

import re

import numpy as np
import pytest

from retrieval.beir import BeirDataset
from retrieval.errors import UnknownSystem
from retrieval.fusion import Fusion, fuse, split_fusion_spec
from retrieval.run import Run
from retrieval.runner import cached_run, get_run, run_key
from retrieval.systems import parse_system

from .conftest import needs_scifact

A = Run.from_records([("q1", "d1", 3.0), ("q1", "d2", 2.0), ("q1", "d3", 1.0), ("q2", "d4", 5.0), ("q2", "d1", 4.0)], "a")
B = Run.from_records([("q1", "d3", 0.9), ("q1", "d4", 0.8), ("q1", "d1", 0.1), ("q2", "d1", 7.0)], "b")


def scores(run: Run) -> dict[tuple[str, str], float]:
    return {(q, d): s for q, d, s in zip(run.frame["qid"], run.frame["docid"], run.frame["score"])}


def test_rrf_by_hand():
    fused = scores(fuse([A, B], "rrf", k=60))
    assert fused[("q1", "d1")] == pytest.approx(1 / 61 + 1 / 63, abs=1e-15)  # #1 in a, #3 in b
    assert fused[("q1", "d3")] == pytest.approx(1 / 63 + 1 / 61, abs=1e-15)
    assert fused[("q1", "d2")] == pytest.approx(1 / 62) and fused[("q1", "d4")] == pytest.approx(1 / 62)
    assert fused[("q2", "d1")] == pytest.approx(1 / 62 + 1 / 61) and fused[("q2", "d4")] == pytest.approx(1 / 61)
    run = fuse([A, B], "rrf", k=60)
    # d1 and d3 tie exactly (a + b == b + a): the tie rule (docid descending) orders them, as for any run
    assert run.for_query("q1")["docid"].tolist() == ["d3", "d1", "d4", "d2"]


def test_combsum_by_hand_with_min_max():
    fused = scores(fuse([A, B], "combsum", norm="min-max"))
    # q1 in a: (3, 2, 1) -> (1, .5, 0); in b: (.9, .8, .1) -> (1, .875, 0)
    assert fused[("q1", "d1")] == pytest.approx(1.0 + 0.0)
    assert fused[("q1", "d3")] == pytest.approx(0.0 + 1.0)
    assert fused[("q1", "d4")] == pytest.approx(0.875) and fused[("q1", "d2")] == pytest.approx(0.5)
    assert fused[("q2", "d1")] == pytest.approx(0.0 + 0.0)  # b's single document: max - min = 0 -> 0 / 1e-9


def test_depth_and_hits_cut_inputs_and_output():
    fused = scores(fuse([A, B], "rrf", depth=1))
    assert set(fused) == {("q1", "d1"), ("q1", "d3"), ("q2", "d4"), ("q2", "d1")}
    assert len(fuse([A, B], "rrf", hits=2).for_query("q1")) == 2


def _ranx(run: Run, by_rank: bool):
    from ranx import Run as RanxRun

    rows: dict[str, dict[str, float]] = {}
    for q, d, r, s in zip(run.frame["qid"], run.frame["docid"], run.frame["rank"], run.frame["score"]):
        rows.setdefault(str(q), {})[str(d)] = -float(r) if by_rank else float(s)  # by rank: ranx's order is ours
    return RanxRun(rows)


def _ranx_fused(runs: list[Run], method: str, norm: str = "min-max", k: int = 60) -> dict[tuple[str, str], float]:
    pytest.importorskip("ranx", reason="ranx (requirements.txt, tests) is needed for the reference fusion")
    from ranx.fusion import comb_sum, rrf
    from ranx.normalization import max_norm, min_max_norm, sum_norm, zmuv_norm

    if method == "rrf":
        out = rrf([_ranx(r, by_rank=True) for r in runs], k=k)
    else:
        normalise = {"min-max": min_max_norm, "max": max_norm, "sum": sum_norm, "zmuv": zmuv_norm}[norm]
        out = comb_sum([normalise(_ranx(r, by_rank=False)) for r in runs])
    return {(q, d): float(s) for q, docs in out.to_dict().items() for d, s in docs.items()}


@pytest.mark.parametrize(
    ("method", "norm", "k"),
    [
        ("rrf", "min-max", 60),
        ("rrf", "min-max", 1),
        ("combsum", "min-max", 60),
        ("combsum", "max", 60),
        ("combsum", "sum", 60),
        ("combsum", "zmuv", 60),
    ],
)
def test_equals_ranx_on_random_runs_with_ties(method, norm, k):
    rng = np.random.default_rng(7)
    runs = []
    for name in ("x", "y", "z"):
        records = [(f"q{q}", f"d{d}", float(rng.integers(1, 6))) for q in range(5) for d in rng.choice(40, 25, replace=False)]
        runs.append(Run.from_records(records, name))  # integer scores: many ties, broken by the tie rule
    ours = scores(fuse(runs, method, norm=norm, k=k))
    theirs = _ranx_fused(runs, method, norm, k)
    assert set(ours) == {key for key in theirs if key[0] in {q for q, _ in ours}}
    assert max(abs(ours[key] - theirs[key]) for key in ours) < 1e-12


def test_specs_round_trip_and_bad_specs_say_why():
    method, inputs, options = split_fusion_spec("rrf:bm25-flat+(dense:all-MiniLM-L6-v2?index=faiss)?k=10")
    assert (method, inputs, options) == ("rrf", ["bm25-flat", "dense:all-MiniLM-L6-v2?index=faiss"], {"k": "10"})
    system = parse_system("rrf:bm25-flat+(dense:all-MiniLM-L6-v2?index=faiss)?k=10")
    assert isinstance(system, Fusion) and system.spec == "rrf:bm25-flat+(dense:all-MiniLM-L6-v2?index=faiss)?k=10"
    assert parse_system(system.spec).key_parts() == system.key_parts()
    assert parse_system("rrf:bm25-flat+bm25-multifield?k=60").spec == "rrf:bm25-flat+bm25-multifield"  # defaults dropped
    assert [s.spec for s in system.inputs] == ["bm25-flat", "dense:all-MiniLM-L6-v2?index=faiss"]
    for bad, why in (
        ("rrf:bm25-flat", "at least two"),
        ("rrf:bm25-flat+bm25-flat", "listed twice"),
        ("rrf:bm25-flat+dense:all-MiniLM-L6-v2?index=faiss", "inside parentheses"),
        ("rrf:bm25-flat+(bm25-multifield", "without its ')'"),
        ("rrf:bm25-flat+bm25-multifield?k=x", "whole number"),
        ("combsum:bm25-flat+bm25-multifield?norm=l2", "norm must be one of"),
        ("rrf:bm25-flat++bm25-multifield", "empty system"),
    ):
        with pytest.raises(UnknownSystem, match=re.escape(why)):
            parse_system(bad)


def test_order_of_inputs_changes_nothing(tiny_dir, cache):
    ds = BeirDataset(tiny_dir, "tiny")
    ab, ba = parse_system("rrf:bm25-flat+bm25-multifield"), parse_system("rrf:bm25-multifield+bm25-flat")
    assert run_key(cache, ds, "test", ab) == run_key(cache, ds, "test", ba)  # one cached run
    first = get_run(ds, "test", ab, cache=cache, progress=False)
    assert cached_run(cache, ds, "test", ba).frame.equals(first.frame)


def test_a_fusion_is_a_system_like_any_other(tiny_dir, cache):
    """Built through the runner (its inputs' runs first), cached, evaluated, explained, reproduced."""
    from retrieval.cli import main
    from retrieval.evaluate import evaluate
    from retrieval.reproduce import reproduce_command

    ds = BeirDataset(tiny_dir, "tiny")
    system = parse_system("rrf:bm25-flat+bm25-multifield")
    assert system.builds_quickly() and system.availability() == (True, "")
    run = get_run(ds, "test", system, cache=cache, progress=False)
    flat = get_run(ds, "test", "bm25-flat", cache=cache, progress=False)
    multi = get_run(ds, "test", "bm25-multifield", cache=cache, progress=False)
    assert scores(run) == pytest.approx(scores(fuse([flat, multi], "rrf")))
    assert evaluate(run, ds.qrels("test")).mean["nDCG@10"] > 0
    top = run.for_query("q1").iloc[0]
    ex = system.explain(ds, ds.queries["q1"], top["docid"], cache=cache, qid="q1", input_runs=[flat, multi])
    assert ex.total == pytest.approx(float(top["score"]), abs=1e-12)
    assert ex.summary().startswith("#") and " and #" in ex.summary() and "BM25 (flat)" in ex.summary()
    assert "fused score = sum of the parts" in ex.report()
    rep = reproduce_command(ds, "test", system, data_dir=tiny_dir.parent, cache_dir=cache.root)
    assert rep.argv[-2:] == ("--system", "rrf:bm25-flat+bm25-multifield?k=60")  # defaults spelt out, as for every run
    assert main(list(rep.argv)) == 0  # the command rebuilds nothing new and prints its metrics


def test_a_neural_input_without_a_run_is_not_quick():
    system = parse_system("rrf:bm25-flat+dense:all-MiniLM-L6-v2")
    assert not system.builds_quickly()
    assert system.builds_quickly(lambda s: s.spec.startswith("dense"))  # its run is cached: fusing is seconds
    args, _ = system.reproduce_args()
    assert args[1].startswith("rrf:bm25-flat+(dense:all-MiniLM-L6-v2?dtype=")  # the input's dtype spelt out


@needs_scifact
def test_scifact_rrf_equals_ranx_and_is_evaluated(scifact, session_cache):
    from retrieval.evaluate import evaluate

    flat = get_run(scifact, "test", "bm25-flat", cache=session_cache, progress=False)
    multi = get_run(scifact, "test", "bm25-multifield", cache=session_cache, progress=False)
    run = get_run(scifact, "test", "rrf:bm25-flat+bm25-multifield", cache=session_cache, progress=False)
    ours, theirs = scores(run), _ranx_fused([flat, multi], "rrf")
    top = {key for key in theirs if key in ours}
    assert len(top) == len(ours) and max(abs(ours[key] - theirs[key]) for key in top) < 1e-12
    ndcg = evaluate(run, scifact.qrels("test")).mean["nDCG@10"]
    assert 0.6 < ndcg < 0.75  # two BM25 conditions (0.679, 0.665) fused: in their neighbourhood
