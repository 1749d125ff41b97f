"""Compare's query picker: a search box over the split's queries (by id or text), drawn by a small script in the page.

It replaces ``st.selectbox``, which cost the browser about 45 ms of CPU on every rerun of the rankings (Random, a
system added or removed; measured with and without it) and sent every option again each time: 29 KB for
SciFact's 300 test queries, about 1 MB for a split of 10,000.

Two ``st.components.v2`` elements, no iframe:
- ``rk_query_options`` holds the options (``[[qid, text], ...]``) and draws nothing. Its data is the same on every
  rerun of a split, so Streamlit's message cache sends it once and afterwards only a reference to it.
- ``rk_query`` is the box: it shows the current query, and typing filters the options (every word must appear in
  the id or the text; an exact id, then ids that start with what was typed, come first), 100 at a time. Arrow
  keys move, Enter or a click picks, Escape gives the box back its query. It is an ARIA combobox with a listbox.

A pick comes back to Python as a trigger value; text is set with ``textContent``, never as HTML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from pages import _element
from view import asset

LABEL_CHARS = 140  # of a query's text in the list and the box

OPTIONS_JS = asset.read("query_options.js")

STYLE_ID = "rk-q-style"
PICKER_CSS = asset.read("query_picker.css")

# The active option of a listbox (this picker's and the systems picker's, pages/_systems.py): aria-selected, in view,
# and the box's aria-activedescendant; ``st`` holds the box (``input``), the list (``ul``) and ``active``.
LISTBOX_JS = asset.read("listbox.js")

PICKER_JS = LISTBOX_JS + asset.read("query_picker.js")


_OPTIONS = st.components.v2.component("rk_query_options", js=OPTIONS_JS, isolate_styles=False)
_PICKER = _element.component("rk_query", PICKER_JS, {STYLE_ID: PICKER_CSS})

KEY = "query_picker"
OPTIONS_KEY = "query_options"
HIDDEN_CSS = f".st-key-{OPTIONS_KEY}{{display:none}}"  # the options element draws nothing: no gap for it either


def options_data(options: Sequence[str], queries: Mapping[str, str]) -> dict:
    """The options element's data: ``[[qid, text], ...]`` and an id that changes when they do."""
    pairs = [[q, _text(q, queries)] for q in options]
    digest = hashlib.blake2s("\x1f".join(f"{q}\x1e{t}" for q, t in pairs).encode("utf-8"), digest_size=8).hexdigest()
    return {"id": digest, "options": pairs}


def label(qid: str, queries: Mapping[str, str]) -> str:
    """What the box shows for ``qid`` (the list's items read the same, joined in the page)."""
    return f"{qid} · {_text(qid, queries)}"


def _text(qid: str, queries: Mapping[str, str]) -> str:
    return " ".join(queries.get(qid, "").split())[:LABEL_CHARS]


def picker(title: str, options: Sequence[str], queries: Mapping[str, str], current: str, on_pick: Callable[[str], None]) -> None:
    """Mount the picker showing ``current``; a pick calls ``on_pick(qid)`` before the rerun it causes."""
    opts = _options(tuple(options), queries)
    _OPTIONS(data=opts, key=OPTIONS_KEY)
    _PICKER(
        data={"id": opts["id"], "qid": current, "label": label(current, queries), "title": title},
        key=KEY,
        on_pick_change=lambda: _on_pick(on_pick),
    )


def _options(options: tuple[str, ...], queries: Mapping[str, str]) -> dict:
    """:func:`options_data`, kept while the split's options stay the same (a rerun changes only the query)."""
    kept = st.session_state.get("_query_options")
    if kept is None or kept[0] != options or kept[1] is not queries:
        kept = (options, queries, options_data(options, queries))
        st.session_state["_query_options"] = kept
    return kept[2]


def _on_pick(on_pick: Callable[[str], None]) -> None:
    value = _element.trigger_value(KEY, "pick")
    if isinstance(value, str):
        on_pick(value)


HEADER_STYLE_ID = "rk-qh-style"
HEADER_CSS = asset.read("query_header.css")
HEADER_JS = asset.read("query_header.js")
_HEADER = _element.component("rk_qhead", HEADER_JS, {HEADER_STYLE_ID: HEADER_CSS})
HEADER_KEY = "query_header"


def header(where, label: str, text: str, caption: str) -> None:
    """The line above the columns: ``label`` in bold, the query's ``text``, and a caption under it, as text.

    One page element instead of a Markdown element and a caption, which the browser parsed and drew again on every
    Random click: Chromium used 251 -> 233 ms of CPU per Random click with it (24 clicks each, interleaved; issue
    12)."""
    with where:
        _HEADER(data={"label": label, "text": text, "caption": caption}, key=HEADER_KEY)
