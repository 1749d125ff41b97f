"""Compare: one query, 2 to 4 systems side by side."""

from __future__ import annotations

import streamlit as st

from pages import _builds as builds
from pages import _cached as data
from pages import _choice, _nav, _query
from pages import _column as column
from pages import _firststart as firststart
from pages import _judging as judging
from pages import _queue as queue
from pages import _sidebar as sidebar
from pages import _state as state
from pages import _workflow as workflow
from pages._document import show_document
from retrieval.run import TIE_RULE
from view import cards, choices


def pick_query(ds_name: str, split: str, systems: list[str], v: dict) -> str | None:
    ds = data.dataset(ds_name)
    qid, options, problem = choices.resolve_query(v["qid"], ds.queries, ds.qrels(split).qids)
    if problem == "unknown":
        st.warning(f"Query {data.esc(v['qid'])} is not in {data.esc(ds_name)}; pick another.")
    elif problem == "unjudged":
        st.info(f"Query {data.esc(qid)} has no judgements in the {data.esc(split)} split; badges will say unjudged.")
    c1, c2, c3, c4 = st.columns([4.4, 1.3, 1.7, 2.4], vertical_alignment="bottom")
    with c1:
        _query.picker("Query (type to search by text or id)", options, ds.queries, qid, state.on_pick)
    c2.button("Random", icon=":material/casino:", width="stretch", on_click=state.on_random, args=(ds.qrels(split).qids,))
    # A toggle, not a popover: a popover's content is built and sent on every rerun, even while closed.
    if _choice.toggle("Most contrasting", "w_contrast", "Queries with the largest nDCG@10 difference between two systems", c3):
        contrasting_popover(ds_name, split, systems)
    queue.picker(ds_name, split, systems, qid, v, c4)
    state.remember(qid=qid)
    return qid


def contrasting_popover(ds_name: str, split: str, systems: list[str]) -> None:
    """The queries with the largest nDCG@10 difference between two systems, as one compact list (a select: a pick
    opens the query), and the same list as a queue to step through."""
    ready = [s for s in systems if data.has_run(ds_name, split, s)]
    if len(ready) < 2:
        return st.caption("Needs two systems with runs.")
    c1, c2, c3 = st.columns([2, 2, 5], vertical_alignment="bottom")
    a = c1.selectbox("System A", ready, index=0, format_func=data.display_name, key="w_ca")
    b = c2.selectbox("System B", ready, index=1, format_func=data.display_name, key="w_cb")
    if a == b:
        return st.caption("Pick two different systems.")
    queries = data.dataset(ds_name).queries
    found = data.contrasting(ds_name, split, a, b, 12)
    labels = {qid: f"{diff:+.3f} · {qid} · {queries.get(qid, '')[:70]}" for qid, diff in found}

    def picked() -> None:
        qid = st.session_state.get("w_contrast_pick")
        if qid:
            state.on_pick(qid)

    c3.selectbox(
        f"Largest nDCG@10 differences, B − A ({len(labels)})",
        [""] + list(labels),
        format_func=lambda q: labels.get(q, "Open one…"),
        key="w_contrast_pick",
        on_change=picked,
    )


def main() -> None:
    st.title("Compare")
    st.caption("Pick a query and 2 to 4 systems: their rankings side by side, with relevance judgements and per-query metrics.")
    v = state.view()
    ds_name, split = sidebar.pick_dataset_and_split(v)
    if not data.local_datasets():  # a fresh machine: fetch the default dataset, the page fills in when it is there
        firststart.landing(state.DEFAULT_DATASET)
        return sidebar.footer()
    if not ds_name or not split:
        return sidebar.footer()
    # The sidebar's controls are drawn after the rankings: their values are known before (the view, bound to their
    # state), and on a first load the server sends the rankings, and the browser draws them, before the sidebar's
    # widgets (issue 12, cold start).
    compact, live = sidebar.resolve_view(v)
    rankings(ds_name, split, compact, live)
    builds.first_start_done()
    sidebar.size_ladder()
    sidebar.view_widgets(v)
    sidebar.judging_controls(v)
    sidebar.upload(ds_name)
    sidebar.footer()


