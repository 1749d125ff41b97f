"""Failure cases: per-query A vs B, wins and losses, zero-score queries, relevant documents nobody finds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _agreement, _nav, _queue
from pages import _cached as data
from pages import _judging as judging
from pages import _sidebar as sidebar
from pages import _state as state
from pages import _table as table
from pages._table import Column
from retrieval import failures, stats
from view import charts, choices, queues, tables

MEASURE_CHOICES = ("nDCG@10", "R@100", "RR@10")


def open_in_compare(ds_name: str, split: str, qid: str, systems: list[str]) -> None:
    """A chart point's callback (the tables' rows are links: ``_nav.compare_link``)."""
    state.remember(qid=qid)
    _nav.goto_compare({**_nav.compare_params(ds_name, split, systems), "qid": qid})


@st.cache_data(max_entries=16, show_spinner="Running paired tests…")
def _comparison(ds_name: str, split: str, a: str, b: str, measure: str, token: tuple) -> stats.PairedComparison:
    mode = state.view()["qrels"]  # in the token too
    return stats.compare_pair(
        judging.evaluation(ds_name, split, a, mode),
        judging.evaluation(ds_name, split, b, mode),
        measure,
        names=(data.display_name(a), data.display_name(b)),
    )


def run_token(ds_name: str, split: str, spec: str) -> str:
    """What identifies a run's content: its cache entry, or the upload's identity."""
    lookup = data.run_lookup(ds_name, split, spec)
    return str(lookup.run.metadata.get("cache_entry") or id(lookup))


def empty_queries(ds_name: str, split: str, systems: list[str]) -> None:
    """Name the judged queries a system returned nothing for (they score 0 on every measure)."""
    judged = data.dataset(ds_name).qrels(split).qids
    for s in systems:
        have = set(data.run_lookup(ds_name, split, s).run.qids)
        nothing = [q for q in judged if q not in have]
        if nothing:
            shown = ", ".join(nothing[:8]) + (f" and {len(nothing) - 8} more" if len(nothing) > 8 else "")
            st.caption(
                f"{data.esc(data.display_name(s))} returned nothing for {len(nothing)} of {len(judged)} queries ({data.esc(shown)}): they score 0."
            )


def wins_columns(name_a: str, name_b: str) -> dict:
    """Short, labelled number columns first (qid, B − A, A, B), the query text last and wide: every number in view."""
    return {
        "B − A": Column(fmt="%+.3f"),
        name_a: Column("A", "%.3f", help=name_a),
        name_b: Column("B", "%.3f", help=name_b),
        "query": Column(wide=True),
    }


def summary(cmp, measure: str, name_a: str, name_b: str) -> None:
    st.subheader(f"{data.esc(name_a)} (A) vs {data.esc(name_b)} (B) · {measure} · {cmp.n} queries")
    m = st.columns(5)
    m[0].metric("mean A", f"{cmp.mean_a:.4f}")
    m[1].metric("mean B", f"{cmp.mean_b:.4f}", delta=f"{cmp.mean_b - cmp.mean_a:+.4f}")
    m[2].metric("A better", cmp.a_better)
    m[3].metric("ties", cmp.ties)
    m[4].metric("B better", cmp.b_better)
    tests = pd.DataFrame([{"test": t.name, "statistic": t.statistic, "p-value": t.p_value, "note": t.note} for t in cmp.tests])
    table.show(tests, "w_f_tests", {"statistic": Column(fmt="%.4f"), "p-value": Column(fmt="%.4g"), "note": Column(wide=True)})
    for note in cmp.notes:
        st.caption(note)
    st.caption(
        "Two-sided tests on per-query differences (B − A) from ir_measures; ties count in the t-test and randomization test, the Wilcoxon test drops them."
    )


def main() -> None:
    _nav.switch_if_asked()
    st.title("Failure cases")
    v = state.view()
    ds_name, split = sidebar.pick_dataset_and_split(v)
    if not ds_name or not split:
        return sidebar.footer()
    ds = data.dataset(ds_name)
    candidates = data.system_options(ds_name)
    ready = [s for s in candidates if data.has_run(ds_name, split, s)]
    state.bind("w_f_systems", choices.with_runs(v["systems"] or data.default_systems(ds_name, split), ready)[: state.MAX_SYSTEMS])
    systems = st.sidebar.multiselect(
        "Systems with runs",
        ready,
        key="w_f_systems",
        max_selections=state.MAX_SYSTEMS,
        format_func=data.display_name,
        on_change=state.on_widget_change,
        args=("w_f_systems", "systems"),
    )
    measure = st.sidebar.selectbox(
        "Measure", MEASURE_CHOICES, **state.bind_choice("measure", "w_f_measure", MEASURE_CHOICES, MEASURE_CHOICES[0])
    )
    sidebar.judging_controls(v)
    sidebar.footer()
    missing = [s for s in candidates if s not in ready and s not in state.uploads()]
    if len(ready) < 2:
        return st.info(
            f"Needs cached runs of at least two systems on {ds_name} ({split}); have {len(ready)}. "
            "Build runs on the Data & runs page or open Compare (BM25 runs are built there automatically)."
        )
    if len(systems) < 2:
        return st.info("Choose at least two systems in the sidebar.")
    c1, c2 = st.columns(2)
    first = v["baseline"] if v["baseline"] in systems else systems[0]  # Compare's baseline is A unless chosen
    a = c1.selectbox("System A", systems, format_func=data.display_name, **state.bind_choice("a", "w_f_a", systems, first))
    b = c2.selectbox("System B", systems, format_func=data.display_name, **state.bind_choice("b", "w_f_b", systems, systems[1]))
    if a == b:
        return st.warning("Pick two different systems for A and B.")
    evals = {s: judging.evaluation(ds_name, split, s, v["qrels"]) for s in systems}
    token = (*(run_token(ds_name, split, s) for s in (a, b)), v["qrels"], judging.version(ds_name, split, v["qrels"]))
    cmp = _comparison(ds_name, split, a, b, measure, token)
    empty_queries(ds_name, split, systems)
    name_a, name_b = data.display_name(a), data.display_name(b)
    summary(cmp, measure, name_a, name_b)

    link_ab, link_all = (_nav.compare_link(v, ds_name, split, s) for s in ([a, b], systems))

    chart, message = charts.scatter_chart(cmp, ds.queries)
    if chart is None:
        st.info(message)
    else:
        st.caption(
            "Click a point to open that query in Compare (double-click clears). Queries with the same two values are one "
            "point, larger the more queries it holds (hover for how many); a click opens the first of them."
        )

        def point() -> None:
            qid = ((st.session_state["w_f_scatter"].selection.get("query") or [{}])[0] or {}).get("qid")
            if qid:
                open_in_compare(ds_name, split, str(qid), [a, b])

        st.altair_chart(chart, width="stretch", on_select=point, selection_mode="query", key="w_f_scatter")

    left, right = st.columns(2)
    for col, better, title in ((left, "a", f"Largest wins of A ({name_a})"), (right, "b", f"Largest wins of B ({name_b})")):
        with col:
            st.markdown(f"**{data.esc(title)}**")
            wins = tables.wins_table(cmp.largest(better, 15), ds.queries, name_a, name_b)
            table.show(wins, f"w_f_top_{better}", wins_columns(name_a, name_b), link_ab, rows=15)
            lost = queues.Queue("lost", a, b) if better == "a" else queues.Queue("lost", b, a)
            _queue.step_button(
                ds_name, split, [a, b], lost, wins.index.astype(str).tolist() if len(wins) else [], f"w_f_q_{better}"
            )

    _agreement.section(ds_name, split, a, b, tuple(run_token(ds_name, split, s) for s in (a, b)), link_ab)

    zero = failures.all_zero_queries(evals, measure)
    st.subheader(f"Queries every chosen system scores 0 on ({len(zero)})")
    if zero:
        zt = tables.zero_table(zero, ds.queries, ds.qrels(split))
        table.show(zt, "w_f_zero", {"query": Column(wide=True)}, link_all)
        _queue.step_button(ds_name, split, systems, queues.Queue("zero"), zero, "w_f_q_zero")
    else:
        st.caption("None.")

    runs = {data.display_name(s): data.run_lookup(ds_name, split, s).run for s in systems}
    lost = failures.unfound_relevant(runs, ds.qrels(split), k=10)
    st.subheader(f"Relevant documents no chosen system ranks in its top 10 ({len(lost)})")
    if len(lost):
        lost = tables.unfound_table(lost, ds.corpus, ds.queries)
        table.show(
            lost,
            "w_f_lost",
            {
                "query": Column(wide=True),
                "title": Column(wide=True),
                "best_rank": Column("best rank (any system)", "%.0f"),
                "best_system": Column("by"),
            },
            link_all,
        )
    if missing:
        st.caption("No run yet (build on Data & runs): " + ", ".join(data.display_name(s) for s in missing))


_nav.enter()
main()
