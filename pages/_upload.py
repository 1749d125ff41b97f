"""Uploading a TREC run: feedback in view, a size limit, a spinner while parsing, unknown ids reported, and keeping
the run as a named system's run (``retrieval.imports``) so that it stays.

``upload_form(ds_name, key)`` is the whole flow (Data & runs shows it; the Compare sidebar can call it
too). The run joins this session's uploads (``pages/_state.py``) and the view's systems; "Keep it as the run of"
imports it into the cache as that system's run on the dataset split (it fills the system's column and its rung
of the size ladder, and survives restarts), with its provenance. Every refusal (too big, a bad line) is said
next to the control and as a toast, and a new upload clears the last one's message.
"""

from __future__ import annotations

import math

import streamlit as st

from pages import _cached as data
from pages import _state as state
from retrieval.errors import DataFormatError
from view import choices

RESULT = "_upload_result"
BROWSER_LIMIT_MB = 200  # the uploader's own refusal (a tooltip); ours (choices.UPLOAD_MAX_MB) is said on the page
LAST = "_upload_last"  # (file name, bytes) of the last run read, for "keep it as the run of"


def upload_form(ds_name: str | None, key: str = "w_upload_d", *, rerun: bool = False) -> None:
    st.caption(
        f"Six columns: `qid Q0 docid rank score tag`, at most {choices.UPLOAD_MAX_MB} MB. Ranks in the file are ignored; "
        "ties are broken by docid, as trec_eval does."
    )
    # The browser's own limit is well above ours, so that the server sees a file that is too big and says so here
    # (the browser says it only in a tooltip); read() checks ours.
    up = st.file_uploader("TREC run", key=key, label_visibility="collapsed", max_upload_size=max(1, math.ceil(BROWSER_LIMIT_MB)))
    if up is None:
        st.session_state.pop(f"_last_{key}", None)
    elif st.session_state.get(f"_last_{key}") != (up.name, up.size):
        st.session_state[f"_last_{key}"] = (up.name, up.size)
        st.session_state[RESULT] = read(up.name, up.size, up.getvalue, ds_name)
        if st.session_state[RESULT][0] == "error":
            st.toast(st.session_state[RESULT][1], icon=":material/error:")
        if rerun and st.session_state[RESULT][0] == "success":
            state.rerun()  # with the new column in the URL; the message is kept in the session and shown after it
    kind, message, warning = st.session_state.get(RESULT) or (None, "", None)
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
        keep_form(ds_name, key)
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
        return "error", f"Could not read {data.esc(exc.location, joiners=False)}: {data.esc(exc.reason, joiners=False)}", None
    st.session_state[LAST] = (name, payload())
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


def keep_form(ds_name: str | None, key: str) -> None:
    """Keep the last uploaded run as a named system's run on a split of ``ds_name`` (stays after restarts)."""
    from pages import _judging as judging

    last = st.session_state.get(LAST)
    if not ds_name or last is None:
        return
    off = judging.read_only()
    with st.expander("Keep it as the run of a system (stays after restarts)", icon=":material/inventory_2:"):
        if off:
            return st.caption(data.esc(off, joiners=False))
        specs = [s for s in data.system_options(ds_name) if s not in state.uploads()]
        spec = st.selectbox("System", specs, format_func=lambda s: f"{data.display_name(s)} ({s})", key=f"{key}_as")
        split = st.selectbox("Split", data.dataset(ds_name).splits, key=f"{key}_split")
        note = st.text_input("Note (where and how it was computed)", key=f"{key}_note")
        replace = st.session_state.get(f"{key}_confirm") == (spec, split)
        if st.button("Replace the earlier import" if replace else "Keep", key=f"{key}_keep", type="primary"):
            keep(ds_name, split, spec, last, note, key, replace)
        said = st.session_state.get(f"{key}_kept")
        if said:
            getattr(st, said[0])(data.esc(said[1], joiners=False))


def keep(ds_name: str, split: str, spec: str, last: tuple[str, bytes], note: str, key: str, replace: bool) -> None:
    from pages import _judging as judging
    from retrieval.errors import RetrievalError
    from retrieval.imports import ImportConflict, import_run

    name, payload = last
    try:
        result = import_run(
            data.dataset(ds_name),
            split,
            spec,
            payload,
            name,
            who=judging.judge() or "",
            note=note,
            cache=data.cache(),
            replace=replace,
        )
    except ImportConflict as exc:
        st.session_state[f"{key}_confirm"] = (spec, split)
        st.session_state[f"{key}_kept"] = ("warning", f"{exc} Click again to replace it.")
        return
    except RetrievalError as exc:
        st.session_state[f"{key}_kept"] = ("error", str(exc))
        return
    st.session_state.pop(f"{key}_confirm", None)
    data.forget_runs()
    words = {"imported": "Kept", "unchanged": "Already kept (the same file): nothing changed", "replaced": "Replaced"}
    st.session_state[f"{key}_kept"] = (
        "success",
        f"{words[result.status]}: {data.display_name(spec)} on {ds_name} ({split}), {result.provenance.describe()}.",
    )
