"""retrieval.published, retrieval.series and the model-size charts: sourced, validated facts; one line per
series in parameter order; never two average sets in one chart."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest

from retrieval import published, series
from retrieval.errors import DataFormatError
from view import charts

from .conftest import ROOT

SHARED = ROOT.parent / "shared" / "reference"
DATA = ROOT / "retrieval" / "data"
INTERNAL = ("read_file", "NOT checked", "code index", "digitized by me", "SUSPECT", "task brief")


def _csv_rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


# ---- the data files ------------------------------------------------------------------------------


def test_every_shared_reference_row_is_in_the_project_data_unchanged():
    if not (SHARED / "published_ndcg.csv").is_file():
        pytest.skip(f"shared reference folder not found at {SHARED}")
    shared = _csv_rows(SHARED / "published_ndcg.csv")
    ours = {(r["dataset"], r["model"]): r for r in _csv_rows(DATA / published.PUBLISHED_FILE)}
    assert len(shared) > 400
    for row in shared:
        mine = ours[(row["dataset"], row["model"])]
        assert {k: mine[k] for k in row} == row


def test_every_shared_figure_row_is_in_the_project_figure_file():
    if not (SHARED / "figure_digitized_beir_avg.csv").is_file():
        pytest.skip(f"shared reference folder not found at {SHARED}")
    fig = published.figure()
    beir = fig[fig["panel"] == "beir"]
    shared = _csv_rows(SHARED / "figure_digitized_beir_avg.csv")
    assert len(beir) == len(shared)
    for row in shared:
        hit = beir[(beir["figure_version"] == row["figure_version"]) & (beir["model"] == row["series"].split(" = ")[0])]
        assert len(hit) == 1
        assert hit["score"].iloc[0] == pytest.approx(float(row["beir_avg_ndcg_at_10_digitized"]))
    # The MS MARCO panel is there too, and every figure value says it was read off.
    assert set(fig["panel"]) == {"beir", "msmarco"} and set(fig["kind"]) == {"figure"}
    assert fig["reference"].str.contains("read off").all()


@pytest.mark.parametrize("frame", ["published", "msmarco", "figure"])
def test_every_row_is_sourced_in_range_and_shows_no_internal_notes(frame):
    rows = getattr(published, frame)()
    score = {"published": "ndcg_at_10", "msmarco": "mrr_at_10", "figure": "score"}[frame]
    assert rows[score].between(0, 1).all()
    for col in ("citation", "reference", "url", "series", "setup"):
        assert rows[col].str.strip().str.len().gt(1).all(), col
        for word in INTERNAL:
            assert not rows[col].str.contains(word, regex=False).any(), (col, word)
    assert rows["url"].str.startswith("http").all()


def test_the_new_papers_rows_are_there_with_their_setup_and_series():
    pub = published.published()
    assert len(pub) == 496 + 108
    sun = pub[pub["citation"].str.startswith("Sun et al. 2023")]
    dai = pub[pub["citation"].str.startswith("Dai et al. 2022")]
    assert len(sun) == 64 and len(dai) == 44
    assert sun.loc[sun["base_series"] == "monoT5", "setup"].str.contains("top-100").all()
    # Different setups are different series (one line each), sharing the model series' colour.
    mono = pub[pub["base_series"] == "monoT5"]
    assert mono["series"].nunique() >= 4 and mono.groupby("series")["setup"].nunique().eq(1).all()
    row = pub[(pub["dataset"] == "scifact") & (pub["model"] == "monoT5-base 220M (Sun et al. 2023 Table 1)")]
    assert row["ndcg_at_10"].iloc[0] == 0.7340  # Table 1 prints 73.40; the file holds 0.7340 as printed


def test_a_row_with_a_caveat_is_listed_but_never_plotted():
    cav = published.caveats()
    assert len(cav) == 1 and cav["dataset"].iloc[0] == "webis-touche2020"
    pts = published.dataset_points("webis-touche2020")
    assert "monoT5-3B (Dai et al. 2022 Table 2)" not in set(pts["label"])
    assert "monoT5-3B (Dai et al. 2022 Table 2)" in set(published.average_points(["webis-touche2020"])[1]["model"])


def test_every_model_on_a_line_has_its_parameters():
    pub = published.plottable()
    for name, g in pub[pub["family"] != "bm25"].groupby("series"):
        assert g["params_millions"].notna().all() or g["params_millions"].isna().all(), name
    assert pub.loc[pub["family"] == "bm25", "params_millions"].isna().all()


# ---- validation on load --------------------------------------------------------------------------

HEADER = (
    "dataset,model,family,params_millions,ndcg_at_10,source,notes,series,base_series,setup,kind,citation,reference,url,caveat"
)
GOOD = "scifact,m1,dense,110,0.6,src,,S,S,full corpus,published,C 2020,Ref 2020,https://x.org,"


@pytest.mark.parametrize(
    "bad, words",
    [
        ("scifact,m2,dense,110,0.6,,,S,S,full corpus,published,C,R,https://x.org,", "source"),
        ("scifact,m2,dense,110,65.1,src,,S,S,full corpus,published,C,R,https://x.org,", "outside [0, 1]"),
        ("scifact,m2,dense,abc,0.6,src,,S,S,full corpus,published,C,R,https://x.org,", "not a number"),
        ("scifact,m2,dense,110,0.6,src,,S,S,full corpus,published,,R,https://x.org,", "citation"),
        ("scifact,m2,dense,110,0.6,src,,S,S,full corpus,published,C,R,x.org,", "link"),
        ("scifact,m2,bm25,110,0.6,src,,S,S,full corpus,published,C,R,https://x.org,", "BM25"),
        ("scifact,m2,dense,,0.6,src,,S,S,full corpus,published,C,R,https://x.org,", "no params_millions"),
        ("scifact,m1,dense,110,0.7,src,,S,S,full corpus,published,C,R,https://x.org,", "twice"),
        ("scifact,m2,dense,110,0.6,src,,S,S,full corpus", "columns"),
        ("scifact,m2,wizard,110,0.6,src,,S,S,full corpus,published,C,R,https://x.org,", "family"),
    ],
)
def test_a_malformed_row_raises_naming_file_and_line(bad, words):
    text = f"{HEADER}\n{GOOD}\n{bad}\n"
    with pytest.raises(DataFormatError) as err:
        published.parse_published(text)
    assert err.value.line == 3 and err.value.path.endswith(published.PUBLISHED_FILE)
    assert words in str(err.value) and f"{published.PUBLISHED_FILE}:3" in str(err.value)


def test_a_missing_column_is_reported_on_line_1():
    with pytest.raises(DataFormatError, match=":1: missing column"):
        published.parse_published(HEADER.replace(",citation", "") + "\n")


def test_a_good_file_parses():
    frame = published.parse_published(f"{HEADER}\n{GOOD}\n")
    assert frame["ndcg_at_10"].tolist() == [0.6] and frame["params_millions"].tolist() == [110.0]


# ---- averages ------------------------------------------------------------------------------------


def test_average_is_over_datasets_every_plotted_model_has_and_names_them():
    datasets = published.default_average_datasets()
    assert "scifact" in datasets and len(datasets) >= 5
    points, left_out = published.average_points(datasets)
    pub = published.plottable()
    assert points["datasets"].nunique() == 1 and all(d in points["datasets"].iloc[0] for d in datasets)
    for _, p in points.iterrows():
        rows = pub[(pub["model"] == p["label"]) & pub["dataset"].isin(datasets)]
        assert sorted(rows["dataset"]) == sorted(datasets)
        assert p["score"] == pytest.approx(rows["ndcg_at_10"].mean())
    for _, row in left_out.iterrows():
        have = set(pub.loc[pub["model"] == row["model"], "dataset"])
        assert not set(datasets) <= have and row["series"]
    assert set(points["label"]).isdisjoint(left_out["model"])
    with pytest.raises(ValueError):
        published.average_points([])


def test_paper_series_share_their_datasets():
    datasets = published.common_datasets(published.PAPER_SERIES)
    points, left_out = published.average_points(datasets, published.PAPER_SERIES)
    assert len(datasets) >= 8 and left_out.empty
    assert set(points["series"]) == set(published.PAPER_SERIES)


# ---- charts --------------------------------------------------------------------------------------


def _unit_specs(spec: dict) -> list[dict]:
    """Every single-mark spec inside a (layered / concatenated / faceted) Vega-Lite spec."""
    if "mark" in spec:
        return [spec]
    out = []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            out += _unit_specs(sub)
    if "spec" in spec:
        out += _unit_specs(spec["spec"])
    return out


def _panels(spec: dict) -> list[dict]:
    for key in ("hconcat", "vconcat", "concat"):
        if key in spec:
            return spec[key]
    return [spec]


def _rows(spec: dict, datasets: dict, inherited: str | None = None) -> list[dict]:
    name = spec.get("data", {}).get("name", inherited)
    rows = list(datasets.get(name, [])) if "mark" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            rows += _rows(sub, datasets, name)
    return rows


def _mark(unit: dict) -> str:
    return unit["mark"]["type"] if isinstance(unit["mark"], dict) else unit["mark"]


def _line_check(chart, points: pd.DataFrame) -> None:
    spec = chart.to_dict()
    lines = [u for u in _unit_specs(spec) if _mark(u) == "line"]
    assert lines, "no line layer"
    rows = pd.DataFrame(spec["datasets"][lines[0]["data"]["name"]])
    assert lines[0]["encoding"]["detail"]["field"] == "series" and lines[0]["encoding"]["order"]["field"] == "params_millions"
    sized = points[points["params_millions"] > 0]
    expected = {s for s, g in sized.groupby("series") if g["params_millions"].nunique() >= 2}
    assert set(rows["series"]) == expected  # one line per series with at least two sizes, no other
    for _, g in rows.groupby("series", sort=False):
        assert list(g["params_millions"]) == sorted(g["params_millions"]) and len(g) >= 2


def test_one_line_per_series_in_parameter_order_with_a_label_beside_it():
    pts = published.dataset_points("scifact")
    chart, message = charts.model_size_chart(pts, title="scifact", fit_width=950)
    _line_check(chart, pts)
    spec = chart.to_dict()
    texts = [u for u in _unit_specs(spec) if _mark(u) == "text"]
    labels = pd.DataFrame([r for t in texts for r in spec["datasets"][t["data"]["name"]]])
    gtr = labels[labels["series"] == "GTR (MTEB)"]
    assert len(gtr) == 1 and gtr["label_x"].iloc[0] in {110, 335, 1240, 4800}  # beside one of its sizes
    assert labels["text"].str.contains("BM25").any()  # the BM25 rules are labelled too
    points = [u for u in _unit_specs(spec) if _mark(u) == "point"]
    assert points[0]["encoding"]["shape"]["field"] == "family" and points[0]["encoding"]["color"]["field"] == "series"
    assert points[0]["encoding"]["x"]["scale"]["type"] == "log"
    tips = {t["field"] for t in points[0]["encoding"]["tooltip"]}
    assert tips == {"label", "params_millions", "score", "datasets", "setup", "citation"}
    rules = [u for u in _unit_specs(spec) if _mark(u) == "rule"]
    assert rules and all("params_millions" not in {t["field"] for t in r["encoding"]["tooltip"]} for r in rules)
    assert "no parameter count" in message


def test_measured_runs_are_hollow_on_their_series_colour_joined_and_beside_the_published_value():
    meas = published.measured_points(
        [
            {
                "label": "GTR base",
                "family": "dense",
                "params_millions": 110,
                "ndcg_at_10": 0.60,
                "series": "GTR",
                "published_model": "gtr-t5-base",
            },
            {
                "label": "GTR large",
                "family": "dense",
                "params_millions": 335,
                "ndcg_at_10": 0.64,
                "series": "GTR",
                "published_model": "gtr-t5-large",
            },
            {"label": "BM25 mine", "family": "bm25", "params_millions": None, "ndcg_at_10": 0.679, "series": "BM25"},
        ],
        "scifact",
    )
    assert meas.loc[0, "published_value"] == pytest.approx(0.59738) and "gtr-t5-base (Muennighoff" in meas.loc[0, "reference"]
    assert meas.loc[0, "difference"] == pytest.approx(0.60 - 0.59738)
    assert math.isnan(meas.loc[2, "published_value"])
    pts = pd.concat([published.dataset_points("scifact"), meas], ignore_index=True)
    chart, _ = charts.model_size_chart(pts)
    spec = chart.to_dict()
    hollow = [u for u in _unit_specs(spec) if _mark(u) == "point" and u["mark"].get("filled") is False]
    assert len(hollow) == 1
    rows = pd.DataFrame(spec["datasets"][hollow[0]["data"]["name"]])
    assert set(rows["series"]) == {"GTR (measured here)"} and set(rows["kind"]) == {published.MEASURED_KIND}
    assert {"published_text", "difference_text"} <= {t["field"] for t in hollow[0]["encoding"]["tooltip"]}
    assert list(rows["published_text"]) == ["0.597", "0.634"] and list(rows["difference_text"]) == ["+0.003", "+0.006"]
    # the same colour as the published GTR line
    colors = next(u["encoding"]["color"]["scale"] for u in _unit_specs(spec) if "color" in u["encoding"])
    color_of = dict(zip(colors["domain"], colors["range"]))
    assert color_of["GTR (measured here)"] == color_of["GTR (MTEB)"]
    joined = [u for u in _unit_specs(spec) if _mark(u) == "line" and u["mark"].get("strokeWidth") == 1.8]
    assert len(joined) == 1 and len(spec["datasets"][joined[0]["data"]["name"]]) == 2
    # a measured BM25 run is a rule of its own, labelled "(measured)"
    texts = {r["text"] for u in _unit_specs(spec) if _mark(u) == "text" for r in spec["datasets"][u["data"]["name"]]}
    assert any(t.replace("\n", " ") == "BM25 mine (measured)" for t in texts)


def test_no_chart_mixes_average_sets():
    datasets = published.default_average_datasets()
    avg, _ = published.average_points(datasets)
    chart, _ = charts.model_size_chart(avg)
    spec = chart.to_dict()
    sets = {r["datasets"] for r in _rows(spec, spec["datasets"]) if "datasets" in r}
    assert sets == {published.average_label(datasets)}
    # The paper view: each panel holds one set (figure panels: the paper's own; table panels: ours).
    for left, right in (
        (published.figure_points("msmarco"), published.figure_points("beir")),
        (
            published.msmarco_points(),
            published.average_points(published.common_datasets(published.PAPER_SERIES), published.PAPER_SERIES)[0],
        ),
    ):
        chart, _ = charts.paper_chart(left, right, "t")
        spec = chart.to_dict()
        panels = _panels(spec)
        assert len(panels) == 2
        for panel in panels:
            assert len({r["datasets"] for r in _rows(panel, spec["datasets"]) if "datasets" in r}) == 1
    fig_chart, _ = charts.paper_chart(published.figure_points("msmarco"), published.figure_points("beir"), "t")
    spec = fig_chart.to_dict()
    assert {r["kind"] for r in _rows(spec, spec["datasets"]) if "kind" in r} == {published.FIGURE_KIND}


def test_paper_figure_lines_are_the_papers_series():
    beir = published.figure_points("beir")
    chart, _ = charts.model_size_chart(beir)
    _line_check(chart, beir)
    assert beir.set_index("label").loc["monoT5 (3B)", "score"] == pytest.approx(0.532)
    with pytest.raises(ValueError):
        published.figure_points("beir", "v99")


def test_grid_has_one_panel_per_dataset_and_lines_only_for_several_sizes():
    pts = published.grid_points(["scifact", "arguana"])
    panels, _ = charts.grid_panels(pts)
    assert [p.to_dict()["title"] for p in panels] == ["arguana", "scifact"]
    for panel in panels:
        spec = panel.to_dict()
        data = pd.concat([pd.DataFrame(spec["datasets"][u["data"]["name"]]) for u in _unit_specs(spec) if _mark(u) == "line"])
        assert len(set(data["datasets"])) == 1
        for _, g in data.groupby("series"):
            assert g["params_millions"].nunique() >= 2
    chart, _ = charts.grid_chart(pts)
    spec = chart.to_dict()
    assert len(spec["concat"]) == 2 and spec["resolve"]["scale"]["y"] == "independent"


def test_model_size_chart_fails_soft():
    chart, message = charts.model_size_chart(pd.DataFrame(columns=list(published.POINT_COLUMNS)))
    assert chart is None and "Nothing to plot" in message
    chart, message = charts.model_size_chart(pd.DataFrame({"label": ["x"]}))
    assert chart is None and "lack" in message


def test_chart_downloads_as_svg():
    import importlib.util

    chart, _ = charts.model_size_chart(published.figure_points("beir"))
    body, mime, ext = charts.chart_image(chart)
    if importlib.util.find_spec("vl_convert") is not None:  # requirements.txt installs it: SVG, nothing else
        assert ext == "svg" and mime == "image/svg+xml" and body.lstrip().startswith(b"<svg")
    else:  # without it: a standalone HTML page with the spec
        assert ext == "html" and b"vega" in body


# ---- series --------------------------------------------------------------------------------------


def test_size_ladders_come_from_the_registry_in_parameter_order():
    assert series.size_ladder("monoT5") == ["monot5:small", "monot5:base", "monot5:large", "monot5:3b"]
    assert series.size_ladder("gtr") == ["dense:gtr-t5-base", "dense:gtr-t5-large", "dense:gtr-t5-xl", "dense:gtr-t5-xxl"]
    assert series.size_ladder("no such series") == []
    ladders = series.ladders()
    assert {"monoT5", "GTR", "bge v1.5"} <= set(ladders) and all(len(v) >= 2 for v in ladders.values())
    name, models = series.series_of_spec("monot5:3b?depth=100")
    assert name == "monoT5" and models.split("|")[0] == "monoT5-3B (Sun et al. 2023 Table 1)"  # BM25 top-100, as here
    assert series.series_of_spec("bm25-flat")[0] == "BM25"


def test_gain_per_tenfold_is_the_least_squares_slope_on_log10_params():
    pts = pd.DataFrame(
        {
            "series": ["a"] * 3 + ["b", "c", "c"],
            "params_millions": [10, 100, 1000, 50, 10, 10],
            "score": [0.30, 0.42, 0.50, 0.4, 0.1, 0.2],
        }
    )
    out = series.gain_per_tenfold(pts).set_index("series")
    assert list(out.index) == ["a"]  # b has one point, c one size
    assert out.loc["a", "gain_per_10x"] == pytest.approx(np.polyfit([1, 2, 3], [0.30, 0.42, 0.50], 1)[0])
    assert out.loc["a", "points"] == 3 and out.loc["a", "smallest_m"] == pytest.approx(10)


def test_params_for_spec_reads_the_one_model_registry():
    from retrieval.neural import registry

    assert registry.params_for_spec("dense:all-MiniLM-L6-v2") == 22.7
    assert registry.params_for_spec("monot5:base") == 220.0
    assert registry.params_for_spec("monot5:base?depth=1000") == 220.0
    assert registry.params_for_spec("bm25-flat") is None
    assert registry.params_for_spec("dense:not-a-model") is None
    published_models = set(published.published()["model"])
    for m in registry.models():
        assert m.series
        assert all(name in published_models for name in m.published_model.split("|") if name)
