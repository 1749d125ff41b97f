"""Judging in the app: the judgements store (``retrieval.judgements``), who judges, what is shown per query, writes.

The store is opened once per server (SQLite under the cache root, or ``RETRIEVAL_DB_URL``); when it cannot open
(PostgreSQL down, a corrupt file), the app browses on with the official qrels and judging says why it is off.
``RETRIEVAL_READONLY=1`` (a public demo) keeps judging, imports and builds off, and says so.

The judge's name is kept in the browser (``localStorage``, :func:`name_box`'s element, view/assets/judge_name.js)
and sent to the server once per session. A write names the judgement the page showed (``expected``): if someone changed it since,
nothing is overwritten, the refused write stays in the history, and the page says who set what, with a button to
save one's own value anyway.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import streamlit as st

from pages import _cached as data
from pages import _element
from retrieval.errors import RetrievalError
from view import asset

NAME = "_judge"  # session key of the judge's name
SAID = "_judging_said"  # a message about the last write (shown once, near the rankings)
SHOWN = "_judgements_shown"  # (dataset, split, qid) -> {docid: Judgement of this judge} as last drawn
DRAFTS = "_judgement_drafts"  # (dataset, split, qid, docid) -> a note that could not be saved, shown again


# ---- the store ----------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _store(root: str, url: str, readonly: str) -> tuple[Any, str]:
    from retrieval.judgements import StoreUnavailable, open_store

    try:
        return open_store(), ""
    except StoreUnavailable as exc:
        return None, str(exc)


def store() -> tuple[Any, str]:
    """``(store or None, why not)``."""
    return _store(data.cache_root(), os.environ.get("RETRIEVAL_DB_URL", ""), os.environ.get("RETRIEVAL_READONLY", ""))


def read_only() -> str:
    """Why this server changes nothing ("" when it may): ``RETRIEVAL_READONLY=1`` (a public demo): judging,
    imports and builds are off; browsing works."""
    from retrieval.judgements.db import read_only_from_env

    return "This server is read-only (RETRIEVAL_READONLY=1): judging, imports and builds are off." if read_only_from_env() else ""


def off_reason() -> str:
    """Why judging is off here ("" when it is on)."""
    opened, why = store()
    if opened is None:
        return f"Judging is off: {why}"
    if opened.read_only:
        return f"Judging is off (read-only): {opened.read_only_reason}"
    return ""


@st.cache_resource(max_entries=8, show_spinner=False)
def _judgements(ds_name: str, data_dir_text: str, root: str, split: str, _store_obj: Any, where: str) -> Any:
    return _store_obj.dataset(data.dataset(ds_name), split)


def judgements(ds_name: str, split: str) -> Any:
    """The store seen from one dataset and split (``DatasetJudgements``), or None when there is no store."""
    opened, _ = store()
    if opened is None:
        return None
    return _judgements(ds_name, str(data.data_dir() or ""), data.cache_root(), split, opened, opened.where)


def scale(ds_name: str, split: str) -> tuple[int, ...]:
    """The dataset's grade scale (the grades its qrels use, from 0)."""
    return _scale(ds_name, str(data.data_dir() or ""), data.cache_root(), split)


@functools.lru_cache(maxsize=32)
def _scale(ds_name: str, data_dir_text: str, root: str, split: str) -> tuple[int, ...]:
    from retrieval.judgements import grade_scale

    return grade_scale(data.dataset(ds_name).qrels(split))


# ---- who judges --------------------------------------------------------------------------------
_NAME_ELEMENT = _element.component("rk_judge_name", asset.read("judge_name.js"), {"rk-jn-style": asset.read("judge_name.css")})


def name_box(where) -> None:
    """Who judges, in ``where`` (the sidebar): the name this browser keeps, sent once per session, or a box to give
    it; and why judging is off, when it is."""
    why = off_reason()
    with where:
        if why:
            st.caption(data.esc(why, joiners=False))
            return
        _NAME_ELEMENT(data={"name": judge() or ""}, key="judge_name", on_name_change=_on_name)


