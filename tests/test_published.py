"""retrieval.published and retrieval.charts: the shipped facts keep their sources; averages, figure points, the chart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retrieval import charts, published

from .conftest import ROOT

SHARED = ROOT.parent / "shared" / "reference"
DATA = ROOT / "retrieval" / "data"


@pytest.mark.parametrize("name", [published.PUBLISHED_FILE, published.FIGURE_FILE])
def test_shipped_facts_are_the_shared_reference_files_unchanged(name):
    if not (SHARED / name).is_file():
        pytest.skip(f"shared reference folder not found at {SHARED}")
    assert (DATA / name).read_bytes() == (SHARED / name).read_bytes()


def test_every_published_row_names_its_source_and_is_a_valid_ndcg():
    pub = published.published()
    assert len(pub) > 400
    assert pub["source"].str.strip().str.len().gt(10).all()
    assert pub["ndcg_at_10"].between(0, 1).all()
    assert not pub.duplicated(["dataset", "model"]).any()


def test_scifact_points_hold_the_published_values_with_sources():
    pts = published.dataset_points("scifact").set_index("label")
    flat = pts.loc["BM25 flat (Pyserini/Anserini, title+text in one field)"]
    assert flat["ndcg_at_10"] == pytest.approx(0.6789) and "pyserini" in flat["source"].lower()
    mono = pts.loc["monoT5-3B (castorini/monot5-3b-msmarco-10k)"]
    assert mono["ndcg_at_10"] == pytest.approx(0.777) and mono["params_millions"] == 3000 and "Rosa" in mono["source"]
    assert set(pts["kind"]) == {"published"}


def test_average_is_over_datasets_every_plotted_model_has():
    datasets = published.default_average_datasets()
    assert "scifact" in datasets and len(datasets) >= 5
    points, left_out = published.average_points(datasets)
    pub = published.published()
    for _, p in points.iterrows():
        rows = pub[(pub["model"] == p["label"]) & pub["dataset"].isin(datasets)]
        assert sorted(rows["dataset"]) == sorted(datasets)
        assert p["ndcg_at_10"] == pytest.approx(rows["ndcg_at_10"].mean())
        assert str(len(datasets)) in p["source"]
    # Models lacking a dataset are left out and say what they miss, never averaged over fewer.
    for _, row in left_out.iterrows():
        have = set(pub.loc[pub["model"] == row["model"], "dataset"])
        assert not set(datasets) <= have
    assert set(points["label"]).isdisjoint(left_out["model"])


def test_average_needs_datasets():
    with pytest.raises(ValueError):
        published.average_points([])


def test_figure_points_are_labelled_as_read_from_the_figure_with_full_sources():
    versions = published.figure_versions()
    assert len(versions) == 2
    for v in versions:
        fig = published.figure_frame(v)
        assert set(fig["kind"]) == {published.FIGURE_LABEL}
        assert "figure" in published.FIGURE_LABEL and "±0.002" in published.FIGURE_LABEL
        assert not fig["source"].str.lower().str.startswith("same").any()
        assert fig["source"].str.contains("scaling-zero-shot-retrieval").all()
    v5 = published.figure_frame(versions[0]).set_index("label")
    assert v5.loc["monoT5 (3B) [figure]", "ndcg_at_10"] == pytest.approx(0.532)
    with pytest.raises(ValueError):
        published.figure_frame("v99")


def _chart_rows(chart) -> list[dict]:
    spec = chart.to_dict()
    return [row for data in spec["datasets"].values() for row in data]


def test_model_size_chart_holds_points_rules_and_sources():
    pts = pd.concat([published.dataset_points("scifact"), published.measured_points([
        {"label": "MiniLM", "family": "dense", "params_millions": 22.7, "ndcg_at_10": 0.645, "source": "cache entry X"},
        {"label": "BM25 mine", "family": "bm25", "params_millions": None, "ndcg_at_10": 0.6789, "source": "cache entry Y"},
    ])], ignore_index=True)
    chart, message = charts.model_size_chart(pts, title="scifact")
    assert chart is not None
    rows = _chart_rows(chart)
    labels = {r["label"]: r for r in rows}
    assert labels["monoT5-3B (castorini/monot5-3b-msmarco-10k)"]["ndcg_at_10"] == pytest.approx(0.777)
    assert labels["MiniLM (measured)"]["kind"] == "measured"
    assert labels["BM25 mine (measured)"]["source"] == "cache entry Y"
    assert all(r["source"] for r in rows)
    spec = chart.to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["point", "point", "rule", "rule"]  # published, measured on top; BM25 published and measured rules
    assert spec["layer"][3]["mark"]["strokeDash"] != [1, 0]  # the measured rule is dashed
    assert spec["layer"][1]["mark"]["strokeWidth"] > 0  # measured points are outlined
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    tooltip_fields = {t["field"] for t in spec["layer"][0]["encoding"]["tooltip"]}
    assert {"source", "kind", "label"} <= tooltip_fields
    # Rows with neither a size nor BM25 family are reported, not plotted.
    assert "no parameter count" in message


def test_model_size_chart_fails_soft():
    chart, message = charts.model_size_chart(pd.DataFrame(columns=list(published.POINT_COLUMNS)))
    assert chart is None and "Nothing to plot" in message
    chart, message = charts.model_size_chart(pd.DataFrame({"label": ["x"]}))
    assert chart is None and "lack" in message


def test_params_for_spec_reads_the_one_model_registry():
    from retrieval.neural import registry

    assert registry.params_for_spec("dense:all-MiniLM-L6-v2") == 22.7
    assert registry.params_for_spec("monot5:base") == 220.0
    assert registry.params_for_spec("monot5:base?depth=1000") == 220.0
    assert registry.params_for_spec("bm25-flat") is None
    assert registry.params_for_spec("dense:not-a-model") is None
