"""Charts as pure ``DataFrame -> (chart, message)`` functions that fail soft with a message (Altair, imported lazily).

The model-size charts place their labels in Python (:mod:`view.labels`) from the data and the chart's own scales,
so no label covers a point, a line, a rule or another label; a label that finds no room goes to a legend instead.
"""

from __future__ import annotations

import colorsys
import functools
import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retrieval.published import (
    FAMILY_ORDER,
    FIGURE_KIND,
    MEASURED_KIND,
    PAPER_SERIES,
    POINT_COLUMNS,
    all_base_series,
    figure,
    msmarco,
    multi_size_series,
    published,
)
from retrieval.stats import PairedComparison

from . import labels as lay

PALETTE = (  # dark, distinct tones first (series with several sizes and the paper's series get these), then light ones
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#00a0a0",
    "#393b79",
    "#e377c2",
    "#843c39",
    "#637939",
    "#7b4173",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
)
SHAPES = {
    "dense": "circle",
    "reranker": "square",
    "sparse": "diamond",
    "late-interaction": "triangle-up",
    "bm25": "stroke",
    "external": "cross",
}
BM25_GREY = "#555555"
MEASURED_RULE = "#111111"
# Rosa et al. 2022, Fig. 1, as printed: matplotlib's one-letter colours ("y", "m", "c", "b", "r", "g") and markers,
# by model series, with the names of the paper's legend, in its order.
PAPER_STYLE = {
    "BM25": ("#bfbf00", "stroke", "BM25"),
    "MiniLM cross-encoder": ("#bf00bf", "circle", "MiniLM (reranker)"),
    "MiniLM dense (msmarco)": ("#00bfbf", "circle", "MiniLM (dense)"),
    "monoT5": ("#0000ff", "circle", "monoT5 (T5 reranker)"),
    "GTR": ("#ff0000", "circle", "GTR (T5 dense)"),
    "SGPT": ("#008000", "square", "SGPT (dense)"),
}
# Series of one model series from different sources: the same hue in another tone, and another dash.
VARIANT_DASHES = ((), (7, 3), (2, 2), (9, 3, 2, 3))
MEASURED_DASH = (4, 3)
RULE_DASH = (6, 4)
MEASURED_RULE_DASH = (1, 4)
POINT_SIZE, MEASURED_SIZE, MEASURED_STROKE = 70, 180, 2.5
GRID_PLOT_WIDTH, GRID_PLOT_HEIGHT = 190, 150
PAPER_PLOT_WIDTH = 430
WIDER = 1.6
# What a chart's data carries (its marks and tooltips; the sources table has the rest).
CHART_COLUMNS = (
    "label",
    "series",
    "family",
    "params_millions",
    "score",
    "kind",
    "datasets",
    "setup",
    "citation",
    "published_value",
    "difference",
)


