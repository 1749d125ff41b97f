"""Model size: nDCG@10 against parameters, published points, the paper's figure, and measured runs."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # AppTest runs a page file directly
    sys.path.insert(0, _ROOT)

import pandas as pd
import streamlit as st

from pages import _shared as sh
from retrieval import charts, published
from retrieval.neural import registry

AVERAGE = "BEIR average"


def measured_for(ds_name: str) -> pd.DataFrame:
    """Measured points from the cache: every cached run on ``ds_name`` (any split), evaluated
    (evaluations are cached by the shared helpers)."""
    runs = sh.cached_runs()
    rows = []
    if runs.empty:
        return published.measured_points([])
    for _, r in runs[runs["dataset"] == ds_name].iterrows():
        spec, split = str(r["system"]), str(r["split"])
        ev = sh.evaluation(ds_name, split, spec)
        if ev is None:
            continue
        system = sh.system_info(spec)[0]
        params = registry.params_for_spec(spec)
        if params is None and system is not None:
            params = getattr(system, "params_millions", None)
        rows.append(
            {
                "label": f"{sh.display_name(spec)} [{split}]",
                "family": sh.family(spec),
                "params_millions": params,
                "ndcg_at_10": ev.mean["nDCG@10"],
                "source": f"measured here: run {r['path']} ({ev.n_queries} {split} queries), evaluated with ir_measures",
                "notes": "parameter count from retrieval/data/models.csv" if params is not None else "parameter count unknown (no model registry entry)",
            }
        )
    return published.measured_points(rows)


def main() -> None:
    st.title("Model size")
    st.caption(
        "nDCG@10 against model parameters (log scale). Hover a point for its source. Published values come from "
        "`retrieval/data/published_ndcg.csv`; the paper's figure points are estimates read off its image."
    )
    v = sh.view()
    local = sh.local_datasets()
    choices = [AVERAGE] + published.published_datasets()
    default = v["dataset"] if v["dataset"] in choices else "scifact"
    scope = st.sidebar.selectbox("Dataset", choices, index=choices.index(default), key="w_ms_scope")
    families = sorted(set(published.published()["family"]) | {"external"})
    shown_families = st.sidebar.multiselect("Families", families, default=families, key="w_ms_families")
    show_measured = st.sidebar.toggle("Overlay my measured runs", value=True, key="w_ms_measured")
    sh.sidebar_footer()

    notes: list[str] = []
    left_out = pd.DataFrame()
    if scope == AVERAGE:
        avg_default = published.default_average_datasets()
        chosen = st.multiselect(
            "Average over these datasets (only models published on every one of them are plotted)",
            published.published_datasets(),
            default=avg_default,
            key="w_ms_avg",
        )
        if not chosen:
            st.info("Choose at least one dataset to average over.")
            return
        points, left_out = published.average_points(chosen)
        notes.append(f"Mean of published nDCG@10 over {len(chosen)} datasets: {', '.join(chosen)}.")
        with_fig = st.toggle("Include the paper's own figure (Rosa et al. 2022, BEIR average by model size)", value=True, key="w_ms_fig")
        if with_fig:
            version = st.selectbox("Figure version", published.figure_versions(), key="w_ms_figver")
            points = pd.concat([points, published.figure_frame(version)], ignore_index=True)
            notes.append(
                f"Triangles are {published.FIGURE_LABEL}; the paper averages over its own set of BEIR datasets, "
                "so they are not directly comparable with the computed average."
            )
        if show_measured:
            notes.append("Measured runs are shown per dataset only (a BEIR average would need runs on every averaged dataset).")
    else:
        points = published.dataset_points(scope)
        if show_measured and scope in local:
            measured = measured_for(scope)
            if measured.empty:
                notes.append(f"No cached runs on {scope} yet (build some on the Data & runs page).")
            points = pd.concat([points, measured], ignore_index=True)
        elif show_measured:
            notes.append(f"{scope} is not here, so there are no measured runs on it.")
    points = points[points["family"].isin(shown_families)]
    chart, message = charts.model_size_chart(points, title=f"nDCG@10 by model size · {scope}")
    if chart is None:
        st.info(message)
    else:
        st.altair_chart(chart, width="stretch")
        st.caption(
            "Horizontal lines are BM25 (no parameters): solid = published, dashed = measured here, dotted = read from "
            "the paper's figure. Outlined diamonds are your measured runs."
        )
        if message:
            st.caption(message)
    for n in notes:
        st.caption(n)
    dots, rules, unplotted = charts.split_points(points)
    st.subheader("Every point and its source")
    table = pd.concat([dots.assign(shown="point"), rules.assign(shown="horizontal line"), unplotted.assign(shown="not plotted (no parameter count)")])
    st.dataframe(
        table[["label", "family", "params_millions", "ndcg_at_10", "kind", "shown", "source", "notes"]],
        hide_index=True,
        width="stretch",
        column_config={
            "label": "model",
            "params_millions": st.column_config.NumberColumn("parameters (M)", format="%.1f"),
            "ndcg_at_10": st.column_config.NumberColumn("nDCG@10", format="%.4f"),
        },
    )
    if not left_out.empty:
        with st.expander(f"{len(left_out)} models left out of the average (not published on every chosen dataset)"):
            st.dataframe(left_out, hide_index=True, width="stretch")


sh.ensure_navigation()
main()
