"""Compare: one query, 2 to 4 systems side by side."""

from __future__ import annotations

import streamlit as st

from pages import _builds as builds
from pages import _cached as data
from pages import _choice, _nav, _query
from pages import _column as column
from pages import _firststart as firststart
from pages import _sidebar as sidebar
from pages import _state as state
from pages._document import show_document
from retrieval.errors import RetrievalError
from retrieval.run import TIE_RULE
from view import cards, choices


def pick_query(ds_name: str, split: str, systems: list[str], v: dict) -> str | None:
    ds = data.dataset(ds_name)
    qid, options, problem = choices.resolve_query(v["qid"], ds.queries, ds.qrels(split).qids)
    if problem == "unknown":
        st.warning(f"Query {data.esc(v['qid'])} is not in {data.esc(ds_name)}; pick another.")
    elif problem == "unjudged":
        st.info(f"Query {data.esc(qid)} has no judgements in the {data.esc(split)} split; badges will say unjudged.")
    c1, c2, c3 = st.columns([6, 1, 2], vertical_alignment="bottom")
    with c1:
        _query.picker("Query (type to search by text or id)", options, ds.queries, qid, state.on_pick)
    c2.button("Random", icon=":material/casino:", width="stretch", on_click=state.on_random, args=(ds.qrels(split).qids,))
    # A toggle, not a popover: a popover's content is built and sent on every rerun, even while closed.
    if _choice.toggle("Most contrasting", "w_contrast", "Queries with the largest nDCG@10 difference between two systems", c3):
        contrasting_popover(ds_name, split, systems)
    state.remember(qid=qid)
    return qid


def contrasting_popover(ds_name: str, split: str, systems: list[str]) -> None:
    with st.container(border=True):
        ready = [s for s in systems if data.has_run(ds_name, split, s)]
        if len(ready) < 2:
            st.caption("Needs two systems with runs.")
            return
        a = st.selectbox("System A", ready, index=0, format_func=data.display_name, key="w_ca")
        b = st.selectbox("System B", ready, index=1, format_func=data.display_name, key="w_cb")
        if a == b:
            st.caption("Pick two different systems.")
            return
        queries = data.dataset(ds_name).queries
        st.caption(f"Largest nDCG@10 differences between {data.name_md(a)} (A) and {data.name_md(b)} (B).")
        for qid, diff in data.contrasting(ds_name, split, a, b, 12):
            st.button(
                f"{diff:+.3f} · {data.esc(qid)} · {data.esc(queries.get(qid, '')[:60])}",
                key=f"contrast_{a}_{b}_{qid}",
                width="stretch",
                on_click=state.on_pick,
                args=(qid,),
            )


def ensure_runs(ds_name: str, split: str, systems: list[str]) -> dict:
    """Runs of the chosen systems; runs that build in seconds (BM25, a fusion of runs that are there) are built on the
    spot, others on request, in the background.
    On a first start (or once a background build of it runs) BM25 builds in the background too, so its column and
    the dense columns' encoding progress show side by side and none waits for another (pages/_builds.py)."""
    lookups = {}
    for spec in systems:
        lookup = data.run_lookup(ds_name, split, spec)
        background = builds.first_start() or builds.job(ds_name, split, spec) is not None
        if lookup is None and not background and data.builds_quickly(ds_name, split, spec):
            with st.spinner(f"Building the {data.name_md(spec)} run on {data.esc(ds_name)} (first time only)…", show_time=True):
                try:
                    data.build_run(ds_name, split, spec)
                    lookup = data.run_lookup(ds_name, split, spec)
                except RetrievalError as exc:
                    st.error(f"{data.name_md(spec)}: {data.esc(exc, joiners=False)}")
        lookups[spec] = lookup
    return lookups


def live_lookups(ds_name: str, systems: list[str], query: str) -> dict:
    lookups = {}
    for spec in (s for s in systems if s not in state.uploads()):
        lookups[spec] = None
        if data.system_info(spec)[1]:
            try:
                with st.spinner(f"Running {data.name_md(spec)}…"):
                    lookups[spec] = data.live_lookup(ds_name, spec, query)
            except (RetrievalError, NotImplementedError) as exc:
                st.warning(f"{data.name_md(spec)} cannot run a typed query here: {data.esc(exc, joiners=False)}")
    return lookups


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
        qid, judged, lookups = "live", None, live_lookups(ds_name, systems, query)
        board(ds_name, split, systems, qid, query, judged, lookups, live, compact)
    else:
        judged_board(ds_name, split, systems, ensure_runs(ds_name, split, systems), compact)


@st.fragment
@state.batches_url
def judged_board(ds_name: str, split: str, systems: list[str], lookups: dict, compact: bool) -> None:
    """The query picker and the board, a fragment inside :func:`rankings`: Random, a picked query or a contrasting
    query reruns only this, not the systems picker above (which the browser would draw again for nothing)."""
    v = state.view()
    qid = pick_query(ds_name, split, systems, v)
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
    st.html(f"<style>{cards.PAGE_CSS}{_query.HIDDEN_CSS}{cards.COMPACT_CSS if compact else ''}</style>")
    later: list = []
    for n, (col, spec) in enumerate(zip(st.columns(len(systems), gap="medium"), systems)):
        with col:
            column.render_column(
                spec, ds_name, split, qid, query, k, lookups, judged, live, compact, systems[n - 1] if n else None, later
            )
    for slot, spec in later:
        ev = data.evaluation(ds_name, split, spec)
        slot.markdown(cards.metrics_md(ev.query(qid) if ev is not None else {}, data.MEASURES), help=data.metrics_help())
    opened = st.session_state.pop("_open_doc", None)
    if opened:
        show_document(ds_name, opened[0], query, opened[1], opened[2])


_nav.enter()
main()