def split_points(points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(dots, rules, unplotted)``: sized points, BM25 rules, and non-BM25 rows without a size."""
    sized = points["params_millions"].notna() & (points["params_millions"] > 0)
    is_rule = ~sized & (points["family"] == "bm25")
    return (
        points[sized].reset_index(drop=True),
        points[is_rule].reset_index(drop=True),
        points[~sized & ~is_rule].reset_index(drop=True),
    )


# ---- series styles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How one series is drawn: colour, line dash (empty: solid), marker shape, and whether it is a rule."""

    color: str
    dash: tuple[int, ...]
    shape: str
    rule: bool = False
    measured: bool = False
    variant: int = 0  # among the series of one model series here (0: the first, drawn on top)


@functools.lru_cache(maxsize=1)
def _base_colors() -> dict[str, str]:
    """One colour per model series on every chart (BM25 grey), from the data's list of series; series with
    several sizes and the paper's get the first (most distinct) colours."""
    names = [n for n in all_base_series() if n != "BM25"]
    multi = set(multi_size_series()) | set(figure()["base_series"])
    names = sorted(names, key=lambda n: (n not in multi, n.lower()))
    return {"BM25": BM25_GREY, **{n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}}


@functools.lru_cache(maxsize=1)
def _series_rank() -> dict[str, int]:
    """A fixed order of the series within each model series: the paper's first, then those with more sizes."""
    rows = pd.concat([f[["series", "base_series", "params_millions"]] for f in (published(), msmarco(), figure())])
    sizes = rows.groupby("series")["params_millions"].nunique()
    names = sorted(sizes.index, key=lambda s: (s not in PAPER_SERIES, -int(sizes[s]), s.lower()))
    return {s: i for i, s in enumerate(names)}


def _tone(color: str, variant: int) -> str:
    """``color`` made darker or lighter for the ``variant``-th series of one model series (0: unchanged)."""
    if variant == 0:
        return color
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, light, s = colorsys.rgb_to_hls(r, g, b)
    light, s = ((light, s), (light * 0.55, s), (light + (1 - light) * 0.3, s * 0.55), (light * 0.8, s * 0.7))[variant % 4]
    return "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hls_to_rgb(h, min(light, 0.65), s))


def series_styles(points: pd.DataFrame, paper: bool = False) -> dict[str, Style]:
    """The style of every series in ``points`` (``series``, ``base_series``, ``family``, ``kind``,
    ``params_millions``): colour by model series, and series of one model series from different sources told
    apart by tone and dash; ``paper``: the colours and markers of Rosa et al. 2022, Fig. 1."""
    base_colors = _base_colors()
    rank = _series_rank()
    rows = points.drop_duplicates("series")
    sized = points["params_millions"].notna() & (points["params_millions"] > 0)
    rule_series = set(points.loc[~sized & (points["family"] == "bm25"), "series"])
    out: dict[str, Style] = {}
    by_base: dict[str, list[str]] = {}
    for _, row in rows.iterrows():
        if row["kind"] != MEASURED_KIND and row["series"] not in rule_series:
            by_base.setdefault(row["base_series"], []).append(row["series"])
    variant = {s: i for names in by_base.values() for i, s in enumerate(sorted(names, key=lambda s: (rank.get(s, 10**6), s)))}
    for _, row in rows.iterrows():
        name, base, family = row["series"], row["base_series"], row["family"]
        color = PAPER_STYLE[base][0] if paper and base in PAPER_STYLE else base_colors.get(base, "#7f7f7f")
        shape = PAPER_STYLE[base][1] if paper and base in PAPER_STYLE else SHAPES.get(family, "circle")
        measured = row["kind"] == MEASURED_KIND
        if name in rule_series:
            out[name] = Style(
                MEASURED_RULE if measured else color, MEASURED_RULE_DASH if measured else RULE_DASH, shape, True, measured
            )
        elif measured:
            out[name] = Style(color, MEASURED_DASH, shape, measured=True)
        else:
            v = variant.get(name, 0)
            out[name] = Style(_tone(color, v), VARIANT_DASHES[v % len(VARIANT_DASHES)], shape, variant=v)
    return out


def _short(series: str) -> str:
    return re.sub(r" et al\. ", " ", series)


def _tooltip(alt, metric: str, measured: bool = False, sized: bool = True):
    """Model, parameters, score, dataset(s), setup and a short citation (never internal notes)."""
    tips = [alt.Tooltip("label:N", title="model")]
    if sized:
        tips.append(alt.Tooltip("params_millions:Q", title="parameters (M)", format=",.1f"))
    tips += [alt.Tooltip("score:Q", title=metric, format=".3f"), alt.Tooltip("datasets:N", title="dataset(s)")]
    if measured:
        tips += [
            alt.Tooltip("published_text:N", title="published"),
            alt.Tooltip("difference_text:N", title="measured - published"),
        ]
    tips += [alt.Tooltip("setup:N", title="setup"), alt.Tooltip("citation:N", title="source")]
    return tips


def _with_comparison_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured rows with the published value and the difference as text ("n/a" with why, never empty)."""
    published_text = [
        f"{p:.3f}" if pd.notna(p) else f"n/a: not published on {d}" for p, d in zip(frame["published_value"], frame["datasets"])
    ]
    difference_text = [f"{d:+.3f}" if pd.notna(d) else "n/a" for d in frame["difference"]]
    return frame.assign(published_text=published_text, difference_text=difference_text)


def _merge_rules(rules: pd.DataFrame) -> pd.DataFrame:
    """BM25 rules at the same height (to 0.001) become one rule whose label names all of them."""
    if rules.empty:
        return rules
    rules = rules.assign(_y=rules["score"].round(3))
    merged = rules.groupby(["kind", "_y"], sort=False).agg(
        {
            **{c: "first" for c in rules.columns if c not in ("_y", "kind", "series", "citation")},
            "series": lambda s: " = ".join(dict.fromkeys(s)),
            "citation": lambda s: "; ".join(dict.fromkeys(s)),
        }
    )
    return merged.reset_index().drop(columns="_y")


def _y_domain(values: pd.Series) -> tuple[float, float]:
    """A y range around ``values`` with a margin, on round numbers (set on the chart, so labels are placed on
    the scale the chart draws)."""
    lo, hi = float(values.min()), float(values.max())
    span = max(hi - lo, 0.02)
    step = next((s for s in (0.005, 0.01, 0.02, 0.05, 0.1) if span / s <= 12), 0.2)
    lo = math.floor((lo - 0.07 * span) / step) * step
    hi = math.ceil((hi + 0.07 * span) / step) * step
    return round(max(lo, 0.0), 4), round(hi, 4)


def _rule_text(series: str) -> str:
    text = _short(series)
    return text if "BM25" in text else f"BM25: {text}"


def _texts(text: str) -> tuple[str, ...]:
    """A label's text and its shorter, taller forms; a measured run's "(measured)" goes on a line of its own."""
    if text.endswith(" (measured)"):
        head = text[: -len(" (measured)")]
        return tuple(dict.fromkeys([text, *(f"{v}\n(measured)" for v in lay.variants(head))]))
    if " = " in text:
        return (text, text.replace(" = ", " =\n"))
    return lay.variants(text)


def _label_jobs(dots: pd.DataFrame, rules: pd.DataFrame, styles: dict[str, Style]) -> list[lay.Label]:
    """What to label, most constrained first: BM25 rules, then measured series, then the published series with
    fewer sizes first; each series beside its largest size, else its smallest, else another size, else above or
    below the middle of one of its line's segments."""
    jobs = []
    for _, rule in rules.sort_values("kind", key=lambda k: k == MEASURED_KIND).iterrows():
        text = str(rule["label"]) if rule["kind"] == MEASURED_KIND else _rule_text(rule["series"])
        jobs.append(lay.Label(rule["series"], _texts(text), ((None, float(rule["score"]), 0.0),), rule=True))
    measured = dots["kind"] == MEASURED_KIND
    for part, r in ((dots[measured], lay.radius(MEASURED_SIZE, MEASURED_STROKE)), (dots[~measured], lay.radius(POINT_SIZE))):
        groups = part.sort_values("params_millions").groupby("series", sort=False)
        for name, g in sorted(groups, key=lambda kv: (len(kv[1]), -float(kv[1]["score"].iloc[-1]))):
            pts = [(float(x), float(y)) for x, y in zip(g["params_millions"], g["score"])]
            anchors = [(*pts[-1], r), *([(*pts[0], r)] if len(pts) > 1 else []), *[(*p, r) for p in pts[-2:0:-1]]]
            # the middle of each segment (geometric in x: the axis is logarithmic), nearest the largest size first
            anchors += [(math.sqrt(a[0] * b[0]), (a[1] + b[1]) / 2, 1.5) for a, b in reversed(list(zip(pts, pts[1:])))]
            text = str(g["label"].iloc[-1]) if styles[name].measured else _short(name)
            jobs.append(lay.Label(name, _texts(text), tuple(anchors)))
    return jobs


def _marks(plot: lay.Plot, dots: pd.DataFrame, rules: pd.DataFrame, line_series: set[str]) -> lay.Marks:
    marks = lay.Marks()
    for _, d in dots.iterrows():
        measured = d["kind"] == MEASURED_KIND
        r = lay.radius(MEASURED_SIZE, MEASURED_STROKE) if measured else lay.radius(POINT_SIZE)
        marks.points.append((plot.px(d["params_millions"]), plot.py(d["score"]), r))
    for name, g in dots.groupby("series"):
        if name not in line_series:
            continue
        g = g.sort_values("params_millions")
        xs, ys = [plot.px(v) for v in g["params_millions"]], [plot.py(v) for v in g["score"]]
        marks.segments += list(zip(xs[:-1], ys[:-1], xs[1:], ys[1:]))
    marks.rules += [plot.py(v) for v in rules["score"]]
    return marks


def model_size_chart(
    points: pd.DataFrame,
    title: str = "",
    height: int = 420,
    width: int | None = None,
    labels: bool = True,
    legend: bool = True,
    x_domain: tuple[float, float] | None = None,
    paper: bool = False,
    styles: dict[str, Style] | None = None,
    compact: bool = False,
    fit_width: float | None = None,
    family_legend: bool = False,
    image: bool = False,
):
    """Score against parameters (log x): one line per series through its sizes, coloured by model series (series
    of one model series from different sources in other tones and dashes), marker shape = family (``paper``: the
    paper's colours and markers per series); measured runs hollow, drawn above the published ones; BM25 as rules.
    Every line, measured run and rule is labelled where a label fits without covering anything, else it is named
    in a legend at the top (``legend``).

    ``points`` has :data:`POINT_COLUMNS` and one metric. ``width``: the plot's width in pixels; None: as wide as
    the page (Vega-Lite ``fit-x``), labels placed for a plot ``fit_width`` pixels wide (default
    :data:`view.labels.MIN_PLOT_WIDTH`, the narrowest it gets; wider only moves things apart). ``height``: the
    plot's height. ``family_legend``: a legend of marker shapes under the chart (for the downloaded image; the
    page shows :func:`marks_key` above it). ``image``: for an image drawn outside the browser (another font:
    labels placed for wider text). Returns ``(chart, message)``: ``chart`` is None when nothing can
    be plotted and ``message`` says why (or which rows have no parameter count).
    """
    import altair as alt

    missing = set(POINT_COLUMNS) - set(points.columns)
    if missing:
        return None, f"Cannot draw the chart: the points lack {', '.join(sorted(missing))}."
    points = points.dropna(subset=["score"])
    dots, rules, unplotted = split_points(points)
    if dots.empty and rules.empty:
        return None, "Nothing to plot: no model here has both a parameter count and a score."
    notes = [f"{len(unplotted)} rows have no parameter count: listed in the table, not plotted."] if not unplotted.empty else []
    metric = str(points["metric"].iloc[0])
    rules = _merge_rules(rules)
    styles = styles or series_styles(pd.concat([dots, rules], ignore_index=True), paper)
    is_measured = dots["kind"] == MEASURED_KIND
    if is_measured.any():
        dots = _with_comparison_text(dots)
    keep = [c for c in (*CHART_COLUMNS, "published_text", "difference_text") if c in dots]
    dots, rules = dots[keep], (rules[[c for c in keep if c in rules]] if not rules.empty else rules)
    lo, hi = (float(dots["params_millions"].min()), float(dots["params_millions"].max())) if not dots.empty else (10.0, 10000.0)
    x_domain = tuple(x_domain) if x_domain else ((lo / 3, hi * 3.5) if labels else (lo / 1.6, hi * 1.6))
    y_domain = _y_domain(pd.concat([dots["score"], rules["score"]]))
    plot = lay.Plot(float(width or max(fit_width or 0, lay.MIN_PLOT_WIDTH)), float(height), x_domain, y_domain)
    # A chart as wide as the page is also checked wider, up to WIDER times (the page may widen before it is measured
    # again); a chart of fixed width only at its width.
    plots = [plot] if width else [plot, lay.Plot(plot.width * WIDER, plot.height, x_domain, y_domain)]
    counts = dots.groupby("series")["params_millions"].transform("nunique")
    line_series = set(dots.loc[counts >= 2, "series"])

    present = [s for s in styles if s in set(dots["series"]) | set(rules["series"])]
    placed, failed = [], []
    if labels:
        marks = [_marks(p, dots, rules, line_series) for p in plots]
        placed, failed = lay.place(_label_jobs(dots, rules, styles), plots, marks, scale=lay.OTHER_FONT if image else 1.0)
    # Whatever found no room for its label is named in a legend at the top instead (colour and dash, one entry each).
    key = (
        alt.Legend(values=failed, orient="top", direction="vertical", labelLimit=0, symbolType="stroke", title="not labelled")
        if legend and failed
        else None
    )
    color = alt.Color(
        "series:N", title="series", scale=alt.Scale(domain=present, range=[styles[s].color for s in present]), legend=key
    )
    dash = alt.StrokeDash(
        "series:N",
        title="series",
        scale=alt.Scale(domain=present, range=[list(styles[s].dash) or [1, 0] for s in present]),
        legend=key,
    )
    if paper:
        shape = alt.Shape("series:N", scale=alt.Scale(domain=present, range=[styles[s].shape for s in present]), legend=None)
    else:
        families = [f for f in FAMILY_ORDER if f in set(dots["family"])]
        shape = alt.Shape(
            "family:N",
            title="family",
            scale=alt.Scale(domain=list(SHAPES), range=list(SHAPES.values())),
            legend=alt.Legend(values=families, orient="bottom", direction="horizontal", title=None) if family_legend else None,
        )
    x_title = None if compact else "parameters (millions, log scale)"
    x = alt.X(
        "params_millions:Q",
        title=x_title,
        scale=alt.Scale(type="log", domain=list(x_domain), nice=False, padding=0),
        axis=alt.Axis(format="~s"),
    )
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False, padding=0)
    y = alt.Y("score:Q", title=None if compact else metric, scale=y_scale)
    size = (36, 90) if compact else (POINT_SIZE, MEASURED_SIZE)
    layers = []
    published_rules, measured_rules = rules[rules["kind"] != MEASURED_KIND], rules[rules["kind"] == MEASURED_KIND]
    if not published_rules.empty:
        layers.append(
            alt.Chart(published_rules)
            .mark_rule(strokeWidth=2 if paper else 1.5)
            .encode(y=y, color=color, strokeDash=dash, tooltip=_tooltip(alt, metric, sized=False))
        )
    lines = dots[~is_measured & dots["series"].isin(line_series)].sort_values(["series", "params_millions"])
    if not lines.empty:
        layers.append(
            alt.Chart(lines)
            .mark_line(strokeWidth=3 if paper else 2, opacity=0.9)
            .encode(x=x, y=y, color=color, strokeDash=dash, detail="series:N", order="params_millions:Q", tooltip=alt.value(None))
        )
    if (~is_measured).any():
        order = dots.loc[~is_measured, "series"].map(lambda n: -styles[n].variant)  # the first series of a model on top
        layers.append(
            alt.Chart(dots[~is_measured].assign(_order=order).sort_values("_order", kind="mergesort").drop(columns="_order"))
            .mark_point(filled=True, size=size[0], opacity=1)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=_tooltip(alt, metric))
        )
    if not measured_rules.empty:
        layers.append(
            alt.Chart(measured_rules)
            .mark_rule(strokeWidth=3, strokeCap="round")
            .encode(y=y, color=color, strokeDash=dash, tooltip=_tooltip(alt, metric, measured=True, sized=False))
        )
    measured_lines = dots[is_measured & dots["series"].isin(line_series)].sort_values(["series", "params_millions"])
    if not measured_lines.empty:
        layers.append(
            alt.Chart(measured_lines)
            .mark_line(strokeWidth=1.8)
            .encode(x=x, y=y, color=color, strokeDash=dash, detail="series:N", order="params_millions:Q", tooltip=alt.value(None))
        )
    if is_measured.any():
        layers.append(
            alt.Chart(dots[is_measured])
            .mark_point(filled=False, size=size[1], strokeWidth=MEASURED_STROKE, opacity=1)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=_tooltip(alt, metric, measured=True))
        )
    if placed:
        spots = pd.DataFrame(
            [{"series": p.key, "text": p.text, "label_x": p.x, "label_y": p.y, "align": p.align, "dx": p.dx} for p in placed]
        )
        lx = alt.X("label_x:Q", title=x_title, scale=alt.Scale(type="log", domain=list(x_domain), nice=False, padding=0))
        ly = alt.Y("label_y:Q", title=None if compact else metric, scale=y_scale)
        for (align, dx), part in spots.groupby(["align", "dx"], sort=True):
            layers.append(
                alt.Chart(part)
                .mark_text(align=align, dx=dx, baseline="middle", fontSize=lay.FONT_PX, lineHeight=lay.LINE_PX, lineBreak="\n")
                .encode(x=lx, y=ly, text="text:N", color=color, tooltip=alt.value(None))
            )
    chart = alt.layer(*layers).properties(height=height, width=int(plot.width))
    # As wide as the page: fit the width only (the plot keeps its height, so labels keep their places); else the
    # plot is exactly width x height and the axes come on top.
    chart = chart.properties(autosize=alt.AutoSizeParams(type="fit-x" if width is None else "pad", contains="padding"))
    if title:
        chart = chart.properties(title=title)
    return chart, " ".join(notes)


