"""Charts as pure ``DataFrame -> (chart, message)`` functions that fail soft with a message (Altair, imported lazily)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from retrieval.published import FAMILY_ORDER, KINDS, MEASURED_KIND, POINT_COLUMNS, all_base_series, figure, multi_size_series
from retrieval.stats import PairedComparison

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


def split_points(points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(dots, rules, unplotted)``: sized points, BM25 rules, and non-BM25 rows without a size."""
    sized = points["params_millions"].notna() & (points["params_millions"] > 0)
    is_rule = ~sized & (points["family"] == "bm25")
    return (
        points[sized].reset_index(drop=True),
        points[is_rule].reset_index(drop=True),
        points[~sized & ~is_rule].reset_index(drop=True),
    )


def _color_scale(alt):
    """One colour per model series on every chart (BM25 grey), from the data's list of series; series with
    several sizes get the first (most distinct) colours."""
    names = [n for n in all_base_series() if n != "BM25"]
    multi = set(multi_size_series()) | set(figure()["base_series"])  # the paper's series get dark colours too
    names = sorted(names, key=lambda n: (n not in multi, n.lower()))
    return alt.Scale(domain=["BM25", *names], range=["#555555", *[PALETTE[i % len(PALETTE)] for i in range(len(names))]])


def _short(series: str) -> str:
    return re.sub(r" et al\. ", " ", series)


def _place_labels(
    labels: pd.DataFrame, gap: float, px_per_decade: float = 190.0, max_shift: int = 3, limit: int = 320
) -> pd.DataFrame:
    """Give each label a ``label_y`` so that labels whose text spans overlap on x are at least ``gap``
    apart on y: the nearest free height within ``max_shift`` gaps, else the label is dropped (its point
    keeps the tooltip). A label spans from ``label_x`` rightwards, about 6.3 px per character."""
    placed: list[tuple[float, float, float]] = []
    keep: dict[object, float] = {}
    order = labels.assign(_rule=labels["params_millions"].isna()).sort_values(["_rule", "score"], ascending=False)
    for idx, row in order.iterrows():
        x0 = float(np.log10(row["label_x"]))
        x1 = x0 + min(len(str(row["text"])) * 6.8, limit) / px_per_decade
        lift = row.get("lift", 0.0)
        y0 = float(row["score"]) + (0.0 if pd.isna(lift) else float(lift)) * gap
        for step in [0] + [s * k for k in range(1, 2 * max_shift + 1) for s in (0.5, -0.5)]:
            y = y0 + step * gap
            if not any(x0 < b and a < x1 and abs(y - py) < gap for a, b, py in placed):
                placed.append((x0, x1, y))
                keep[idx] = y
                break
    out = labels.loc[list(keep)].copy()
    out["label_y"] = [keep[i] for i in out.index]
    return out


def _tooltip(alt, metric: str, measured: bool = False, sized: bool = True):
    """Model, parameters, score, dataset(s), setup and a short citation (never internal notes)."""
    tips = [alt.Tooltip("label:N", title="model")]
    if sized:
        tips.append(alt.Tooltip("params_millions:Q", title="parameters (M)", format=",.1f"))
    tips += [alt.Tooltip("score:Q", title=metric, format=".3f"), alt.Tooltip("datasets:N", title="dataset(s)")]
    if measured:
        tips += [
            alt.Tooltip("published_value:Q", title="published", format=".3f"),
            alt.Tooltip("difference:Q", title="measured - published", format="+.3f"),
        ]
    tips += [alt.Tooltip("setup:N", title="setup"), alt.Tooltip("citation:N", title="source")]
    return tips


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