@st.fragment
@state.batches_url
def rankings(ds_name: str, split: str, compact: bool, live: bool) -> None:
    """The systems, the query and the board: a system added or removed (or a typed query) reruns only this part of
    the page."""
    v = state.view()
    systems, options, gone = sidebar.resolve_systems(ds_name, split, v)
    sidebar.systems_picker(systems, options, gone)
    if len(systems) < 1:
        st.info("Choose 2 to 4 systems above.")
        return
    if live:
        state.bind("w_live", v["text"])
        query = st.text_input(
            "Type a query (runs the chosen systems live; no judgements, so no metrics or badges)",
            key="w_live",
            on_change=state.on_widget_change,
            args=("w_live", "text"),
        )
        if not query.strip():
            return
        qid, judged, lookups = "live", None, builds.live_lookups(ds_name, systems, query)
        board(ds_name, split, systems, qid, query, judged, lookups, live, compact)
    else:
        judged_board(ds_name, split, systems, builds.ensure_runs(ds_name, split, systems), compact)


@st.fragment
@state.batches_url
def judged_board(ds_name: str, split: str, systems: list[str], lookups: dict, compact: bool) -> None:
    """The query picker and the board, a fragment inside :func:`rankings`: Random, a picked query or a contrasting
    query reruns only this, not the systems picker above (which the browser would draw again for nothing)."""
    v = state.view()
    qid = pick_query(ds_name, split, systems, v)
    # here, not in the board: a step changes the query, which this fragment picks
    queue.bar(ds_name, split, systems, qid, v)
    ds = data.dataset(ds_name)
    board(ds_name, split, systems, qid, ds.queries.get(qid, ""), ds.qrels(split).for_query(qid), lookups, False, compact)


@st.fragment
@state.batches_url
def board(ds_name, split, systems, qid, query, judged, lookups, live, compact) -> None:
    """The query's header, documents per column and the columns, a fragment inside :func:`judged_board` (or
    :func:`rankings` for a typed query): more or fewer documents, or a row's "Full text" or "Why here?", reruns only
    this; the browser does not draw the pickers above again for it."""
    v = state.view()
    k = v["k"]
    h1, h2 = st.columns([5, 2], vertical_alignment="bottom")
    if live:
        _query.header(h1, "Typed query:", query, f"Run live by each system on {ds_name} · no judgements, so no badges or metrics")
    else:
        rel = sum(1 for g in judged.values() if g > 0)
        _query.header(
            h1,
            f"Query {qid}:",
            query,
            f"{len(judged)} judged document{'s' if len(judged) != 1 else ''}, {rel} relevant · {ds_name} / {split} · ranks use the run contract's tie rule ({TIE_RULE})",
        )
    sidebar.k_picker(h2, v)
    if len(systems) < 2:
        st.caption("Add a second system above to compare.")
    # The same on every rerun of a view (no per-document rules): the compact columns' script marks a document's rows
    # across columns (pages/_rows.py).
    st.html(f"<style>{cards.PAGE_CSS}{_query.HIDDEN_CSS}{cards.COMPACT_CSS}</style>")
    b = column.make_board(ds_name, split, systems, qid, query, k, lookups, judged, live, compact, v)
    # One container, whatever it holds (the tools' open panels, a write's message): the columns after it keep their
    # place in the page. An element put before them made the browser mount them again, closing the rows opened in them.
    with st.container():
        workflow.tools(b, systems)
        judging.said()
    for col, spec in zip(st.columns(len(systems), gap="medium"), systems):
        with col:
            column.render_safely(spec, b)
    for slot, spec in b.later:
        official, chosen = b.metric_values(spec)
        slot.markdown(cards.metrics_md(official, data.MEASURES, chosen, b.mode), help=data.metrics_help())
    opened = st.session_state.pop("_open_doc", None)
    if opened:
        show_document(ds_name, *opened[:1], query, *opened[1:])


_nav.enter()
main()
