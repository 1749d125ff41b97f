"""The model-size charts read as Vega-Lite specs (``chart.to_dict()``): labels that cover nothing, the paper's
encoding, series of one model told apart, measured runs on top and labelled, the gain per tenfold only where it
means something, and no "None" in a table.

Label geometry is recomputed here from the spec alone, at the chart's own pixel scale (its ``width`` and
``height``, its x and y domains): a label's box is its text's length times the font size, each character counted at
the widest advance of its kind in Source Sans (``view.labels.text_size``; the browser test checks this estimate
against the text Chromium draws), one line 16 px high and each further line 15 px more; a point is a circle of its
mark's area; lines are their segments between sizes; a rule is a horizontal line across the plot.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from retrieval import published, series
from view import charts, tables
from view import labels as lay

# ---- the chart's geometry, from its spec -----------------------------------------------------------------


def _mark(unit: dict) -> dict:
    return unit["mark"] if isinstance(unit["mark"], dict) else {"type": unit["mark"]}


def _scale(units: list[dict], channel: str) -> dict:
    return next(u["encoding"][channel]["scale"] for u in units if channel in u.get("encoding", {}))


def geometry(spec: dict, width: float | None = None, text_scale: float = 1.0) -> dict:
    """Label boxes, points, segments and rules of a layered model-size spec, in pixels of its plot area (``width``:
    the plot as wide as that instead of the spec's own width; ``text_scale``: text that much wider)."""
    units, data = spec["layer"], spec["datasets"]
    w, h = float(width or spec["width"]), float(spec["height"])
    (xlo, xhi), (ylo, yhi) = _scale(units, "x")["domain"], _scale(units, "y")["domain"]

    def px(v: float) -> float:
        return (math.log10(v) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo)) * w

    def py(v: float) -> float:
        return (1 - (v - ylo) / (yhi - ylo)) * h

    out = {"labels": [], "points": [], "segments": [], "rules": [], "width": w, "height": h}
    for unit in units:
        mark, rows = _mark(unit), pd.DataFrame(data[unit["data"]["name"]])
        if mark["type"] == "text":
            for _, r in rows.iterrows():
                lines = r["text"].split("\n")
                tw = max(lay.text_size(line)[0] for line in lines) * text_scale
                x = px(r["label_x"]) + mark.get("dx", 0)
                x0 = {"left": x, "right": x - tw, "center": x - tw / 2}[mark["align"]]
                top = py(r["label_y"]) - lay.GLYPH_PX / 2
                box = (x0, top, x0 + tw, top + lay.GLYPH_PX + (len(lines) - 1) * lay.LINE_PX)
                out["labels"].append((r["text"], r["series"], box))
        elif mark["type"] == "point":
            r = math.sqrt(mark["size"] / math.pi) + (mark.get("strokeWidth", 0) / 2 if mark.get("filled") is False else 0)
            out["points"] += [(px(x), py(y), r) for x, y in zip(rows["params_millions"], rows["score"])]
        elif mark["type"] == "line":
            key = unit["encoding"]["detail"]["field"]
            for _, g in rows.sort_values("params_millions").groupby(key):
                xs, ys = [px(v) for v in g["params_millions"]], [py(v) for v in g["score"]]
                out["segments"] += list(zip(xs, ys, xs[1:], ys[1:]))
        elif mark["type"] == "rule":
            out["rules"] += [py(v) for v in rows["score"]]
    return out


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _hits_circle(box, x, y, r) -> bool:
    nx, ny = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
    return (nx - x) ** 2 + (ny - y) ** 2 < r * r


def _hits_segment(box, seg, steps: int = 400) -> bool:
    x0, y0, x1, y1 = seg  # sampled finely: independent of the clipping code the chart uses
    return any(box[0] < x0 + t * (x1 - x0) < box[2] and box[1] < y0 + t * (y1 - y0) < box[3] for t in np.linspace(0, 1, steps))


def collisions(geo: dict) -> list[str]:
    """Every label that overlaps another label, a point, a line or a rule, or leaves the plot."""
    found, labels = [], geo["labels"]
    for i, (text, _, box) in enumerate(labels):
        if box[0] < -0.01 or box[1] < -0.01 or box[2] > geo["width"] + 0.01 or box[3] > geo["height"] + 0.01:
            found.append(f"{text!r} leaves the plot {box}")
        found += [f"{text!r} overlaps label {other!r}" for other, _, b in labels[i + 1 :] if _overlap(box, b)]
        found += [f"{text!r} covers a point at {x:.0f},{y:.0f}" for x, y, r in geo["points"] if _hits_circle(box, x, y, r)]
        found += [f"{text!r} crosses a line {s}" for s in geo["segments"] if _hits_segment(box, s)]
        found += [f"{text!r} crosses a rule at y={y:.0f}" for y in geo["rules"] if box[1] < y < box[3]]
    return found