def grid_panels(points: pd.DataFrame) -> tuple[list, str]:
    """Small multiples: one small model-size chart per dataset (the ``datasets`` column), same series styles and
    one shared x range, each with its own y axis, no labels (the page shows one key above them: :func:`key_html`).
    Returns ``(charts, message)``."""
    points = points.dropna(subset=["score"])
    dots, rules, _ = split_points(points)
    if dots.empty and rules.empty:
        return [], "Nothing to plot."
    styles = series_styles(pd.concat([dots, _merge_rules(rules)], ignore_index=True))
    lo, hi = float(dots["params_millions"].min()), float(dots["params_millions"].max())
    out = []
    for name, part in points.groupby("datasets", sort=True):
        chart, _ = model_size_chart(
            part,
            title=str(name),
            height=GRID_PLOT_HEIGHT,
            width=GRID_PLOT_WIDTH,
            labels=False,
            legend=False,
            x_domain=(lo / 1.5, hi * 1.5),
            styles=styles,
            compact=True,
        )
        if chart is not None:
            out.append(chart)
    return out, ""


def grid_chart(points: pd.DataFrame, columns: int = 4):
    """Every panel of :func:`grid_panels` in one chart (the download), ``columns`` to a row. Returns
    ``(chart, message)``."""
    import altair as alt

    panels, message = grid_panels(points)
    if not panels:
        return None, message
    for p in panels:
        p.autosize = alt.Undefined  # a concatenated chart sizes itself
    # independent scales: each panel's colours come from the one style table already (shared scales with different
    # domains would be merged by Vega-Lite into one domain with the first panel's range: wrong colours)
    chart = alt.concat(*panels, columns=columns).resolve_scale(
        color="independent", shape="independent", strokeDash="independent", y="independent"
    )
    return chart, message


