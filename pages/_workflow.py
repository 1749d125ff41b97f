"""Compare's tools for working through failures: judge the holes, keep a note, keep the query in a list, export.

Under the query's header: "Judge the holes" (the unjudged documents of the shown columns' top k, as rows judged
with one key each, with the split's progress), "Note" (this judge's note on the query, the others' beside it),
"Add to list" (a saved query list; lists open as queues, ``pages/_queue.py``) and "Export" (the view as HTML or
Markdown).
"""

from __future__ import annotations

import streamlit as st

from pages import _cached as data
from pages import _choice, _rows
from pages import _judging as judging
from view import cards, columns
from view.judging import RowJudging, column_attrs

HOLES = "holes-panel"  # the holes panel's rows element (pages/_rows.py), keyed like a column


def tools(b, systems: list[str]) -> None:
    """The row of tools and the panels they open (``b``: the board, ``pages._column.Board``)."""
    if b.live:
        return
    c2, c3, c4, c5 = st.columns([2, 1, 1.4, 1.2], vertical_alignment="center")
    open_holes = holes(b)
    shown = _choice.toggle(
        f"Judge the holes ({len(open_holes)} open)",
        "w_holes",
        "The unjudged documents of the shown columns' top k, one key each",
        c2,
    )
    noted = _choice.toggle("Note", "w_note", "Your note on this query (kept in the judgements database)", c3)
    listed = _choice.toggle("Add to list", "w_lists", "Keep this query in a saved list (lists open as queues)", c4)
    # A switch, not a popover: a popover's content (two download buttons) is built and sent on every rerun, closed.
    exporting = _choice.toggle("Export", "w_export", "This view with its notes and judgements, as a file", c5)
    if exporting:
        with st.container(horizontal=True):
            export_buttons(b, systems)
    if shown:
        holes_panel(b, open_holes)
    if noted:
        note_panel(b)
    if listed:
        list_panel(b)


def holes(b) -> list:
    """The query's unjudged documents in the shown columns' top k that nobody judged yet, most useful first
    (``retrieval.judgements.pooling``: more systems, higher ranks first), as ``pooling.Hole`` rows."""
    from retrieval.judgements.pooling import hole_rows

    tops = {s: lk.top(b.qid, b.k) for s, lk in b.lookups.items() if lk is not None}
    if not tops:
        return []
    official = data.dataset(b.ds_name).qrels(b.split)
    done = {d for d, items in b.items.items() if items}
    return [h for h in hole_rows(b.qid, tops, official, done, b.k) if not h.filled]


def holes_panel(b, open_holes: list) -> None:
    j = judging.judgements(b.ds_name, b.split)
    runs = {s: lk.run for s, lk in b.lookups.items() if lk is not None}
    with st.container(border=True):
        if j is not None and runs:
            st.caption(
                f"Unjudged documents of the shown columns' top {b.k}: documents more columns rank higher first. "
                f"Focus a row (Tab, or click its line) and press a grade ({', '.join(map(str, b.scale))}), u for can't tell, "
                f"x to clear, n for a note; the next row takes the focus. Split: {_progress(b, j, runs)}."
            )
        if not open_holes:
            st.success(f"Every document in the shown columns' top {b.k} is judged for query {data.esc(b.qid)}.")
            return
        names = {s: data.display_name(s) for s in b.lookups}
        corpus = data.dataset(b.ds_name).corpus
        rows = []
        for n, hole in enumerate(open_holes, start=1):
            others = tuple(columns.OtherRank(s, hole.ranks.get(s), b.k) for s in b.lookups if b.lookups[s] is not None)
            doc = columns.RankedDoc(n, hole.docid, hole.weight, columns.relevance_badge(None), others)
            rj = RowJudging(b.scale, None, (), b.off)
            rows.append(
                cards.compact_row_html(
                    doc, *cards.doc_fields(corpus, doc.docid), b.query, names, None, judging=rj, graded=b.graded
                )
            )
        attrs = column_attrs(b.scale, not b.off)
        html = cards.board_column_html(
            HOLES,
            f"{len(open_holes)} to judge",
            "score = usefulness (systems and ranks)",
            "",
            f'<div class="rk-col">{_rows.ROWS_SLOT}</div>',
            "",
            "",
            attrs=attrs,
        )
        _rows.show(
            HOLES,
            _rows.view_id(b.ds_name, b.qid, b.query),
            html,
            rows,
            lambda d: None,
            on_judge=lambda docid, value, note: judging.write(b.ds_name, b.split, b.qid, docid, value or "cant", note),
        )


