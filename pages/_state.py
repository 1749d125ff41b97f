"""The view state: dataset, split, query and systems in the URL and the session; the session's uploads."""

from __future__ import annotations

import random
from typing import Any

import streamlit as st

from retrieval.choices import Uploads

DEFAULT_DATASET = "scifact"
DEFAULT_SPLIT = "test"
MAX_SYSTEMS = 4
VIEW_KEYS = ("dataset", "split", "qid", "systems", "k", "view", "mode", "text")
K_OPTIONS = (5, 10, 20, 50, 100)
VIEWS = ("compact", "cards")
MODES = ("judged", "free")


def _url_get(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else None


def view() -> dict[str, Any]:
    """The current view: the URL first, then what this session last showed, then defaults."""
    kept = st.session_state.setdefault("_view", {})
    out = {
        "dataset": DEFAULT_DATASET,
        "split": DEFAULT_SPLIT,
        "qid": None,
        "systems": None,
        "k": 10,
        "view": "compact",
        "mode": "judged",
        "text": "",
    }
    out.update({k: v for k, v in kept.items() if v is not None})
    for key in VIEW_KEYS:
        value = _url_get(key)
        if value is not None:
            out[key] = [s for s in value.split(",") if s] if key == "systems" else value
    try:
        out["k"] = int(out["k"]) if int(out["k"]) in K_OPTIONS else 10
    except (TypeError, ValueError):
        out["k"] = 10
    out["view"] = out["view"] if out["view"] in VIEWS else "compact"
    out["mode"] = out["mode"] if out["mode"] in MODES else "judged"
    return out


def remember(**values: Any) -> None:
    """Store view values in the session and the URL (systems as a comma-separated list)."""
    kept = st.session_state.setdefault("_view", {})
    for key, value in values.items():
        kept[key] = value
        text = ",".join(value) if isinstance(value, (list, tuple)) else (None if value is None else str(value))
        if text in (None, ""):
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != text:
            st.query_params[key] = text


def bind(widget_key: str, value: Any) -> None:
    """Make the widget ``widget_key`` show ``value`` unless the user just changed it."""
    if st.session_state.get(widget_key) != value:
        st.session_state[widget_key] = value


def on_widget_change(widget_key: str, view_key: str) -> None:
    """Widget callback: the user's choice becomes the view (runs before the script reruns)."""
    remember(**{view_key: st.session_state.get(widget_key)})


def on_random(qids: list[str]) -> None:
    """The Random button's callback: a new query before the rerun (so one run, not two)."""
    remember(qid=random_qid(qids))


def on_pick(qid: str) -> None:
    remember(qid=qid)


def random_qid(qids: list[str]) -> str:
    rng = st.session_state.setdefault("_rng", random.Random())
    return rng.choice(qids)


def uploads() -> Uploads:
    """This session's uploaded runs (Run objects by key; see retrieval.choices)."""
    return st.session_state.setdefault("_uploads", Uploads())