def _on_name() -> None:
    name = _element.trigger_value("judge_name", "name")
    if isinstance(name, str):
        set_judge(name)


def judge() -> str | None:
    return st.session_state.get(NAME) or None


def set_judge(name: str | None) -> None:
    st.session_state[NAME] = (name or "").strip()[:100] or None


# ---- one query's judgements ----------------------------------------------------------------------
def for_query(ds_name: str, split: str, qid: str) -> dict[str, list]:
    """``{docid: [Judgement, ...]}`` of every judge for one query (one indexed read); ``{}`` without a store."""
    j = judgements(ds_name, split)
    if j is None or qid not in j.qids:
        return {}
    out: dict[str, list] = {}
    try:
        for item in j.for_query(qid):
            out.setdefault(item.docid, []).append(item)
    except RetrievalError:
        return {}
    st.session_state[SHOWN] = ((ds_name, split, qid), {d: _mine(items) for d, items in out.items()})
    return out


def _mine(items: list) -> Any:
    me = judge()
    return next((i for i in items if i.judge == me), None)


def _seen(ds_name: str, split: str, qid: str, docid: str) -> Any:
    """The judgement of this judge the page last showed for (qid, docid): ``None`` when it showed none."""
    kept = st.session_state.get(SHOWN)
    if not kept or kept[0] != (ds_name, split, qid):
        return None
    return kept[1].get(docid)


# ---- writes -----------------------------------------------------------------------------------
def write(ds_name: str, split: str, qid: str, docid: str, value: Any, note: str | None = None, *, force: Any = None) -> None:
    """Save this judge's ``value`` (a grade, "cant" or "clear") for (qid, docid); what happened is kept in
    :data:`SAID` for the page to show. ``force``: the judgement a conflict reported, to overwrite it on purpose."""
    from retrieval.judgements import CANT_TELL, Conflict

    who = judge()
    place = (ds_name, split, qid, docid)
    if note:  # kept until it is saved: a refused or failed write loses nothing typed
        st.session_state.setdefault(DRAFTS, {})[place] = note
    if not who:
        st.session_state[SAID] = ("warning", "Give your name (in the sidebar) to judge: judgements record who made them.")
        return
    why = off_reason()
    j = judgements(ds_name, split)
    if why or j is None:
        st.session_state[SAID] = ("warning", why or "Judging is off here.")
        return
    expected = force if force is not None else _seen(ds_name, split, qid, docid)
    source = f"app:{_session_id()}"
    try:
        if value == "clear":
            j.clear(qid, docid, judge=who, expected=expected, source=source)
        else:
            grade = CANT_TELL if value == "cant" else int(value)
            j.set(qid, docid, grade, judge=who, note=note or None, expected=expected, source=source)
        st.session_state.pop(SAID, None)
        st.session_state.get(DRAFTS, {}).pop(place, None)
    except Conflict as exc:
        st.session_state[SAID] = ("conflict", str(exc), (ds_name, split, qid, docid, value, note, exc.current))
    except RetrievalError as exc:
        st.session_state[SAID] = ("error", str(exc))


def draft(ds_name: str, split: str, qid: str, docid: str) -> str | None:
    """A note typed for (qid, docid) that has not been saved yet (the write failed or was refused)."""
    return st.session_state.get(DRAFTS, {}).get((ds_name, split, qid, docid))


def _session_id() -> str:
    ctx = st.runtime.scriptrunner.get_script_run_ctx()
    return ctx.session_id[:8] if ctx is not None else "-"