def paper_panels(left: pd.DataFrame, right: pd.DataFrame, height: int = 330, image: bool = False) -> tuple[list, str]:
    """The two panels of Rosa et al. 2022 Fig. 1, each its own chart in the paper's colours and markers: MS MARCO
    MRR@10 (left), BEIR-average nDCG@10 (right), x from 10M to 10B parameters as in the paper. Returns
    ``(charts, message)``."""
    styles = paper_styles(left, right)
    out, notes = [], []
    for frame, title in ((left, "MS MARCO dev (in-domain), MRR@10"), (right, "BEIR (out-of-domain), mean nDCG@10")):
        chart, msg = model_size_chart(
            frame,
            title=title,
            height=height,
            width=PAPER_PLOT_WIDTH,
            legend=image,  # on the page, the key above the panels names every series
            x_domain=(10.0, 10000.0),
            paper=True,
            styles=styles,
            image=image,
        )
        if chart is None:
            return [], msg
        out.append(chart)
        notes += [msg] if msg else []
    return out, " ".join(dict.fromkeys(notes))


def paper_styles(left: pd.DataFrame, right: pd.DataFrame) -> dict[str, Style]:
    """The paper view's styles: the paper's, series of one model told apart within each panel (the MS MARCO panel's
    two monoT5 sources), not across panels (its MiniLM reranker and the BEIR panel's are one model)."""
    out: dict[str, Style] = {}
    for frame in (left, right):
        dots, rules, _ = split_points(frame.dropna(subset=["score"]))
        for name, style in series_styles(pd.concat([dots, _merge_rules(rules)], ignore_index=True), paper=True).items():
            out.setdefault(name, style)
    return out


