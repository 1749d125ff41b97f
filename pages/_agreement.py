"""Failure cases' ranking agreement between two columns: distribution over the split and the most
disagreeing queries (``retrieval.agreement``), each row opening that query in Compare."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _cached as data
from pages import _table as table
from pages._table import Column
from retrieval import agreement
from view import charts, tables

SHOWN = 15


@st.cache_data(max_entries=16, show_spinner="Comparing the rankings query by query…")
def agreement_frame(ds_name: str, split: str, a: str, b: str, token: tuple) -> pd.DataFrame:
    """overlap@10, RBO (p=0.9), Kendall's tau per judged query of the split (``token`` names the runs' content)."""
    run_a, run_b = (data.run_lookup(ds_name, split, s).run for s in (a, b))
    return agreement.agreement_frame(run_a, run_b, data.dataset(ds_name).qrels(split).qids)


def section(ds_name: str, split: str, a: str, b: str, token: tuple, link: str) -> None:
    name_a, name_b = data.display_name(a), data.display_name(b)
    frame = agreement_frame(ds_name, split, a, b, token)
    st.subheader(f"Ranking agreement: {data.esc(name_a)} vs {data.esc(name_b)} ({len(frame)} queries)")
    summary = agreement.agreement_summary(frame).set_index("measure")
    m = st.columns(4)
    m[0].metric("median RBO (p=0.9)", f"{summary.loc['rbo', 'median']:.3f}")
    m[1].metric("median overlap@10", f"{summary.loc['overlap@10', 'median']:.2f}")
    m[2].metric(
        "median Kendall's tau (shared docs)",
        "—" if pd.isna(summary.loc["kendall_tau", "median"]) else f"{summary.loc['kendall_tau', 'median']:.3f}",
    )
    m[3].metric("queries with disjoint top 10", int((frame["overlap@10"] == 0).sum()))
    chart, message = charts.agreement_histogram(frame)
    if chart is None:
        st.info(message)
    else:
        st.altair_chart(chart, key="w_f_agree_hist")
    st.caption(
        "RBO: rank-biased overlap (Webber et al. 2010, RBO_ext, p=0.9, top 100 of each run; 1 = same ranking, 0 = nothing shared); "
        "overlap@10: share of the top 10 both hold; Kendall's tau on the documents both rank in their top 100."
    )
    st.markdown("**Most disagreeing queries (lowest RBO)**: click a row to open it in Compare.")
    frame_shown = tables.disagreeing_table(agreement.most_disagreeing(frame, SHOWN), data.dataset(ds_name).queries)
    table.show(
        frame_shown,
        "w_f_disagree",
        {
            "rbo": Column("RBO", "%.3f"),
            "overlap@10": Column(fmt="%.1f"),
            "kendall_tau": Column("tau", "%.2f", help="Kendall's tau on the documents both rank in their top 100"),
            "query": Column(wide=True),
        },
        link,
        rows=SHOWN,
    )
    from pages import _queue
    from view import queues

    most = agreement.most_disagreeing(frame, len(frame))["qid"].astype(str).tolist()
    _queue.step_button(ds_name, split, [a, b], queues.Queue("rbo", a, b), most, "w_f_q_rbo")