def legend_values(spec: dict) -> set[str]:
    """The series named in the chart's "not labelled" legend."""
    out = set()
    for unit in spec["layer"]:
        for channel in ("color", "strokeDash"):
            legend = unit.get("encoding", {}).get(channel, {}).get("legend")
            if legend:
                out |= set(legend.get("values", []))
    return out


# ---- the default views -------------------------------------------------------------------------------------


def default_series(points: pd.DataFrame) -> pd.DataFrame:
    """The page's default selection (pages/model_size.py pick_series): several sizes, the paper's, measured."""
    sizes = points[points["params_millions"] > 0].groupby("series")["params_millions"].nunique()
    keep = set(sizes[sizes >= 2].index) | set(published.PAPER_SERIES) | {s for s in points["series"] if "(measured here)" in s}
    return points[points["series"].isin(keep)]


def measured_scifact() -> pd.DataFrame:
    """What this machine's SciFact runs look like on the page: BM25 flat and multifield and all-MiniLM-L6-v2."""
    bm25 = {"family": "bm25", "params_millions": None, "series": "BM25"}
    rows = [
        {**bm25, "label": "BM25 (flat) [test]", "ndcg_at_10": 0.6789, "published_model": series.series_of_spec("bm25-flat")[1]},
        {
            **bm25,
            "label": "BM25 (multifield) [test]",
            "ndcg_at_10": 0.6647,
            "published_model": series.series_of_spec("bm25-multifield")[1],
        },
        {
            "label": "all-MiniLM-L6-v2 (dense, 22.7M) [test]",
            "family": "dense",
            "params_millions": 22.7,
            "ndcg_at_10": 0.6451,
            "series": "all-MiniLM",
            "published_model": "all-MiniLM-L6-v2",
        },
    ]
    return published.measured_points(rows, "scifact")


def view_points() -> dict[str, pd.DataFrame]:
    scifact = pd.concat([published.dataset_points("scifact"), measured_scifact()], ignore_index=True)
    average, _ = published.average_points(published.default_average_datasets())
    return {
        "scifact": default_series(scifact),
        "nfcorpus": default_series(published.dataset_points("nfcorpus")),
        "average": default_series(average),
        "average scifact only": default_series(
            pd.concat([published.average_points(["scifact"])[0], published.average_measured([measured_scifact()], ["scifact"])])
        ),
    }


# 1000 px wide window: plot ~450 px (the page's column 540 px less the axis); 1500 px: ~950 px.
WIDTHS = (lay.MIN_PLOT_WIDTH, 450, 950)


@pytest.mark.parametrize("name", ["scifact", "nfcorpus", "average", "average scifact only"])
@pytest.mark.parametrize("fit", WIDTHS)
def test_labels_cover_nothing_in_the_default_views(name, fit):
    points = view_points()[name]
    chart, _ = charts.model_size_chart(points, title=name, fit_width=fit)
    spec = chart.to_dict()
    assert spec["autosize"]["type"] == "fit-x" and spec["width"] == fit  # as wide as the page; placed for `fit`
    for width in (fit, fit * 1.3, fit * charts.WIDER):  # and as it gets wider, before the page measures it again
        geo = geometry(spec, width)
        assert geo["labels"] and not collisions(geo), collisions(geo)[:5]
    # every line, lone point and rule is labelled or named in the legend above the chart
    dots, rules, _ = charts.split_points(points)
    shown = set(dots["series"]) | set(charts._merge_rules(rules)["series"])
    labelled = {s for _, s, _ in geometry(spec)["labels"]}
    assert shown == labelled | legend_values(spec), shown - labelled - legend_values(spec)
    if fit >= 900:  # a wide window labels everything
        assert not legend_values(spec)