def paper_chart(left: pd.DataFrame, right: pd.DataFrame, title: str, height: int = 330):
    """:func:`paper_panels` side by side in one chart (the downloaded image). Returns ``(chart, message)``."""
    import altair as alt

    panels, message = paper_panels(left, right, height, image=True)
    if not panels:
        return None, message
    for p in panels:
        p.autosize = alt.Undefined  # a concatenated chart sizes itself
    # each panel keeps its own scales (the same colour for a series in both: paper_styles); shared ones would be
    # merged by Vega-Lite into one domain with the first panel's range, recolouring the second panel
    chart = alt.hconcat(*panels).resolve_scale(
        color="independent", shape="independent", strokeDash="independent", y="independent"
    )
    return chart.properties(title=title), message


def key_entries(
    points: pd.DataFrame, paper: bool = False, styles: dict[str, Style] | None = None
) -> list[tuple[str, Style, str]]:
    """The key of charts without labels (the grid) or the paper's legend: ``(name, style, drawn as)`` for every
    series shown (drawn as "line" with its marker, "marker" alone for one size, or "rule"); ``paper``: in the
    paper's legend order, with the paper's styles."""
    dots, rules, _ = split_points(points.dropna(subset=["score"]))
    rules = _merge_rules(rules)
    both = pd.concat([dots, rules], ignore_index=True)
    styles = styles or series_styles(both, paper)
    base_of = dict(zip(both["series"], both["base_series"]))
    sizes = dots.groupby("series")["params_millions"].nunique()
    order = list(PAPER_STYLE)

    def sort_key(name: str):
        return (
            order.index(base_of[name]) if paper and base_of[name] in order else len(order),
            not styles[name].rule,
            name.lower(),
        )

    def drawn(name: str) -> str:
        return "rule" if styles[name].rule else "line" if sizes.get(name, 0) >= 2 else "marker"

    return [(name, styles[name], drawn(name)) for name in sorted(styles, key=sort_key)]


