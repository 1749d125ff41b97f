"""Model size: score against parameters, one line per model series, as in Rosa et al. 2022 Fig. 1."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _cached as data
from pages import _model_size_parts as parts
from pages import _nav, _repro
from pages import _sidebar as sidebar
from pages import _state as state
from retrieval import published
from view import charts, tables

VIEWS = ("One dataset", "BEIR average", "Every dataset (grid)", "Paper figure (Rosa et al. 2022)")


def measured_for(ds_name: str) -> pd.DataFrame:
    """Measured points from the cache: every cached run on ``ds_name`` (any split), evaluated."""
    rows = tables.measured_rows(
        data.cached_runs(),
        ds_name,
        lambda spec, split: data.evaluation(ds_name, split, spec),
        lambda spec: (data.display_name(spec), data.family(spec)),
    )
    return published.measured_points(rows, ds_name)


def pick_series(points: pd.DataFrame, key: str, param: str) -> pd.DataFrame:
    """Series filter (in the URL as ``param``): by default the series with several sizes, the paper's series and
    BM25 flat."""
    options = sorted(set(points["series"]), key=str.lower)
    multi = set(points[points["params_millions"] > 0].groupby("series")["params_millions"].nunique().loc[lambda c: c >= 2].index)
    default = [s for s in options if s in multi or s in published.PAPER_SERIES or "(measured here)" in s]
    shown = st.multiselect(
        "Series shown",
        options,
        help="Each series is one model, one source, one setup.",
        **state.bind_choices(param, key, options, default),
    )
    return points[points["series"].isin(shown)]


def one_dataset(scope: str, show_measured: bool) -> None:
    points = published.dataset_points(scope)
    measured = measured_for(scope) if show_measured and scope in data.local_datasets() else published.measured_points([])
    points = pick_series(pd.concat([points, measured], ignore_index=True), "w_ms_series", "series")
    chart, message = charts.model_size_chart(points, title=f"nDCG@10 by model size · {scope}")
    parts.show_chart(chart, message, points, f"model_size_{scope}", "ms_one")
    parts.legend_caption(measured=not measured.empty)
    if show_measured and measured.empty:
        st.caption(f"No measured runs on {scope} here (build some on the Data & runs page).")
    if not measured.empty:
        st.subheader("Your runs beside the published value")
        st.dataframe(
            measured[["label", "params_millions", "score", "published_value", "difference", "setup", "reference"]],
            hide_index=True,
            width="stretch",
            column_config=parts.SOURCE_COLUMNS,
        )
        with st.expander("The command behind each measured point", icon=":material/terminal:"):
            runs = _repro.cached_commands()
            mine = runs[runs["dataset"] == scope] if not runs.empty else runs
            for _, run in mine.iterrows():
                st.caption(f"{data.esc(run['system'])} · {data.esc(run['split'])}")
                st.code(run["command"] or run["notes"], language="bash", wrap_lines=True)
    parts.gain_table(points)
    parts.sources(points)


def beir_average() -> None:
    datasets = published.published_datasets()
    chosen = st.multiselect(
        "Average over these datasets",
        datasets,
        **state.bind_choices("avg", "w_ms_avg", datasets, published.default_average_datasets()),
    )
    if not chosen:
        st.info("Choose at least one dataset to average over.")
        return
    points, left_out = published.average_points(chosen)
    points = pick_series(points, "w_ms_avg_series", "avg_series")
    chart, message = charts.model_size_chart(points, title=f"Mean nDCG@10 over {len(chosen)} datasets")
    parts.show_chart(chart, message, points, "model_size_beir_average", "ms_avg")
    parts.legend_caption()
    st.caption(
        f"Averaged over exactly these {len(chosen)} datasets: {', '.join(sorted(chosen))}. Only models published on every one are plotted."
    )
    if not left_out.empty:
        with st.expander(f"{left_out['series'].nunique()} series left out (not published on every chosen dataset)"):
            st.dataframe(left_out, hide_index=True, width="stretch")
    parts.gain_table(points)
    parts.sources(points)


def grid() -> None:
    points = pick_series(published.grid_points(), "w_ms_grid_series", "grid_series")
    chart, message = charts.grid_chart(points)
    parts.show_chart(chart, message, points, "model_size_every_dataset", "ms_grid")
    st.caption("One chart per BEIR dataset, same series and colours; each has its own y axis. Dashed grey lines are BM25.")
    parts.sources(points)


def paper() -> None:
    versions = published.figure_versions()
    version = st.selectbox("Figure version", versions, **state.bind_choice("figure", "w_ms_figver", versions, versions[0]))
    left, right = published.figure_points("msmarco", version), published.figure_points("beir", version)
    if left.empty:
        st.caption(f"The MS MARCO panel of {version} was not read off; showing the first version's.")
        left = published.figure_points("msmarco")
    fig, msg = charts.paper_chart(left, right, f"Read off Rosa et al. 2022, Fig. 1 ({version}), about ±0.002")
    parts.show_chart(fig, msg, pd.concat([left, right]), "rosa2022_fig1_read_off", "ms_fig")
    st.caption(
        "Values read off the figure's image (marker centres, about ±0.002), not table values. The paper's BEIR "
        "average is over its own dataset set."
    )
    datasets = published.common_datasets(published.PAPER_SERIES)
    avg, left_out = published.average_points(datasets, published.PAPER_SERIES)
    tab, msg = charts.paper_chart(published.msmarco_points(), avg, "The same chart from published tables")
    parts.show_chart(tab, msg, pd.concat([published.msmarco_points(), avg]), "rosa2022_fig1_from_tables", "ms_tab")
    st.caption(
        f"Left: published MS MARCO dev MRR@10 (pygaggle's monoT5 values are the non-10k checkpoints; GTR and SGPT "
        f"from MTEB re-evaluations). Right: mean over the {len(datasets)} datasets every series here has: {', '.join(datasets)}."
    )
    if not left_out.empty:
        st.caption("Left out (missing datasets): " + "; ".join(left_out["model"]))
    parts.gain_table(pd.concat([right.assign(series=right["series"] + " (figure)"), avg]))
    parts.sources(pd.concat([left, right, published.msmarco_points(), avg]))


def main() -> None:
    st.title("Model size")
    st.caption("Retrieval quality against model parameters (log scale), one line per model series. Hover a point for its source.")
    v = state.view()
    view = st.sidebar.radio("View", VIEWS, **state.bind_choice("chart", "w_ms_view", VIEWS, VIEWS[0]))
    if view == VIEWS[0]:
        choices = published.published_datasets()
        default = v["dataset"] if v["dataset"] in choices else "scifact"
        scope = st.sidebar.selectbox("Dataset", choices, **state.bind_choice("scope", "w_ms_scope", choices, default))
        overlay = state.bind_choice("overlay", "w_ms_measured", (True, False), True)
        show_measured = st.sidebar.toggle("Overlay my measured runs", **overlay)
    sidebar.footer()
    if view == VIEWS[0]:
        one_dataset(scope, show_measured)
    elif view == VIEWS[1]:
        beir_average()
    elif view == VIEWS[2]:
        grid()
    else:
        paper()
    not_plotted = published.caveats()
    if not not_plotted.empty:
        with st.expander(f"{len(not_plotted)} published value(s) kept out of every chart"):
            st.dataframe(not_plotted, hide_index=True, width="stretch")


_nav.enter()
main()