def model_size_chart(
    points: pd.DataFrame,
    title: str = "",
    height: int = 520,
    width: int | None = None,
    labels: bool = True,
    legend: bool = True,
    x_domain: tuple[float, float] | None = None,
    legend_values: list[str] | None = None,
    label_limit: int = 320,
):
    """Score against parameters (log x): one line per series through its sizes, coloured by model series,
    labelled at its largest size; marker shape = family; measured runs hollow; BM25 as labelled rules.

    ``points`` has :data:`POINT_COLUMNS` and one metric. Returns ``(chart, message)``: ``chart`` is None
    when nothing can be plotted and ``message`` says why (or which rows have no parameter count).
    """
    import altair as alt

    missing = set(POINT_COLUMNS) - set(points.columns)
    if missing:
        return None, f"Cannot draw the chart: the points lack {', '.join(sorted(missing))}."
    points = points.dropna(subset=["score"])
    dots, rules, unplotted = split_points(points)
    if dots.empty and rules.empty:
        return None, "Nothing to plot: no model here has both a parameter count and a score."
    message = f"{len(unplotted)} rows have no parameter count: listed in the table, not plotted." if not unplotted.empty else ""
    metric = str(points["metric"].iloc[0])
    color = alt.Color(
        "base_series:N",
        title="model series",
        scale=_color_scale(alt),
        legend=alt.Legend(columns=2, symbolLimit=60, values=legend_values or sorted(set(points["base_series"]), key=str.lower))
        if legend and not labels
        else None,
    )
    families = [f for f in FAMILY_ORDER if f in set(dots["family"])]
    shape = alt.Shape(
        "family:N",
        title="family",
        scale=alt.Scale(domain=list(SHAPES), range=list(SHAPES.values())),
        legend=alt.Legend(values=families, orient="top", direction="horizontal", title=None) if legend else None,
    )
    lo, hi = (float(dots["params_millions"].min()), float(dots["params_millions"].max())) if not dots.empty else (10.0, 10000.0)
    domain = list(x_domain) if x_domain else [lo / 1.6, hi * (5 if labels else 1.6)]
    x = alt.X(
        "params_millions:Q",
        title="parameters (millions, log scale)",
        scale=alt.Scale(type="log", domain=domain, nice=False),
        axis=alt.Axis(format="~s"),
    )
    y = alt.Y("score:Q", title=metric, scale=alt.Scale(zero=False, padding=14, nice=True))
    is_measured = dots["kind"] == MEASURED_KIND
    layers = []

    def lines_of(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        counts = frame.groupby(key)["params_millions"].transform("nunique")
        return frame[counts >= 2].sort_values([key, "params_millions"])

    published_lines = lines_of(dots[~is_measured], "series")
    if not published_lines.empty:
        layers.append(
            alt.Chart(published_lines)
            .mark_line(strokeWidth=2, opacity=0.8)
            .encode(x=x, y=y, color=color, detail="series:N", order="params_millions:Q", tooltip=alt.value(None))
        )
    measured_lines = lines_of(dots[is_measured], "base_series")
    if not measured_lines.empty:
        layers.append(
            alt.Chart(measured_lines)
            .mark_line(strokeWidth=1.5, strokeDash=[4, 3])
            .encode(x=x, y=y, color=color, detail="base_series:N", order="params_millions:Q", tooltip=alt.value(None))
        )
    if (~is_measured).any():
        layers.append(
            alt.Chart(dots[~is_measured])
            .mark_point(filled=True, size=70 if labels else 40, opacity=0.95)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=_tooltip(alt, metric))
        )
    if is_measured.any():
        layers.append(
            alt.Chart(dots[is_measured])
            .mark_point(filled=False, size=180 if labels else 90, strokeWidth=2.5)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=_tooltip(alt, metric, measured=True))
        )
    rules = _merge_rules(rules)
    if labels:
        ends = dots[~is_measured].sort_values("params_millions").groupby("series", as_index=False).tail(1)
        ends = ends.assign(label_x=ends["params_millions"] * 1.15, text=ends["series"].map(_short))
        edge = rules[rules["kind"] != MEASURED_KIND]  # a measured BM25 line is explained in the caption and its table
        edge = edge.assign(
            label_x=lo / 1.5, lift=0.75, text=edge["series"].map(_short).map(lambda t: t if "BM25" in t else f"BM25: {t}")
        )
        every = pd.concat([ends, edge], ignore_index=True)
        if not every.empty:
            span = (
                float(pd.concat([dots["score"], rules["score"]]).max() - pd.concat([dots["score"], rules["score"]]).min()) or 0.1
            )
            every = _place_labels(
                every,
                gap=span * 15 / max(height - 90, 100),
                limit=label_limit,
                px_per_decade=(width or 650) / max(float(np.log10(domain[1] / domain[0])), 0.5),
            )
            ly = alt.Y("label_y:Q", scale=alt.Scale(zero=False, padding=14, nice=True))
            lx = alt.X("label_x:Q", scale=alt.Scale(type="log", domain=[lo / 1.6, hi * 5], nice=False))
            layers.append(
                alt.Chart(every)
                .mark_text(align="left", baseline="middle", fontSize=12, limit=label_limit)
                .encode(x=lx, y=ly, text="text:N", color=color, tooltip=alt.value(None))
            )
    for kind, dash in ((k, d) for k, d in zip(KINDS, ([6, 4], [2, 2], [6, 4])) if k in set(rules.get("kind", []))):
        part = rules[rules["kind"] == kind]
        layers.append(
            alt.Chart(part)
            .mark_rule(strokeWidth=1.5, strokeDash=dash, color="#555555")
            .encode(y=y, tooltip=_tooltip(alt, metric, kind == MEASURED_KIND, sized=False))
        )
    layers.sort(key=lambda layer: layer.mark.type == "text" if hasattr(layer.mark, "type") else False)
    chart = alt.layer(*layers).properties(height=height)
    if width is not None:
        chart = chart.properties(width=width)
    if title:
        chart = chart.properties(title=title)
    return chart, message


