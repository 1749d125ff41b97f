"""Model size: nDCG@10 against parameters, published points, the paper's figure, and measured runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _cached as data
from pages import _nav
from pages import _sidebar as sidebar
from pages import _state as state
from retrieval import charts, choices, published, tables

AVERAGE = "BEIR average"


def measured_for(ds_name: str) -> pd.DataFrame:
    """Measured points: every cached run on ``ds_name`` (any split), evaluated (cached by pages/_cached.py)."""

    def describe(spec: str) -> tuple[str, str, float | None]:
        params = choices.params_millions(spec)
        if params is None:
            params = getattr(data.system_info(spec)[0], "params_millions", None)
        return data.display_name(spec), data.family(spec), params

    evaluation = lambda spec, split: data.evaluation(ds_name, split, spec)  # noqa: E731
    return published.measured_points(tables.measured_rows(data.cached_runs(), ds_name, evaluation, describe))


def main() -> None:
    st.title("Model size")
    st.caption(
        "nDCG@10 against model parameters (log scale). Hover a point for its source. Published values come from "
        "`retrieval/data/published_ndcg.csv`; the paper's figure points are estimates read off its image."
    )
    v = state.view()
    local = data.local_datasets()
    scopes = [AVERAGE] + published.published_datasets()
    default = v["dataset"] if v["dataset"] in scopes else "scifact"
    scope = st.sidebar.selectbox("Dataset", scopes, index=scopes.index(default), key="w_ms_scope")
    families = sorted(set(published.published()["family"]) | {choices.EXTERNAL})
    shown_families = st.sidebar.multiselect("Families", families, default=families, key="w_ms_families")
    show_measured = st.sidebar.toggle("Overlay my measured runs", value=True, key="w_ms_measured")
    sidebar.footer()

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


_nav.enter()
main()
