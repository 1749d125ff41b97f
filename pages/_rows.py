"""A ready column of the compact view, drawn by a small script in the page rather than by Streamlit elements.

One light ``st.components.v2`` element per column (no iframe, no shadow root: the page's CSS applies and the
columns see each other's rows) whose data is the column as HTML from ``view.cards``: header, metric line,
missed documents and the reproduce command, and the rows apart (a list, put in the column's :data:`ROWS_SLOT`), every
piece of data escaped there (document text is text). The rows that fill the screen are drawn at once, the others
right after that frame.
It replaces about ten Streamlit elements per column (Markdown, captions, expanders, a code block, a
selectbox), each of which the browser re-rendered on every rerun, and ``st.html``, which ran DOMPurify over
every row on every rerun: a click now costs the browser one ``innerHTML`` per changed column, and a rerun that
sends the same column leaves it as it is. Rows and sections the user opened stay open while the view (dataset,
query, its text) stays. A row's "Full text" and "Why here?" buttons come back to Python as trigger values:
the full text is sent only for rows that ask for it, "Why here?" opens the document's dialog. "Copy" copies
the command in the browser.

The link between columns is drawn here too: while a row is hovered or has keyboard focus, every row of the
same document (they share ``cards.doc_class``) gets ``rk-hl``; while one is open, all get ``rk-on``. It used to
be one ``:has()`` CSS rule per document shown, sent on every rerun: with 100 documents per column the browser
spent about 30 ms more per click recalculating styles, and the rules changed (and were sanitised again) with
every query.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from pages import _element
from view import asset

COLUMN_JS = asset.read("rows.js")

# Where a column's rows go in its HTML. The script puts the rows that fill the screen there at once and the others
# after that frame is painted: at 100 documents per column, a page switch to Compare painted ~50 ms sooner with the
# rows cut to 30 (bench A/B, issue 12), and the rows below the screen are not seen in that frame anyway.
ROWS_SLOT = "<!--rk-rows-->"

_COLUMN = st.components.v2.component(
    "rk_column", js=COLUMN_JS.replace("__ROWS_SLOT__", json.dumps(ROWS_SLOT)), isolate_styles=False
)


def column_key(spec: str) -> str:
    return f"column_{spec}"


def view_id(ds_name: str, qid: str, query: str) -> str:
    """What opened rows and asked-for full texts belong to: the dataset, the query and its text (a typed query's
    qid is always "live")."""
    return "\x1f".join((ds_name, qid, query))


def show(
    spec: str,
    view: str,
    html: str,
    rows: list[str],
    on_why: Callable[[str], None],
    on_judge: Callable[[str, str, str | None], None] | None = None,
    on_base: Callable[[], None] | None = None,
) -> None:
    """Mount ``spec``'s column: ``html`` with ``rows`` (each a row's HTML) in place of its :data:`ROWS_SLOT`.
    A "Full text" click adds the document to its :func:`full_docs`, a "Why here?" click calls ``on_why(docid)``, a
    judgement (a grade button, a key on a focused row, a note's Enter) calls ``on_judge(docid, value, note)``, the
    header's "make baseline" calls ``on_base()`` (all before the rerun they cause)."""
    key = column_key(spec)
    _COLUMN(
        data={"html": html, "rows": rows, "view": view},
        key=key,
        on_full_change=lambda: _on_full(key, view, spec),
        on_why_change=lambda: _on_why(key, on_why),
        on_judge_change=lambda: _on_judge(key, on_judge),
        on_base_change=lambda: on_base() if on_base is not None else None,
    )


def full_docs(view: str, spec: str) -> set[str]:
    """Documents of ``spec``'s column whose full text the user asked for in this view (forgotten when it changes)."""
    kept = st.session_state.get("_full_docs")
    return set(kept[1].get(spec, ())) if kept and kept[0] == view else set()


def _on_full(key: str, view: str, spec: str) -> None:
    docid = _element.trigger_value(key, "full")
    if isinstance(docid, str):
        kept = st.session_state.get("_full_docs")
        columns = dict(kept[1]) if kept and kept[0] == view else {}
        columns[spec] = full_docs(view, spec) | {docid}
        st.session_state["_full_docs"] = (view, columns)


def _on_judge(key: str, on_judge: Callable[[str, str, str | None], None] | None) -> None:
    raw = _element.trigger_value(key, "judge")
    if on_judge is None or not isinstance(raw, str):
        return
    try:
        sent = json.loads(raw)
        docid, value, note = str(sent["docid"]), str(sent.get("value") or ""), sent.get("note")
    except (ValueError, KeyError, TypeError):
        return  # not what the page's script sends: nothing to save
    on_judge(docid, value, None if note is None else str(note)[:500])


def _on_why(key: str, on_why: Callable[[str], None]) -> None:
    docid = _element.trigger_value(key, "why")
    if isinstance(docid, str):
        on_why(docid)
