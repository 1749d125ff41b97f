"""One Compare column: its header, its rows (compact or cards), the relevant documents it missed, its command."""

from __future__ import annotations

import streamlit as st

from pages import _builds as builds
from pages import _cached as data
from pages import _repro, _rows
from pages._document import open_document
from view import cards, columns, text


def render_column(
    spec: str,
    ds_name: str,
    split: str,
    qid: str,
    query: str,
    k: int,
    lookups: dict,
    judged: dict | None,
    live: bool,
    compact: bool = False,
    left: str | None = None,
    later: list | None = None,
) -> None:
    c = data.choice(spec)
    lookup = lookups.get(spec)
    if lookup is None or not compact:
        st.markdown(f"#### {text.escape_markdown(c.name)}")
    if lookup is None:
        if not c.available:
            st.warning(c.message or "This system is not available here.", icon=":material/block:")
        elif not live:
            build_button(spec, ds_name, split)
        return
    others = {s: lk for s, lk in lookups.items() if s != spec and lk is not None}
    column = columns.query_column(lookup, qid, k, judged, others)
    caption = f"{c.family} · {len(lookup.ranks(qid)):,} retrieved"
    if compact:
        return compact_column(c, ds_name, split, qid, query, k, lookups, column, caption, live, left)
    corpus = data.dataset(ds_name).corpus
    st.caption(caption)
    if not live:  # filled after every column's rows: a first evaluation (seconds) must not hold back the rankings
        later.append((st.empty(), spec))
    if not column.docs:
        st.info("No results for this query.")
    for doc in column.docs:
        d = corpus.get(doc.docid)
        with st.container(border=True, key=cards.card_key(spec, doc.docid)):
            st.markdown(
                cards.card_md(
                    doc,
                    d.title if d else "",
                    d.text if d else "(document not in this corpus)",
                    query,
                    cards.snippet_chars(len(lookups)),
                    badges=not live,
                )
            )
            if doc.others:
                st.caption(f"Other columns: {cards.ranks_md({data.display_name(o.system): o.label for o in doc.others})}")
            st.button(
                "Open",
                key=f"open_{spec}_{doc.docid}",
                icon=":material/open_in_full:",
                type="tertiary",
                help="Show the whole document",
                on_click=_open_row,
                args=(spec, doc),
            )
    if column.missed:
        with st.expander(f"Relevant documents missed ({len(column.missed)} not in the top {k})"):
            for m in column.missed:
                d = corpus.get(m.docid)
                st.markdown(cards.missed_md(m, d.title if d else "", column.depth))
    if not live:
        _repro.reproduce_block(ds_name, split, spec)


def compact_column(c, ds_name, split, qid, query, k, lookups, column, caption, live, left) -> None:
    """A ready column of the compact view as one element (pages/_rows.py): header, metrics, rows, missed, command."""
    spec = c.spec
    corpus = data.dataset(ds_name).corpus
    names = {s: data.display_name(s) for s in lookups}
    view = _rows.view_id(ds_name, qid, query)
    full = _rows.full_docs(view, spec)
    rows = [
        cards.compact_row_html(
            doc, *cards.doc_fields(corpus, doc.docid), query, names, left, badges=not live, full=doc.docid in full
        )
        for doc in column.docs
    ]
    slot = f'<div class="rk-col">{_rows.ROWS_SLOT}</div>' if rows else '<p class="rk-meta">No results for this query.</p>'
    metrics = missed = reproduce = ""
    if not live:
        ev = data.evaluation(ds_name, split, spec)
        metrics = cards.metrics_html(ev.query(qid) if ev is not None else {}, data.MEASURES, data.metrics_help())
        titles = {m.docid: cards.doc_fields(corpus, m.docid)[0] for m in column.missed}
        missed = cards.missed_html(column.missed, titles, column.depth, k)
        reproduce = cards.reproduce_html(*_repro.command_for(ds_name, split, spec))
    html = cards.board_column_html(spec, c.name, caption, metrics, slot, missed, reproduce)
    by_id = {doc.docid: doc for doc in column.docs}
    _rows.show(spec, view, html, rows, lambda d: _open_row(spec, by_id.get(d)))


def build_button(spec: str, ds_name: str, split: str) -> None:
    """A missing run: its build's progress if one runs (started on its own on a first start), else a button that
    starts it in the background; the page and the other columns never wait for it."""
    job = builds.job(ds_name, split, spec)
    if job is None and builds.first_start():
        job = builds.start(ds_name, split, spec)
    if job is not None:
        return builds.show(job, lambda: builds.start(ds_name, split, spec), f"{ds_name}_{split}_{spec}")
    eta = data.build_estimate(ds_name, spec)
    st.info(
        f"No cached run of this system on {data.esc(ds_name)} ({data.esc(split)}) yet. Estimated build time: {text.format_seconds(eta)}."
    )
    st.button(
        "Build the run now",
        key=f"build_{spec}",
        icon=":material/play_arrow:",
        help="Builds in the background: the page stays usable and this column shows the progress",
        on_click=builds.start,
        args=(ds_name, split, spec),
    )


def _open_row(spec: str, doc) -> None:
    """A row's "Why here?" (or a card's Open): the document's dialog, with its ranks in every column, by spec."""
    if doc is not None:
        open_document(doc.docid, doc.badge.grade, {spec: f"#{doc.rank}", **{o.system: o.label for o in doc.others}})
