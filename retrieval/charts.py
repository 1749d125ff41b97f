"""Charts as pure ``DataFrame -> (chart, message)`` functions that fail soft with a message (Altair, imported lazily)."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .published import FAMILY_ORDER, KINDS, POINT_COLUMNS
from .stats import PairedComparison


def split_points(points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(dots, rules, unplotted)``: sized points, BM25 rules, and non-BM25 rows without a size."""
    sized = points["params_millions"].notna() & (points["params_millions"] > 0)
    is_rule = ~sized & (points["family"] == "bm25")
    return points[sized].reset_index(drop=True), points[is_rule].reset_index(drop=True), points[~sized & ~is_rule].reset_index(drop=True)


def model_size_chart(points: pd.DataFrame, title: str = "", height: int = 460):
    """nDCG@10 against parameters (log x), one colour per family, BM25 as horizontal rules.

    Returns ``(chart, message)``; ``chart`` is None when nothing can be plotted, and ``message``
    says why (or notes rows left out for lack of a parameter count).
    """
    import altair as alt

    missing = set(POINT_COLUMNS) - set(points.columns)
    if missing:
        return None, f"Cannot draw the chart: the points lack {', '.join(sorted(missing))}."
    points = points.dropna(subset=["ndcg_at_10"])
    dots, rules, unplotted = split_points(points)
    if dots.empty and rules.empty:
        return None, "Nothing to plot: no model here has both a parameter count and an nDCG@10."
    message = ""
    if not unplotted.empty:
        message = f"{len(unplotted)} published rows have no parameter count and are listed below the chart, not plotted."
    families = [f for f in FAMILY_ORDER if f in set(points["family"])] + sorted(set(points["family"]) - set(FAMILY_ORDER))
    palette = {"bm25": "#444444", "dense": "#1f77b4", "reranker": "#d62728", "sparse": "#2ca02c", "late-interaction": "#9467bd", "external": "#8c564b"}
    color = alt.Color(
        "family:N", title="family", scale=alt.Scale(domain=families, range=[palette.get(f, "#17becf") for f in families])
    )
    shape = alt.Shape(
        "kind:N",
        title="source kind",
        scale=alt.Scale(domain=list(KINDS), range=["circle", "diamond", "triangle-up"]),
        legend=alt.Legend(labelLimit=360),
    )
    tooltip = [
        alt.Tooltip("label:N", title="model"),
        alt.Tooltip("family:N"),
        alt.Tooltip("params_millions:Q", title="parameters (M)", format=",.1f"),
        alt.Tooltip("ndcg_at_10:Q", title="nDCG@10", format=".4f"),
        alt.Tooltip("kind:N", title="kind"),
        alt.Tooltip("source:N", title="source"),
        alt.Tooltip("notes:N", title="notes"),
    ]
    y = alt.Y("ndcg_at_10:Q", title="nDCG@10", scale=alt.Scale(zero=False))
    layers = []
    x = alt.X("params_millions:Q", title="parameters (millions, log scale)", scale=alt.Scale(type="log"))
    # Measured points go on top, larger and outlined, so they stay visible over a published twin.
    for part, size, stroke in ((dots[dots["kind"] != "measured"], 90, 0), (dots[dots["kind"] == "measured"], 220, 2)):
        if part.empty:
            continue
        layers.append(
            alt.Chart(part)
            .mark_point(size=size, filled=True, opacity=0.85, stroke="#111111", strokeWidth=stroke)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=tooltip)
        )
    # BM25 rules: solid when published, dashed when measured, dotted when read from the figure (a
    # fixed dash per layer, so no second legend merges into the shape legend).
    for kind, dash in zip(KINDS, ([1, 0], [6, 3], [2, 2])):
        part = rules[rules["kind"] == kind]
        if not part.empty:
            layers.append(alt.Chart(part).mark_rule(strokeWidth=2, opacity=0.7, strokeDash=dash).encode(y=y, color=color, tooltip=tooltip))
    chart = alt.layer(*layers).properties(height=height)
    if title:
        chart = chart.properties(title=title)
    return chart.interactive(bind_y=False), message


def scatter_chart(comparison: PairedComparison, query_texts: Mapping[str, str] | None = None, *, selectable: bool = True):
    """Altair scatter of per-query values, A on x and B on y, with the diagonal.

    Returns ``(chart, message)``: ``chart`` is None (and ``message`` says why) when there is
    nothing to plot. The point selection is named ``"query"`` and carries the ``qid`` field.
    """
    import altair as alt

    if comparison.n == 0:
        return None, "No queries to plot: the two evaluations share no queries."
    texts = query_texts or {}
    data = comparison.frame.reset_index()
    data["query"] = [texts.get(q, "")[:120] for q in data["qid"]]
    data["outcome"] = np.where(data["diff"] > 0, "B better", np.where(data["diff"] < 0, "A better", "tie"))
    m = comparison.measure
    x = alt.X("a:Q", title=f"A: {comparison.a}  ({m})", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("b:Q", title=f"B: {comparison.b}  ({m})", scale=alt.Scale(domain=[0, 1]))
    tooltip = [
        alt.Tooltip("qid:N", title="query id"),
        alt.Tooltip("query:N", title="query"),
        alt.Tooltip("a:Q", title=f"A: {comparison.a}", format=".4f"),
        alt.Tooltip("b:Q", title=f"B: {comparison.b}", format=".4f"),
        alt.Tooltip("diff:Q", title="difference (B - A)", format="+.4f"),
    ]
    colors = alt.Scale(domain=["A better", "tie", "B better"], range=["#d62728", "#9e9e9e", "#1f77b4"])
    points = alt.Chart(data).mark_circle(size=60, opacity=0.7).encode(
        x=x, y=y, tooltip=tooltip, color=alt.Color("outcome:N", scale=colors, title=None, legend=alt.Legend(orient="bottom"))
    )
    if selectable:
        sel = alt.selection_point(name="query", fields=["qid"], on="click", clear="dblclick")
        points = points.add_params(sel).encode(size=alt.condition(sel, alt.value(110), alt.value(60)))
    diagonal = alt.Chart(pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]})).mark_line(color="#bbbbbb", strokeDash=[4, 4]).encode(x="a:Q", y="b:Q")
    return (diagonal + points).properties(height=420), ""