def marks_key(points: pd.DataFrame) -> list[tuple[str, Style, str]]:
    """The key of what marks mean (shown above a labelled chart): a marker per family, hollow for measured runs,
    and the BM25 rules, published and measured."""
    dots, rules, _ = split_points(points.dropna(subset=["score"]))
    out = [(f, Style(BM25_GREY, (), SHAPES[f]), "marker") for f in FAMILY_ORDER if f in set(dots["family"]) and f != "bm25"]
    if (dots["kind"] == MEASURED_KIND).any():
        out.append(("your run (hollow)", Style(BM25_GREY, (), "circle", measured=True), "marker"))
    if (rules["kind"] != MEASURED_KIND).any():
        out.append(("BM25, published", Style(BM25_GREY, RULE_DASH, "stroke", rule=True), "rule"))
    if (rules["kind"] == MEASURED_KIND).any():
        out.append(("BM25, your run", Style(MEASURED_RULE, MEASURED_RULE_DASH, "stroke", rule=True, measured=True), "rule"))
    return out


def paper_names(points: pd.DataFrame) -> dict[str, str]:
    """The paper's legend names for the series read off its figure ("monoT5" -> "monoT5 (T5 reranker)")."""
    rows = points[(points["kind"] == FIGURE_KIND) & points["base_series"].isin(list(PAPER_STYLE))]
    return {s: PAPER_STYLE[b][2] for s, b in zip(rows["series"], rows["base_series"])}


_GLYPH = {"circle": "●", "square": "■", "diamond": "◆", "triangle-up": "▲", "cross": "✚"}
_HOLLOW = {"circle": "○", "square": "□", "diamond": "◇", "triangle-up": "△", "cross": "✚"}


def _dash_css(color: str, dash: tuple[int, ...]) -> str:
    """A CSS background drawing ``dash`` (on, off, ... pixels) in ``color``, as the chart draws its lines."""
    if not dash:
        return color
    stops, at = [], 0
    for i, length in enumerate(dash):
        paint = color if i % 2 == 0 else "transparent"
        stops.append(f"{paint} {at}px {at + length}px")
        at += length
    return f"repeating-linear-gradient(to right, {', '.join(stops)})"


def key_html(entries: list[tuple[str, Style, str]], names: Mapping[str, str] | None = None) -> str:
    """An HTML key that wraps to the page's width: for each entry a small drawing (its line in its dash, its marker,
    filled or hollow) and its name, in full. ``names`` renames entries (the paper's legend names)."""
    items = []
    for name, style, drawn in entries:
        parts = []
        if drawn in ("line", "rule"):
            height = 3 if style.rule and style.measured else 2
            parts.append(
                f'<span style="position:absolute;left:0;right:0;top:{8 - height / 2}px;height:{height}px;'
                f'background:{_dash_css(style.color, style.dash)}"></span>'
            )
        if drawn in ("line", "marker"):
            glyph = (_HOLLOW if style.measured else _GLYPH).get(style.shape, "●")
            parts.append(
                f'<span style="position:absolute;left:0;right:0;top:0;text-align:center;line-height:16px;'
                f'font-size:17px;color:{style.color}">{glyph}</span>'
            )
        label = html.escape((names or {}).get(name, name))
        items.append(
            '<span style="display:inline-flex;align-items:center;gap:5px;margin:0 16px 2px 0;white-space:nowrap">'
            f'<span style="position:relative;display:inline-block;width:34px;height:16px">{"".join(parts)}</span>{label}</span>'
        )
    return f'<div class="ms-key" style="display:flex;flex-wrap:wrap;font-size:0.85rem;line-height:1.4">{"".join(items)}</div>'