def _progress(b, j, runs: dict) -> str:
    try:
        return str(_split_progress(b.ds_name, b.split, tuple(sorted(runs)), b.k, j.version()))
    except Exception as exc:  # noqa: BLE001 - the progress line is a courtesy: never take the panel down
        return f"progress unknown ({exc})"


@st.cache_data(max_entries=16, show_spinner=False)
def _split_progress(ds_name: str, split: str, specs: tuple, k: int, version: tuple):
    j = judging.judgements(ds_name, split)
    return j.progress({s: data.run_lookup(ds_name, split, s).run for s in specs}, k)


def note_panel(b) -> None:
    j = judging.judgements(b.ds_name, b.split)
    if j is None or b.off:
        st.caption(data.esc(b.off or judging.off_reason()))
        return
    me = judging.judge()
    notes = j.query_notes(b.qid)
    mine = next((n.text for n in notes if n.judge == me), "")
    with st.container(border=True):
        text = st.text_area("Your note on this query", mine, key=f"w_note_{b.ds_name}_{b.qid}", height=80)
        if st.button("Save note", key=f"w_note_save_{b.qid}", icon=":material/save:") and text != mine:
            try:
                j.set_query_note(b.qid, text or None, judge=me)
                st.toast("Note saved.")
            except Exception as exc:  # noqa: BLE001 - shown, nothing typed is lost (the box keeps it)
                st.error(f"The note was not saved: {data.esc(exc, joiners=False)}")
        for n in notes:
            if n.judge != me:
                st.caption(f"{data.esc(n.judge)}: {data.esc(n.text, joiners=False)}")


def list_panel(b) -> None:
    j = judging.judgements(b.ds_name, b.split)
    if j is None or b.off:
        st.caption(data.esc(b.off or judging.off_reason()))
        return
    with st.container(border=True):
        names = j.lists()
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.selectbox("List", [*names, "(a new list)"], key="w_list_pick")
        if name == "(a new list)":
            name = c1.text_input("Name of the new list", key="w_list_new").strip()
        if c2.button("Add this query", key="w_list_add", disabled=not name):
            try:
                if name in names:
                    j.append_to_list(name, [b.qid])
                else:
                    j.create_list(name, [b.qid], by=judging.judge())
                st.toast(f"Query {b.qid} is in the list {name}.")
            except Exception as exc:  # noqa: BLE001 - shown near the control
                st.error(data.esc(exc, joiners=False))


def export_buttons(b, systems: list[str]) -> None:
    """This query's view (every column's top k, official and users' labels, moves against the baseline, the
    notes) as self-contained HTML or as Markdown."""
    from view import export

    def build(kind: str) -> str:
        cols = _export_columns(b, systems)
        j = judging.judgements(b.ds_name, b.split)
        notes = [(n.judge, n.text) for n in j.query_notes(b.qid)] if j is not None else []
        maker = export.view_html if kind == "html" else export.view_markdown
        return maker(b.ds_name, b.split, b.qid, b.query, cols, notes)

    stem = f"{b.ds_name}-{b.split}-query-{b.qid}".replace("/", "_")
    st.download_button(
        "HTML", data=lambda: build("html"), file_name=f"{stem}.html", mime="text/html", on_click="ignore", key="w_x_html"
    )
    st.download_button(
        "Markdown", data=lambda: build("md"), file_name=f"{stem}.md", mime="text/markdown", on_click="ignore", key="w_x_md"
    )


def _export_columns(b, systems: list[str]) -> list:
    from view import export
    from view.judging import value_text

    corpus = data.dataset(b.ds_name).corpus
    out = []
    for spec in systems:
        lookup = b.lookups.get(spec)
        if lookup is None:
            continue
        others = {s: lk for s, lk in b.lookups.items() if s != spec and lk is not None}
        col = columns.query_column(lookup, b.qid, b.k, b.judged, others)
        official, chosen = b.metric_values(spec)
        metrics = " · ".join(f"{m} {v:.3f}" for m, v in official.items())
        if chosen:
            metrics += f" ({b.mode} qrels: " + " · ".join(f"{m} {v:.3f}" for m, v in chosen.items()) + ")"
        rows = []
        for doc in col.docs:
            move = ""
            for o in doc.others:
                if o.system == b.baseline and spec != b.baseline:
                    move = cards.move_label(doc.rank, o.rank)[0]
            users = "; ".join(
                f"{i.judge}: {value_text(i)}" + (f" ({i.note})" if i.note else "") for i in b.items.get(doc.docid, [])
            )
            title = cards.doc_fields(corpus, doc.docid)[0]
            rows.append(export.ExportRow(doc.rank, doc.docid, title, doc.score, doc.badge.label, users, move))
        out.append(export.ExportColumn(data.display_name(spec), spec, metrics, tuple(rows), spec == b.baseline))
    return out
