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
    names = sorted(set(points["series"]), key=str.lower)
    multi = set(points[points["params_millions"] > 0].groupby("series")["params_millions"].nunique().loc[lambda c: c >= 2].index)
    default = [s for s in names if s in multi or s in published.PAPER_SERIES or "(measured here)" in s]
    # The URL holds the choice comma-separated: series names with a comma ("BEIR paper, BM25 top-100") go there with
    # "·" instead, else the next run would split them and drop them.
    token = {n: n.replace(",", "·") for n in names}
    name_of = {t: n for n, t in token.items()}
    shown = st.multiselect(
        "Series shown",
        list(token.values()),
        format_func=name_of.get,
        help="Each series is one model, one source, one setup.",
        **state.bind_choices(param, key, list(token.values()), [token[s] for s in default]),
    )
    return points[points["series"].isin([name_of[t] for t in shown])]


def one_dataset(scope: str, show_measured: bool) -> None:
    points = published.dataset_points(scope)
    measured = measured_for(scope) if show_measured and scope in data.local_datasets() else published.measured_points([])
    points = pick_series(pd.concat([points, measured], ignore_index=True), "w_ms_series", "series")
    parts.show_chart(points, f"nDCG@10 by model size · {scope}", f"model_size_{scope}", "ms_one")
    parts.legend_caption(measured=not measured.empty)
    if show_measured and measured.empty:
        st.caption(f"No measured runs on {scope} here (build some on the Data & runs page).")
    if not measured.empty:
        st.subheader("Your runs beside the published value")
        parts.measured_table(measured)
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
    local = set(data.local_datasets())
    measured = published.average_measured([measured_for(d) for d in chosen if d in local], chosen)
    points = pick_series(pd.concat([points, measured], ignore_index=True), "w_ms_avg_series", "avg_series")
    over = chosen[0] if len(chosen) == 1 else f"{len(chosen)} datasets"
    parts.show_chart(points, f"Mean nDCG@10 over {over}", "model_size_beir_average", "ms_avg")
    parts.legend_caption(measured=not measured.empty)
    if measured.empty:
        parts.why_no_measured(data.cached_runs(), chosen, "average")
    st.caption(
        f"Averaged over exactly {'this dataset' if len(chosen) == 1 else f'these {len(chosen)} datasets'}: "
        f"{', '.join(sorted(chosen))}. Only models published on every one are plotted."
    )
    if not left_out.empty:
        with st.expander(f"{left_out['series'].nunique()} series left out (not published on every chosen dataset)"):
            st.dataframe(left_out, hide_index=True, width="stretch")
    parts.gain_table(points)
    parts.sources(points)


def grid() -> None:
    points = pick_series(published.grid_points(), "w_ms_grid_series", "grid_series")
    panels, message = charts.grid_panels(points)
    key = charts.key_html(charts.key_entries(points) + [e for e in charts.marks_key(points) if e[2] == "marker"])
    parts.show_panels(panels, lambda: charts.grid_chart(points)[0], message, points, "model_size_every_dataset", "ms_grid", key)
    st.caption(
        "One chart per BEIR dataset (nDCG@10), same series and styles as the key above; each has its own y axis. "
        "Dashed lines are BM25. Your measured runs are on One dataset."
    )
    parts.sources(points)


def paper() -> None:
    versions = published.figure_versions()
    version = st.selectbox("Figure version", versions, **state.bind_choice("figure", "w_ms_figver", versions, versions[0]))
    left, right = published.figure_points("msmarco", version), published.figure_points("beir", version)
    if left.empty:
        st.caption(f"The MS MARCO panel of {version} was not read off; showing the first version's.")
        left = published.figure_points("msmarco")
    paper_figure(left, right, f"Read off Rosa et al. 2022, Fig. 1 ({version}), about ±0.002", "rosa2022_fig1_read_off", "ms_fig")
    st.caption(
        "Values read off the figure's image (marker centres, about ±0.002), not table values. The paper's BEIR "
        "average is over its own dataset set. Colours and markers as in the paper."
    )
    datasets = published.common_datasets(published.PAPER_SERIES)
    avg, left_out = published.average_points(datasets, published.PAPER_SERIES)
    paper_figure(published.msmarco_points(), avg, "The same chart from published tables", "rosa2022_fig1_from_tables", "ms_tab")
    st.caption(
        f"Left: published MS MARCO dev MRR@10 (pygaggle's monoT5 values are the non-10k checkpoints; GTR and SGPT "
        f"from MTEB re-evaluations). Right: mean over the {len(datasets)} datasets every series here has: {', '.join(datasets)}."
    )
    if not left_out.empty:
        st.caption("Left out (missing datasets): " + "; ".join(left_out["model"]))
    parts.why_no_measured(data.cached_runs(), datasets, "paper")
    parts.gain_table(pd.concat([right.assign(series=right["series"] + " (figure)"), avg]))
    parts.sources(pd.concat([left, right, published.msmarco_points(), avg]))


def paper_figure(left: pd.DataFrame, right: pd.DataFrame, title: str, name: str, key: str) -> None:
    """Both panels of the paper's figure under a key with the paper's names, colours and markers."""
    st.subheader(title)
    panels, msg = charts.paper_panels(left, right)
    both = pd.concat([left, right], ignore_index=True)
    entries = charts.key_entries(both, paper=True, styles=charts.paper_styles(left, right))
    key_html = charts.key_html(entries, charts.paper_names(both))
    parts.show_panels(panels, lambda: charts.paper_chart(left, right, title)[0], msg, both, name, key, key_html)


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
    parts.width_probe()


_nav.enter()
main()