def image_format() -> tuple[str, str]:
    """``(extension, mime)`` of :func:`chart_image`'s output here: SVG with vl-convert, else a standalone HTML page."""
    try:
        import vl_convert  # noqa: F401
    except ImportError:
        return "html", "text/html"
    return "svg", "image/svg+xml"


def chart_image(chart, fmt: str = "svg") -> tuple[bytes, str, str]:
    """The chart as ``(bytes, mime, extension)``: see :func:`spec_image`."""
    return spec_image(chart.to_json(), fmt)


def spec_image(spec_json: str, fmt: str = "svg") -> tuple[bytes, str, str]:
    """A Vega-Lite spec (JSON text) as ``(bytes, mime, extension)``: SVG or PNG through vl-convert when it
    is installed, else a standalone HTML page that draws the spec."""
    try:
        import vl_convert as vlc
    except ImportError:
        import json

        import altair as alt

        return alt.Chart.from_dict(json.loads(spec_json)).to_html().encode("utf-8"), "text/html", "html"
    if fmt == "png":
        return vlc.vegalite_to_png(spec_json, scale=2), "image/png", "png"
    return vlc.vegalite_to_svg(spec_json).encode("utf-8"), "image/svg+xml", "svg"


def tied_points(comparison: PairedComparison, query_texts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per distinct (A, B) value pair of a comparison: ``a, b, diff, count`` (queries at that point),
    ``qid`` (the first of them, what a click opens), ``qids`` (up to five, for the tooltip), ``query``,
    ``outcome``. Tied queries (often many at (0, 0) or (1, 1)) become one point sized by ``count``."""
    texts = query_texts or {}
    data = comparison.frame.reset_index()
    if data.empty:
        return pd.DataFrame(columns=["a", "b", "diff", "count", "qid", "qids", "query", "outcome"])
    grouped = data.groupby(["a", "b"], sort=False)
    out = grouped.agg(
        diff=("diff", "first"),
        count=("qid", "size"),
        qid=("qid", "first"),
        qids=("qid", lambda q: ", ".join(list(q)[:5]) + (" …" if len(q) > 5 else "")),
    ).reset_index()
    out["query"] = [
        texts.get(q, "")[:120] if n == 1 else f"{n} queries here (a click opens {q})" for q, n in zip(out["qid"], out["count"])
    ]
    out["outcome"] = np.where(out["diff"] > 0, "B better", np.where(out["diff"] < 0, "A better", "tie"))
    return out.sort_values("count", ascending=False, kind="mergesort").reset_index(drop=True)


def scatter_chart(comparison: PairedComparison, query_texts: Mapping[str, str] | None = None, *, selectable: bool = True):
    """Altair scatter of per-query values, A on x and B on y, with the diagonal; queries with the same
    (A, B) values are one point whose area grows with their number (``count``, see :func:`tied_points`).

    Returns ``(chart, message)``: ``chart`` is None (and ``message`` says why) when there is
    nothing to plot. The point selection is named ``"query"`` and carries the ``qid`` field.
    """
    import altair as alt

    if comparison.n == 0:
        return None, "No queries to plot: the two evaluations share no queries."
    data = tied_points(comparison, query_texts)
    m = comparison.measure
    # The same ticks on both axes (every 0.1): left to itself, Vega put a label every 0.05 across the wide x axis
    # and every 0.2 up the short y axis, which made a point's distance from the diagonal hard to read.
    ticks = alt.Axis(values=[i / 10 for i in range(11)], format=".1f")
    x = alt.X("a:Q", title=f"A: {comparison.a}  ({m})", scale=alt.Scale(domain=[0, 1]), axis=ticks)
    y = alt.Y("b:Q", title=f"B: {comparison.b}  ({m})", scale=alt.Scale(domain=[0, 1]), axis=ticks)
    tooltip = [
        alt.Tooltip("count:Q", title="queries at this point"),
        alt.Tooltip("qids:N", title="query id(s)"),
        alt.Tooltip("query:N", title="query"),
        alt.Tooltip("a:Q", title=f"A: {comparison.a}", format=".4f"),
        alt.Tooltip("b:Q", title=f"B: {comparison.b}", format=".4f"),
        alt.Tooltip("diff:Q", title="difference (B - A)", format="+.4f"),
    ]
    colors = alt.Scale(domain=["A better", "tie", "B better"], range=["#d62728", "#9e9e9e", "#1f77b4"])
    top = max(int(data["count"].max()), 2)
    size = alt.Size(
        "count:Q",
        title="queries",
        scale=alt.Scale(type="sqrt", domain=[1, top], range=[50, 1200]),
        legend=alt.Legend(orient="bottom", values=sorted({1, max(1, top // 4), top})),
    )
    points = (
        alt.Chart(data)
        .mark_circle(opacity=0.6, stroke="#333333", strokeWidth=0.5)
        .encode(
            x=x,
            y=y,
            tooltip=tooltip,
            size=size,
            color=alt.Color("outcome:N", scale=colors, title=None, legend=alt.Legend(orient="bottom")),
        )
    )
    if selectable:
        sel = alt.selection_point(name="query", fields=["qid"], on="click", clear="dblclick")
        points = points.add_params(sel).encode(strokeWidth=alt.condition(sel, alt.value(2.5), alt.value(0.5)))
    diagonal = (
        alt.Chart(pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]}))
        .mark_line(color="#bbbbbb", strokeDash=[4, 4])
        .encode(x=x, y=y)  # the points' axes: a layer with axes of its own merged into them lost the y ticks
    )
    return (diagonal + points).properties(height=420), ""


def agreement_histogram(frame: pd.DataFrame, bins: int = 10, height: int = 220):
    """Histograms over queries of RBO and overlap@k from an ``agreement.agreement_frame`` (one panel each:
    RBO in bins of width 1/``bins`` on [0, 1], overlap@k one bar per possible value 0, 1/k, ..., 1).
    Returns ``(chart, message)`` like the other charts."""
    import altair as alt

    overlap = next((c for c in frame.columns if c.startswith("overlap@")), None)
    if frame.empty or overlap is None:
        return None, "No queries to compare."
    rows = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    values = frame["rbo"].dropna().to_numpy(dtype=float)
    counts, _ = np.histogram(values, bins=edges)
    rows += [
        {"measure": "RBO (p=0.9)", "from": lo, "to": hi, "queries": int(n)} for lo, hi, n in zip(edges[:-1], edges[1:], counts)
    ]
    # overlap@k takes only the values 0, 1/k, ..., 1: one bar per value, centred on it (float bin edges would
    # put 3/10 = 0.3 in the bin below 0.30000000000000004)
    k = int(overlap.split("@", 1)[1])
    hits = np.rint(frame[overlap].dropna().to_numpy(dtype=float) * k).astype(int)
    half = 0.5 / k
    rows += [
        {"measure": overlap, "from": i / k - half, "to": i / k + half, "queries": int((hits == i).sum())} for i in range(k + 1)
    ]
    data = pd.DataFrame(rows)
    chart = (
        alt.Chart(data)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X(
                "from:Q", bin="binned", title="agreement (0 = disjoint, 1 = identical)", scale=alt.Scale(domain=[-0.05, 1.05])
            ),
            x2="to:Q",
            y=alt.Y("queries:Q", title="queries"),
            tooltip=[
                alt.Tooltip("measure:N"),
                alt.Tooltip("from:Q", format=".1f"),
                alt.Tooltip("to:Q", format=".1f"),
                alt.Tooltip("queries:Q"),
            ],
        )
        .properties(height=height, width=260)
        .facet(column=alt.Column("measure:N", title=None))
    )
    return chart, ""


# ---- the gain per tenfold parameters -----------------------------------------------------------------------

MIN_GAIN_POINTS, MIN_GAIN_RANGE = 3, 3.0


def gain_rows(points: pd.DataFrame) -> pd.DataFrame:
    """The gain table: per series with two or more sizes, the least-squares slope of the score on log10(parameters)
    (:func:`retrieval.series.gain_per_tenfold`), shown only where it rests on at least ``MIN_GAIN_POINTS`` sizes
    spanning at least ``MIN_GAIN_RANGE`` times the parameters; otherwise "—" and why. Measured runs are left out.

    Columns: ``series``, ``gain per 10x params`` (text), ``sizes``, ``smallest (M)``, ``largest (M)``, ``range``,
    ``note``; series with a gain first, largest gain first."""
    from retrieval.series import gain_per_tenfold

    cols = ["series", "gain per 10x params", "sizes", "smallest (M)", "largest (M)", "range", "note"]
    points = points[points["kind"] != MEASURED_KIND]
    sized = points[points["params_millions"].notna() & (points["params_millions"] > 0) & points["score"].notna()]
    if sized.empty:
        return pd.DataFrame(columns=cols)
    # One point per size: a series with the same size twice (two setups) is fitted on the mean at that size.
    per_size = sized.groupby(["series", "params_millions"], as_index=False)["score"].mean()
    fits = gain_per_tenfold(per_size)
    rows = []
    for _, fit in fits.iterrows():
        n, ratio = int(fit["points"]), float(fit["largest_m"] / fit["smallest_m"])
        ok = n >= MIN_GAIN_POINTS and ratio >= MIN_GAIN_RANGE
        why = []
        if n < MIN_GAIN_POINTS:
            why.append(f"only {n} sizes (at least {MIN_GAIN_POINTS} needed)")
        if ratio < MIN_GAIN_RANGE:
            why.append(f"sizes span only {ratio:.2f}x (at least {MIN_GAIN_RANGE:.0f}x needed)")
        rows.append(
            {
                "series": fit["series"],
                "gain per 10x params": f"{fit['gain_per_10x']:+.4f}" if ok else "—",
                "sizes": n,
                "smallest (M)": f"{fit['smallest_m']:,.1f}",
                "largest (M)": f"{fit['largest_m']:,.1f}",
                "range": f"{ratio:.1f}x",
                "note": "least-squares slope over every size" if ok else "no slope: " + "; ".join(why),
                "_gain": float(fit["gain_per_10x"]) if ok else -math.inf,
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values("_gain", ascending=False, kind="mergesort").drop(columns="_gain").reset_index(drop=True)[cols]
