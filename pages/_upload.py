"""Uploading a TREC run: feedback in view, a size limit, a spinner while parsing, unknown ids reported.

``upload_form(ds_name, key)`` is the whole flow (Data & runs shows it; the Compare sidebar can call it
too). The run joins this session's uploads (``pages/_state.py``) and the view's systems.
"""

from __future__ import annotations

import math

import streamlit as st

from pages import _cached as data
from pages import _state as state
from retrieval.errors import DataFormatError
from view import choices

RESULT = "_upload_result"


def upload_form(ds_name: str | None, key: str = "w_upload_d", *, rerun: bool = False) -> None:
    st.caption(
        f"Six columns: `qid Q0 docid rank score tag`, at most {choices.UPLOAD_MAX_MB} MB. Ranks in the file are ignored; "
        "ties are broken by docid, as trec_eval does."
    )
    # the browser refuses bigger files up front; read() checks again (the limit may change between reruns)
    up = st.file_uploader(
        "TREC run", key=key, label_visibility="collapsed", max_upload_size=max(1, math.ceil(choices.UPLOAD_MAX_MB))
    )
    if up is not None and st.session_state.get(f"_last_{key}") != (up.name, up.size):
        st.session_state[f"_last_{key}"] = (up.name, up.size)
        st.session_state[RESULT] = read(up.name, up.size, up.getvalue, ds_name)
        if rerun and st.session_state[RESULT][0] == "success":
            state.rerun()  # with the new column in the URL; the message is kept in the session and shown after it
    kind, message, warning = st.session_state.get(RESULT) or (None, "", None)
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
    if warning:
        st.warning(warning, icon=":material/help:")


def read(name: str, size: int, payload, ds_name: str | None) -> tuple[str, str, str | None]:
    """``(kind, message, warning)`` for an uploaded file; adds the run to the session on success."""
    too_big = choices.upload_too_large(name, size)
    if too_big:
        return "error", data.esc(too_big, joiners=False), None
    try:
        with st.spinner(f"Reading {data.esc(name, joiners=False)} ({size / 1024 / 1024:.1f} MB)…", show_time=True):
            run = choices.read_upload(name, payload())
            report = choices.unknown_ids(run, *(_ids(ds_name)))
    except DataFormatError as exc:
        where = f"{exc.path}, line {exc.line}" if exc.line else exc.path
        return "error", f"Could not read {data.esc(where, joiners=False)}: {data.esc(exc.reason, joiners=False)}", None
    key = state.uploads().add(run)
    current = state.view()["systems"] or []
    if key not in current and len(current) < state.MAX_SYSTEMS:
        state.remember(systems=[*current, key])
    warning = choices.unknown_ids_message(report, ds_name) if ds_name else None
    return (
        "success",
        f"Added {data.esc(run.name)}: {len(run.qids):,} queries, {len(run):,} results. It is in the systems list of Compare and Failure cases.",
        data.esc(warning, joiners=False) if warning else None,
    )


def _ids(ds_name: str | None):
    if not ds_name:
        return {}, {}
    ds = data.dataset(ds_name)
    return ds.queries, ds.corpus