def said() -> None:
    """The last write's message, once, where the page calls it (a conflict offers to save one's value anyway)."""
    kept = st.session_state.pop(SAID, None)
    if not kept:
        return
    kind, text = kept[0], kept[1]
    if kind == "conflict":
        ds_name, split, qid, docid, value, note, current = kept[2]
        st.warning(f"{data.esc(text, joiners=False)}", icon=":material/sync_problem:")
        st.button(
            "Save mine anyway",
            key=f"force_{qid}_{docid}",
            on_click=write,
            args=(ds_name, split, qid, docid, value, note),
            kwargs={"force": current},
        )
    elif kind == "error":
        st.error(data.esc(text, joiners=False), icon=":material/error:")
    else:
        st.warning(data.esc(text, joiners=False))


# ---- metrics with the users' judgements --------------------------------------------------------------
def query_metrics(ds_name: str, split: str, spec: str, qid: str, items: dict[str, list], mode: str) -> dict[str, float] | None:
    """One query's measures (``data.MEASURES``) for ``spec``'s run with the ``mode`` qrels (merged: official +
    every judge's grades, official wins on conflict; mine: the judges' grades alone), from ir_measures on that
    query's qrels; None for the official qrels (the cached evaluation has them) or a run not built."""
    if mode == "official":
        return None
    lookup = data.run_lookup(ds_name, split, spec)
    if lookup is None:
        return None
    token = tuple(sorted((i.docid, i.judge, i.grade, i.cant_tell, i.stale) for docs in items.values() for i in docs))
    return _query_metrics(ds_name, split, spec, qid, mode, token, id(lookup))


@functools.lru_cache(maxsize=512)
def _query_metrics(ds_name: str, split: str, spec: str, qid: str, mode: str, token: tuple, _lookup_id: int) -> dict[str, float]:
    import pandas as pd

    from retrieval.beir import Qrels
    from retrieval.evaluate import evaluate
    from retrieval.judgements.qrels import choose_from_columns
    from retrieval.run import Run

    official = data.dataset(ds_name).qrels(split).for_query(qid)
    one = Qrels.from_frame(
        pd.DataFrame({"qid": [qid] * len(official), "docid": list(official), "relevance": list(official.values())}), split
    )
    user = {
        "qid": [qid] * len(token),
        "docid": [t[0] for t in token],
        "judge": [t[1] for t in token],
        "grade": [t[2] for t in token],
        "cant_tell": [t[3] for t in token],
        "stale": [t[4] for t in token],
    }
    chosen = choose_from_columns(one, user, mode)
    if qid not in chosen.qrels.by_query:  # "mine" with no judgement of this query: not evaluated
        return {}
    rows = data.run_lookup(ds_name, split, spec).top(qid, 1000)
    frame = pd.DataFrame(
        {"qid": [qid] * len(rows), "docid": [r[0] for r in rows], "rank": [r[1] for r in rows], "score": [r[2] for r in rows]}
    )
    return evaluate(Run(frame, spec), chosen.qrels, data.MEASURES).query(qid)


def version(ds_name: str, split: str, mode: str) -> tuple:
    """What identifies the users' judgements of a split as metrics use them (changes with every write): ``()``
    for the official qrels."""
    j = judgements(ds_name, split)
    if mode == "official" or j is None:
        return ()
    return j.version()


def evaluation(ds_name: str, split: str, spec: str, mode: str):
    """``spec``'s evaluation over the split with the ``mode`` qrels (official: the cached one)."""
    if mode == "official" or judgements(ds_name, split) is None:
        return data.evaluation(ds_name, split, spec)
    lookup = data.run_lookup(ds_name, split, spec)
    if lookup is None:
        return None
    return _evaluation(ds_name, split, spec, mode, version(ds_name, split, mode), id(lookup))


@st.cache_resource(max_entries=32, show_spinner="Evaluating with the judgements made here…")
def _evaluation(ds_name: str, split: str, spec: str, mode: str, token: tuple, _lookup_id: int):
    from retrieval.evaluate import evaluate

    chosen = judgements(ds_name, split).qrels(mode)
    return evaluate(data.run_lookup(ds_name, split, spec).run, chosen.qrels)