@pytest.mark.parametrize("version", published.figure_versions())
def test_paper_panels_label_without_collisions(version):
    for left, right in (
        (published.figure_points("msmarco"), published.figure_points("beir", version)),
        (
            published.msmarco_points(),
            published.average_points(published.common_datasets(published.PAPER_SERIES), published.PAPER_SERIES)[0],
        ),
    ):
        panels, _ = charts.paper_panels(left, right)
        assert len(panels) == 2
        for panel in panels:
            spec = panel.to_dict()
            assert spec["width"] == charts.PAPER_PLOT_WIDTH and spec["autosize"]["type"] == "pad"  # fixed size
            geo = geometry(spec)
            assert geo["labels"] and not collisions(geo), collisions(geo)[:5]


def test_a_crowded_chart_names_what_it_cannot_label_in_a_legend():
    points = published.dataset_points("scifact")  # every series published on SciFact, 30-odd
    chart, _ = charts.model_size_chart(points, fit_width=lay.MIN_PLOT_WIDTH)
    spec = chart.to_dict()
    geo = geometry(spec)
    assert not collisions(geo)
    dots, rules, _ = charts.split_points(points)
    shown = set(dots["series"]) | set(charts._merge_rules(rules)["series"])
    labelled = {s for _, s, _ in geo["labels"]}
    missing = legend_values(spec)
    assert missing and shown == labelled | missing and not labelled & missing
    legend = next(u["encoding"]["color"]["legend"] for u in spec["layer"] if u["encoding"].get("color", {}).get("legend"))
    assert legend["labelLimit"] == 0 and legend["orient"] == "top"  # names in full, above the chart


def test_no_label_is_cut_short():
    points = view_points()
    specs = [charts.model_size_chart(p, fit_width=lay.MIN_PLOT_WIDTH)[0].to_dict() for p in points.values()]
    specs += [p.to_dict() for p in charts.paper_panels(published.msmarco_points(), published.figure_points("beir"))[0]]
    for spec in specs:
        for unit in spec["layer"]:
            if _mark(unit)["type"] == "text":
                assert "limit" not in _mark(unit)  # Vega cuts text at `limit` with "…"
                rows = spec["datasets"][unit["data"]["name"]]
                assert rows and not any(r["text"].endswith("…") for r in rows)
                # the text is the series' full name (et al. aside), perhaps on several lines
                for r in rows:
                    joined = r["text"].replace("\n", " ")
                    assert joined.replace(" ", "") in r["series"].replace(" et al.", "").replace(" ", "") or r["text"].startswith(
                        ("BM25", "all-MiniLM-L6-v2")
                    )


# ---- colours, dashes, markers ------------------------------------------------------------------------------


def _scales(spec: dict, channel: str) -> dict[str, object]:
    for unit in spec["layer"]:
        enc = unit.get("encoding", {}).get(channel)
        if enc and enc.get("field") == "series" and "scale" in enc:
            return dict(zip(enc["scale"]["domain"], enc["scale"]["range"]))
    return {}


@pytest.mark.parametrize("version", published.figure_versions())
def test_the_paper_view_uses_the_papers_colours_and_markers(version):
    expected = {  # Rosa et al. 2022, Fig. 1
        "BM25": ("#bfbf00", None),
        "MiniLM reranker": ("#bf00bf", "circle"),
        "MiniLM dense": ("#00bfbf", "circle"),
        "monoT5": ("#0000ff", "circle"),
        "GTR": ("#ff0000", "circle"),
        "SGPT": ("#008000", "square"),
    }
    left, right = published.figure_points("msmarco"), published.figure_points("beir", version)
    for panel in charts.paper_panels(left, right)[0]:
        spec = panel.to_dict()
        colors, shapes, dashes = _scales(spec, "color"), _scales(spec, "shape"), _scales(spec, "strokeDash")
        for name, (color, shape) in expected.items():
            if name in colors:
                assert colors[name] == color, name
                if shape:
                    assert shapes[name] == shape, name
        assert dashes["BM25"] == list(charts.RULE_DASH)  # BM25 dashed
        assert {"monoT5", "GTR", "SGPT", "BM25"} <= set(colors)
        lines = [u for u in spec["layer"] if _mark(u)["type"] == "line"]
        assert lines and all(_mark(u)["strokeWidth"] >= 3 for u in lines)  # the paper's thick lines
    # The key above the panels: the paper's names, in its legend's order.
    both = pd.concat([left, right], ignore_index=True)
    entries = charts.key_entries(both, paper=True, styles=charts.paper_styles(left, right))
    names = charts.paper_names(both)
    assert [names.get(n, n) for n, _, _ in entries] == [
        "BM25",
        "MiniLM (reranker)",
        "MiniLM (dense)",
        "monoT5 (T5 reranker)",
        "GTR (T5 dense)",
        "SGPT (dense)",
    ]


