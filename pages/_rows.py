"""The compact view's rows of one column, drawn by a small script in the page rather than by ``st.html``.

A light ``st.components.v2`` element (no iframe, the page's CSS applies, so the hover link of
``cards.link_css`` works): its data is the column's rows as HTML, escaped by ``retrieval.cards`` (document
text is text), and the element sets it as the column's content. Two things make it cheaper in a browser than
``st.html``: the HTML is not sanitised again on every rerun (``st.html`` ran DOMPurify over every row), and a
rerun that sends the same rows leaves the column as it is. Rows the user opened stay open while the query
stays. A row's "Full text" and "Why here?" buttons come back to Python as trigger values: the full text is
sent only for rows that ask for it, "Why here?" opens the document's dialog.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

ROWS_JS = """
export default function ({ data, parentElement: root, setTriggerValue }) {
  root.__trigger = setTriggerValue;  // the latest mount's, used by the one listener below
  if (root.__html !== data.html) {
    const open = root.__view === data.view
      ? new Set(Array.from(root.querySelectorAll("details.rk-row[open]"), d => d.dataset.docid)) : new Set();
    root.innerHTML = data.html;
    root.__html = data.html;
    root.__view = data.view;
    for (const d of root.querySelectorAll("details.rk-row")) if (open.has(d.dataset.docid)) d.open = true;
  }
  if (!root.__wired) {
    root.__wired = true;
    root.addEventListener("click", e => {
      const b = e.target.closest("button.rk-act");
      if (b) { e.preventDefault(); root.__trigger(b.dataset.act, b.dataset.docid); }
    });
  }
}
"""

_ROWS = st.components.v2.component("rk_rows", js=ROWS_JS, isolate_styles=False)
ACTS = ("full", "why")


def rows_key(spec: str) -> str:
    return f"rows_{spec}"


def view_id(ds_name: str, qid: str, query: str) -> str:
    """What opened rows and asked-for full texts belong to: the dataset, the query and its text (a typed query's
    qid is always "live")."""
    return "\x1f".join((ds_name, qid, query))


def show(spec: str, view: str, html: str, on_why: Callable[[str], None]) -> None:
    """Mount the rows of ``spec``'s column; a "Full text" click adds the document to its :func:`full_docs`,
    a "Why here?" click calls ``on_why(docid)`` (both before the rerun they cause)."""
    key = rows_key(spec)
    _ROWS(
        data={"html": html, "view": view},
        key=key,
        on_full_change=lambda: _on_full(key, view, spec),
        on_why_change=lambda: _on_why(key, on_why),
    )


def full_docs(view: str, spec: str) -> set[str]:
    """Documents of ``spec``'s column whose full text the user asked for in this view (forgotten when it changes)."""
    kept = st.session_state.get("_full_docs")
    return set(kept[1].get(spec, ())) if kept and kept[0] == view else set()


def _picked(key: str, act: str) -> str | None:
    value = (st.session_state.get(key) or {}).get(act)
    return value if isinstance(value, str) else None


def _on_full(key: str, view: str, spec: str) -> None:
    docid = _picked(key, "full")
    if docid is not None:
        kept = st.session_state.get("_full_docs")
        columns = dict(kept[1]) if kept and kept[0] == view else {}
        columns[spec] = full_docs(view, spec) | {docid}
        st.session_state["_full_docs"] = (view, columns)


def _on_why(key: str, on_why: Callable[[str], None]) -> None:
    docid = _picked(key, "why")
    if docid is not None:
        on_why(docid)
