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


def tied_points(comparison: PairedComparison, query_texts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per distinct (A, B) value pair of a comparison: ``a, b, diff, count`` (queries at that point),
    ``qid`` (the first of them, what a click opens), ``qids`` (up to five, for the tooltip), ``query``,
    ``outcome``. Tied queries (often many at (0, 0) or (1, 1)) become one point sized by ``count``."""
    texts = query_texts or {}
    data = comparison.frame.reset_index()
    if data.empty:
        return pd.DataFrame(columns=["a", "b", "diff", "count", "qid", "qids", "query", "outcome"])
    grouped = data.groupby(["a", "b"], sort=False)
    out = grouped.agg(diff=("diff", "first"), count=("qid", "size"), qid=("qid", "first"), qids=("qid", lambda q: ", ".join(list(q)[:5]) + (" …" if len(q) > 5 else ""))).reset_index()
    out["query"] = [texts.get(q, "")[:120] if n == 1 else f"{n} queries here (a click opens {q})" for q, n in zip(out["qid"], out["count"])]
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
    size = alt.Size("count:Q", title="queries", scale=alt.Scale(type="sqrt", domain=[1, top], range=[50, 1200]),
                    legend=alt.Legend(orient="bottom", values=sorted({1, max(1, top // 4), top})))
    points = alt.Chart(data).mark_circle(opacity=0.6, stroke="#333333", strokeWidth=0.5).encode(
        x=x, y=y, tooltip=tooltip, size=size, color=alt.Color("outcome:N", scale=colors, title=None, legend=alt.Legend(orient="bottom"))
    )
    if selectable:
        sel = alt.selection_point(name="query", fields=["qid"], on="click", clear="dblclick")
        points = points.add_params(sel).encode(strokeWidth=alt.condition(sel, alt.value(2.5), alt.value(0.5)))
    diagonal = alt.Chart(pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]})).mark_line(color="#bbbbbb", strokeDash=[4, 4]).encode(x="a:Q", y="b:Q")
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
    rows += [{"measure": "RBO (p=0.9)", "from": lo, "to": hi, "queries": int(n)} for lo, hi, n in zip(edges[:-1], edges[1:], counts)]
    # overlap@k takes only the values 0, 1/k, ..., 1: one bar per value, centred on it (float bin edges would
    # put 3/10 = 0.3 in the bin below 0.30000000000000004)
    k = int(overlap.split("@", 1)[1])
    hits = np.rint(frame[overlap].dropna().to_numpy(dtype=float) * k).astype(int)
    half = 0.5 / k
    rows += [{"measure": overlap, "from": i / k - half, "to": i / k + half, "queries": int((hits == i).sum())} for i in range(k + 1)]
    data = pd.DataFrame(rows)
    chart = alt.Chart(data).mark_bar(color="#4c78a8").encode(
        x=alt.X("from:Q", bin="binned", title="agreement (0 = disjoint, 1 = identical)", scale=alt.Scale(domain=[-0.05, 1.05])),
        x2="to:Q",
        y=alt.Y("queries:Q", title="queries"),
        tooltip=[alt.Tooltip("measure:N"), alt.Tooltip("from:Q", format=".1f"), alt.Tooltip("to:Q", format=".1f"), alt.Tooltip("queries:Q")],
    ).properties(height=height, width=260).facet(column=alt.Column("measure:N", title=None))
    return chart, ""