def test_series_of_one_model_from_different_sources_are_told_apart():
    chart, _ = charts.model_size_chart(view_points()["scifact"], fit_width=950)
    spec = chart.to_dict()
    colors, dashes = _scales(spec, "color"), _scales(spec, "strokeDash")
    mono = [s for s in colors if s.startswith("monoT5 (")]
    assert len(mono) == 3  # Rosa, Dai, Sun
    assert len({(colors[s], str(dashes[s])) for s in mono}) == 3 and len({colors[s] for s in mono}) == 3
    assert dashes["monoT5 (Rosa et al. 2022, BM25 top-1000)"] == [1, 0]  # the paper's series: solid, the base tone
    # The MS MARCO panel from published tables: its two pygaggle monoT5 series are told apart too.
    panels, _ = charts.paper_panels(published.msmarco_points(), published.figure_points("beir"))
    spec = panels[0].to_dict()
    colors, dashes = _scales(spec, "color"), _scales(spec, "strokeDash")
    mono = [s for s in colors if s.lower().startswith("monot5")]
    assert len(mono) == 2 and len({colors[s] for s in mono}) == 2 and len({str(dashes[s]) for s in mono}) == 2
    # and the key names each with its own drawing
    entries = charts.key_entries(published.msmarco_points(), paper=True)
    drawn = {n: (s.color, s.dash) for n, s, _ in entries if n.lower().startswith("monot5")}
    assert len(set(drawn.values())) == 2


def test_the_downloaded_image_places_labels_for_wider_text():
    """An image made outside the browser draws text in another sans-serif, up to lay.OTHER_FONT times wider."""
    points = view_points()["scifact"]
    chart, _ = charts.model_size_chart(points, width=760, family_legend=True, image=True)
    spec = chart.to_dict()
    wide = geometry(spec, text_scale=lay.OTHER_FONT)
    assert wide["labels"] and not collisions(wide), collisions(wide)[:5]
    assert spec["width"] == 760 and spec["autosize"]["type"] == "pad"
    families = [u["encoding"]["shape"]["legend"] for u in spec["layer"] if u["encoding"].get("shape", {}).get("legend")]
    assert families and families[0]["orient"] == "bottom"


def test_measured_runs_are_drawn_above_the_published_ones_and_labelled():
    chart, _ = charts.model_size_chart(view_points()["scifact"], fit_width=950)
    spec = chart.to_dict()
    kinds = []
    for unit in spec["layer"]:
        rows = spec["datasets"][unit["data"]["name"]]
        if _mark(unit)["type"] != "text":
            kinds.append({r.get("kind") for r in rows})
    first_measured = next(i for i, k in enumerate(kinds) if published.MEASURED_KIND in k)
    assert all(published.MEASURED_KIND not in k for k in kinds[:first_measured])
    assert all(k == {published.MEASURED_KIND} for k in kinds[first_measured:])  # every later mark layer: measured
    # The measured BM25 flat rule lies on the published one (0.6789 vs 0.679): drawn on top, thicker, dotted.
    rules = [u for u in spec["layer"] if _mark(u)["type"] == "rule"]
    published_rule, measured_rule = rules
    assert _mark(measured_rule)["strokeWidth"] > _mark(published_rule)["strokeWidth"]
    dashes = _scales(spec, "strokeDash")
    assert dashes["BM25 (flat) [test] (measured here)"] == list(charts.MEASURED_RULE_DASH) != dashes["BM25 flat (Pyserini)"]
    texts = {
        r["text"].replace("\n", " ")
        for u in spec["layer"]
        if _mark(u)["type"] == "text"
        for r in spec["datasets"][u["data"]["name"]]
    }
    for label in (
        "BM25 (flat) [test] (measured)",
        "BM25 (multifield) [test] (measured)",
        "all-MiniLM-L6-v2 (dense, 22.7M) [test] (measured)",
    ):
        assert label in texts, label


