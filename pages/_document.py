"""The document dialog: one document in full, highlighted, and as stored."""

from __future__ import annotations

import streamlit as st

from pages import _cached as data
from retrieval import cards, text

DIALOG_CHARS = 4000


@st.dialog("Document", width="large")
def show_document(ds_name: str, docid: str, query: str, grade: int | None, ranks: dict[str, str]) -> None:
    doc = data.dataset(ds_name).corpus.get(docid)
    if doc is None:
        st.error(f"Document {data.esc(docid)} is not in {data.esc(ds_name)}'s corpus.")
        return
    st.markdown(f"**{cards.highlighted_md(doc.title, query) or '(no title)'}**")
    st.markdown(f"{cards.grade_md(grade)}  · document {text.escape_markdown(docid)}")
    if ranks:
        st.caption(" · ".join(f"{text.escape_markdown(n)}: {r}" for n, r in ranks.items()))
    body = text.normalize_space(doc.text)
    show_all = len(body) <= DIALOG_CHARS or st.toggle(f"Show all {len(body):,} characters", key=f"all_{docid}")
    shown, cut = (body, False) if show_all else text.truncate(body, DIALOG_CHARS)
    st.markdown(cards.highlighted_md(shown, query))
    if cut:
        st.caption(f"Showing the first {len(shown):,} of {len(body):,} characters.")
    with st.expander("Plain text (as stored)"):
        st.text(doc.text)


def open_document(docid: str, grade: int | None, ranks: dict[str, str]) -> None:
    st.session_state["_open_doc"] = (docid, grade, ranks)
