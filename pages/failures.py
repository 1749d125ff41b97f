"""Failure cases: per-query A vs B, wins and losses, zero-score queries, relevant documents nobody finds."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # AppTest runs a page file directly
    sys.path.insert(0, _ROOT)

import pandas as pd
import streamlit as st

from pages import _shared as sh
from retrieval import charts, failures, stats

MEASURE_CHOICES = ("nDCG@10", "R@100", "RR@10")
COMPARE_PAGE = "pages/compare.py"


def open_in_compare(ds_name: str, split: str, qid: str, systems: list[str]) -> None:
    sh.remember(qid=qid)
    params = {"dataset": ds_name, "split": split, "qid": qid, "systems": ",".join(systems)}
    try:
        st.switch_page(COMPARE_PAGE, query_params=params)
    except st.errors.StreamlitAPIException:
        # Run outside the navigation (e.g. this page file alone): say where to go instead.
        st.info(f"Open Compare with query {sh.esc(qid)} (the URL now carries it).")


@st.cache_data(max_entries=16, show_spinner="Running paired tests…")
def _comparison(ds_name: str, split: str, a: str, b: str, measure: str, token: tuple) -> stats.PairedComparison:
    return stats.compare_pair(sh.evaluation(ds_name, split, a), sh.evaluation(ds_name, split, b), measure, names=(sh.display_name(a), sh.display_name(b)))


def run_token(ds_name: str, split: str, spec: str) -> str:
    """What identifies a run's content: its cache entry, or the upload's identity."""
    lookup = sh.run_lookup(ds_name, split, spec)
    return str(lookup.run.metadata.get("cache_entry") or id(lookup))


def query_table(frame: pd.DataFrame, queries: dict[str, str], a: str, b: str) -> pd.DataFrame:
    out = frame.reset_index()
    out.insert(1, "query", [queries.get(q, "") for q in out["qid"]])
    return out.rename(columns={"a": a, "b": b, "diff": "B − A"})


def selected_row(event) -> int | None:
    try:
        rows = event.selection.rows
    except AttributeError:
        return None
    return rows[0] if rows else None


def main() -> None:
    st.title("Failure cases")
    v = sh.view()
    ds_name, split = sh.pick_dataset_and_split(v)
    if not ds_name or not split:
        sh.sidebar_footer()
        return
    ds = sh.dataset(ds_name)
    candidates = sh.system_options(ds_name)
    ready = [s for s in candidates if sh.has_run(ds_name, split, s)]
    wanted = [s for s in (v["systems"] or sh.default_systems(ds_name, split)) if s in ready]
    if len(wanted) < 2:
        wanted = (wanted + [s for s in ready if s not in wanted])[:2]
    sh.bind("w_f_systems", "systems", wanted[: sh.MAX_SYSTEMS])
    systems = st.sidebar.multiselect(
        "Systems with runs", ready, key="w_f_systems", max_selections=sh.MAX_SYSTEMS, format_func=sh.display_name,
        on_change=sh.on_widget_change, args=("w_f_systems", "systems"),
    )
    measure = st.sidebar.selectbox("Measure", MEASURE_CHOICES, key="w_f_measure")
    sh.sidebar_footer()
    missing = [s for s in candidates if s not in ready and not s.startswith(sh.UPLOAD_PREFIX)]
    if len(ready) < 2:
        st.info(
            f"Needs cached runs of at least two systems on {ds_name} ({split}); have {len(ready)}. "
            "Build runs on the Data & runs page or open Compare (BM25 runs are built there automatically)."
        )
        return
    if len(systems) < 2:
        st.info("Choose at least two systems in the sidebar.")
        return
    c1, c2 = st.columns(2)
    a = c1.selectbox("System A", systems, index=0, format_func=sh.display_name, key="w_f_a")
    b = c2.selectbox("System B", systems, index=1 if len(systems) > 1 else 0, format_func=sh.display_name, key="w_f_b")
    if a == b:
        st.warning("Pick two different systems for A and B.")
        return
    evals = {s: sh.evaluation(ds_name, split, s) for s in systems}
    token = tuple(run_token(ds_name, split, s) for s in (a, b))
    cmp = _comparison(ds_name, split, a, b, measure, token)
    name_a, name_b = sh.display_name(a), sh.display_name(b)

    st.subheader(f"{sh.esc(name_a)} (A) vs {sh.esc(name_b)} (B) · {measure} · {cmp.n} queries")
    m = st.columns(5)
    m[0].metric(f"mean A", f"{cmp.mean_a:.4f}")
    m[1].metric(f"mean B", f"{cmp.mean_b:.4f}", delta=f"{cmp.mean_b - cmp.mean_a:+.4f}")
    m[2].metric("A better", cmp.a_better)
    m[3].metric("ties", cmp.ties)
    m[4].metric("B better", cmp.b_better)
    tests = pd.DataFrame([{"test": t.name, "statistic": t.statistic, "p-value": t.p_value, "note": t.note} for t in cmp.tests])
    st.dataframe(
        tests, hide_index=True, width="stretch",
        column_config={"statistic": st.column_config.NumberColumn(format="%.4f"), "p-value": st.column_config.NumberColumn(format="%.4g")},
    )
    for note in cmp.notes:
        st.caption(note)
    st.caption("Two-sided tests on per-query differences (B − A) from ir_measures; ties count in the t-test and randomization test, the Wilcoxon test drops them.")

    chart, message = charts.scatter_chart(cmp, ds.queries)
    if chart is None:
        st.info(message)
    else:
        st.caption("Click a point to open that query in Compare (double-click clears).")
        event = st.altair_chart(chart, width="stretch", on_select="rerun", selection_mode="query", key="w_f_scatter")
        picked = (event.selection.get("query") or [{}]) if hasattr(event, "selection") else [{}]
        qid = picked[0].get("qid") if picked else None
        if qid:
            open_in_compare(ds_name, split, str(qid), [a, b])

    left, right = st.columns(2)
    for col, better, title in ((left, "a", f"Largest wins of A ({name_a})"), (right, "b", f"Largest wins of B ({name_b})")):
        with col:
            st.markdown(f"**{sh.esc(title)}**")
            table = query_table(cmp.largest(better, 15), ds.queries, name_a, name_b)
            ev = st.dataframe(
                table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key=f"w_f_top_{better}",
                column_config={name_a: st.column_config.NumberColumn(format="%.3f"), name_b: st.column_config.NumberColumn(format="%.3f"), "B − A": st.column_config.NumberColumn(format="%+.3f")},
            )
            row = selected_row(ev)
            if row is not None:
                open_in_compare(ds_name, split, str(table.iloc[row]["qid"]), [a, b])

    zero = failures.all_zero_queries(evals, measure)
    st.subheader(f"Queries every chosen system scores 0 on ({len(zero)})")
    if zero:
        zt = pd.DataFrame({"qid": zero, "query": [ds.queries.get(q, "") for q in zero], "relevant": [len(ds.qrels(split).relevant(q)) for q in zero]})
        ev = st.dataframe(zt, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="w_f_zero")
        row = selected_row(ev)
        if row is not None:
            open_in_compare(ds_name, split, str(zt.iloc[row]["qid"]), systems)
    else:
        st.caption("None.")

    runs = {sh.display_name(s): sh.run_lookup(ds_name, split, s).run for s in systems}
    lost = failures.unfound_relevant(runs, ds.qrels(split), k=10)
    st.subheader(f"Relevant documents no chosen system ranks in its top 10 ({len(lost)})")
    if len(lost):
        lost = lost.assign(title=[(ds.corpus[d].title if d in ds.corpus else "") for d in lost["docid"]], query=[ds.queries.get(q, "") for q in lost["qid"]])
        ev = st.dataframe(
            lost[["qid", "query", "docid", "title", "grade", "best_rank", "best_system"]], hide_index=True, width="stretch",
            on_select="rerun", selection_mode="single-row", key="w_f_lost",
            column_config={"best_rank": st.column_config.NumberColumn("best rank (any system)"), "best_system": "by"},
        )
        row = selected_row(ev)
        if row is not None:
            open_in_compare(ds_name, split, str(lost.iloc[row]["qid"]), systems)
    if missing:
        st.caption("No run yet (build on Data & runs): " + ", ".join(sh.display_name(s) for s in missing))


sh.ensure_navigation()
main()