def test_the_grid_panels_share_styles_and_one_key():
    points = default_series(published.grid_points())
    panels, _ = charts.grid_panels(points)
    assert len(panels) == len(published.published_datasets())
    colors = [_scales(p.to_dict(), "color") for p in panels]
    for a in colors:  # a series has one colour in every panel
        for b in colors:
            assert all(a[s] == b[s] for s in set(a) & set(b))
    for p in panels:
        spec = p.to_dict()
        assert spec["width"] == charts.GRID_PLOT_WIDTH and spec["autosize"]["type"] == "pad"
        assert not legend_values(spec) and not any(_mark(u)["type"] == "text" for u in spec["layer"])
    key = charts.key_html(charts.key_entries(points) + charts.marks_key(points))
    for name in set(points["series"]):
        assert f">{name}</span>" in key.replace("&amp;", "&")
    whole, _ = charts.grid_chart(points)
    spec = whole.to_dict()
    assert len(spec["concat"]) == len(panels)
    # The download keeps each panel's colours: Vega-Lite merges shared scales with different domains into one
    # domain with the first panel's range (BM25 rules came out teal and pink).
    assert all(spec["resolve"]["scale"][c] == "independent" for c in ("color", "shape", "strokeDash"))
    paper, _ = charts.paper_chart(published.msmarco_points(), published.figure_points("beir"), "t")
    assert all(paper.to_dict()["resolve"]["scale"][c] == "independent" for c in ("color", "shape", "strokeDash"))


# ---- the gain per tenfold parameters ------------------------------------------------------------------------


def test_a_gain_per_tenfold_needs_three_sizes_over_three_times_the_parameters():
    pts = pd.DataFrame(
        {
            "series": ["wide"] * 3 + ["two"] * 2 + ["narrow"] * 3 + ["close two"] * 2,
            "params_millions": [10, 100, 1000, 10, 1000, 100, 150, 200, 22.7, 33.4],
            "score": [0.30, 0.42, 0.50, 0.3, 0.5, 0.40, 0.41, 0.43, 0.645, 0.626],
            "kind": "published",
        }
    )
    out = charts.gain_rows(pts).set_index("series")
    assert out.loc["wide", "gain per 10x params"] == f"{np.polyfit([1, 2, 3], [0.30, 0.42, 0.50], 1)[0]:+.4f}"
    for name in ("two", "narrow", "close two"):
        assert out.loc[name, "gain per 10x params"] == "—"
    assert "only 2 sizes" in out.loc["two", "note"]
    assert "span only 2.00x" in out.loc["narrow", "note"]
    assert "only 2 sizes" in out.loc["close two", "note"] and "1.47x" in out.loc["close two", "note"]
    assert list(out.index)[0] == "wide"  # series with a gain first
    assert not out.isna().any().any()
    # all-MiniLM on SciFact: 22.7M -> 33.4M, the "-0.11 per 10x" from two points, now "—" with the reason
    sci = charts.gain_rows(published.dataset_points("scifact")).set_index("series")
    assert sci.loc["all-MiniLM (MTEB)", "gain per 10x params"] == "—"
    gtr = sci.loc["GTR (MTEB)"]
    rows = published.dataset_points("scifact").query("series == 'GTR (MTEB)'")
    assert gtr["gain per 10x params"] == f"{series.gain_per_tenfold(rows)['gain_per_10x'].iloc[0]:+.4f}"


# ---- "n/a" with why, never "None" --------------------------------------------------------------------------


def test_cells_without_a_number_say_na_and_why():
    assert tables.params_cell(None, "bm25") == "n/a: BM25 has no parameters"
    assert tables.params_cell(math.nan, "dense") == "n/a: not stated by the source"
    assert tables.params_cell(22.7, "dense") == "22.7"
    assert tables.disk_cell(None, "not on this machine") == "n/a: not on this machine"
    assert tables.disk_cell(None, "no weights (Lucene index in the cache)") == "n/a: no weights (BM25)"
    assert tables.disk_cell(87.44, "package: x") == "87.4"
    frame = tables.points_table(published.sources_table(view_points()["scifact"]))
    assert not frame.isna().any().any() and not frame.astype(str).isin(["None", "nan"]).any().any()
    bm25 = frame[frame["family"] == "bm25"]
    assert set(bm25["params_millions"]) == {"n/a: BM25 has no parameters"}
    measured = tables.points_table(measured_scifact())
    assert measured.loc[measured["label"].str.startswith("BM25 (flat)"), "published_value"].iloc[0] == "0.6789"
    models = tables.models_table(
        ["bm25-flat", "dense:x"], lambda s: (s, "bm25" if "bm25" in s else "dense", True, ""), lambda s: None
    )
    assert list(models["parameters (M)"]) == ["n/a: BM25 has no parameters", "n/a: not stated by the source"]
    assert tables.fit_width(["n/a: BM25 has no parameters"], "parameters (M)") >= 27 * 7