def grid_chart(points: pd.DataFrame, columns: int = 4):
    """Small multiples: one small model-size chart per dataset (the ``datasets`` column), same series
    colours and one shared x axis range, each with its own y axis. One faceted spec over one data table.

    Returns ``(chart, message)``."""
    import altair as alt

    points = points.dropna(subset=["score"])
    sized = points["params_millions"].notna() & (points["params_millions"] > 0)
    data = points.assign(
        _dot=sized,
        _rule=~sized & (points["family"] == "bm25"),
        _line=sized
        & points.assign(_p=points["params_millions"].where(sized))
        .groupby(["datasets", "series"])["_p"]
        .transform("nunique")
        .ge(2),
    )
    data = data[data["_dot"] | data["_rule"]].sort_values(["datasets", "series", "params_millions"]).reset_index(drop=True)
    if data.empty:
        return None, "Nothing to plot."
    metric = str(data["metric"].iloc[0])
    lo, hi = float(data.loc[data["_dot"], "params_millions"].min()), float(data.loc[data["_dot"], "params_millions"].max())
    x = alt.X(
        "params_millions:Q",
        title="parameters (M)",
        scale=alt.Scale(type="log", domain=[lo / 1.5, hi * 1.5], nice=False),
        axis=alt.Axis(format="~s"),
    )
    y = alt.Y("score:Q", title=metric, scale=alt.Scale(zero=False, padding=8))
    present = sorted(set(data["base_series"]), key=str.lower)
    color = alt.Color(
        "base_series:N",
        title="model series",
        scale=_color_scale(alt),
        legend=alt.Legend(values=present, columns=4, symbolLimit=60, orient="bottom"),
    )
    shape = alt.Shape(
        "family:N",
        title="family",
        scale=alt.Scale(domain=list(SHAPES), range=list(SHAPES.values())),
        legend=alt.Legend(values=[f for f in FAMILY_ORDER if f in set(data.loc[data["_dot"], "family"])], orient="bottom"),
    )
    lines = (
        alt.Chart()
        .mark_line(strokeWidth=1.8, opacity=0.8)
        .encode(x=x, y=y, color=color, detail="series:N", order="params_millions:Q")
        .transform_filter("datum._line")
    )
    dots = (
        alt.Chart()
        .mark_point(filled=True, size=40, opacity=0.95)
        .encode(x=x, y=y, color=color, shape=shape, tooltip=_tooltip(alt, metric))
        .transform_filter("datum._dot")
    )
    rules = (
        alt.Chart()
        .mark_rule(strokeWidth=1.2, strokeDash=[6, 4], color="#555555")
        .encode(y=y, tooltip=_tooltip(alt, metric, sized=False))
        .transform_filter("datum._rule")
    )
    layered = alt.layer(lines, dots, rules, data=data).properties(width=190, height=160)
    chart = layered.facet(
        facet=alt.Facet("datasets:N", title=None, header=alt.Header(labelFontSize=13, labelFontWeight="bold")), columns=columns
    )
    return chart.resolve_scale(y="independent"), ""


def paper_chart(left: pd.DataFrame, right: pd.DataFrame, title: str, height: int = 360):
    """The two panels of Rosa et al. 2022 Fig. 1 side by side: MS MARCO MRR@10 (left), BEIR-average
    nDCG@10 (right). Returns ``(chart, message)``."""
    import altair as alt

    a, msg_a = model_size_chart(left, title="MS MARCO dev (in-domain), MRR@10", height=height, width=340, label_limit=150)
    b, msg_b = model_size_chart(right, title="BEIR (out-of-domain), mean nDCG@10", height=height, width=340, label_limit=150)
    if a is None or b is None:
        return None, msg_a or msg_b
    chart = alt.hconcat(a, b).resolve_scale(color="shared", shape="shared", y="independent").properties(title=title)
    return chart, " ".join(m for m in (msg_a, msg_b) if m)


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
    x = alt.X("a:Q", title=f"A: {comparison.a}  ({m})", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("b:Q", title=f"B: {comparison.b}  ({m})", scale=alt.Scale(domain=[0, 1]))
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
        .encode(x="a:Q", y="b:Q")
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
