"""The view state: dataset, split, query and systems in the URL and the session; the session's uploads."""

from __future__ import annotations

import random
from typing import Any

import streamlit as st

from retrieval.choices import Uploads

DEFAULT_DATASET = "scifact"
DEFAULT_SPLIT = "test"
MAX_SYSTEMS = 4
VIEW_KEYS = ("dataset", "split", "qid", "systems")


def _url_get(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else None


def view() -> dict[str, Any]:
    """The current view: the URL first, then what this session last showed, then defaults."""
    kept = st.session_state.setdefault("_view", {})
    out = {"dataset": DEFAULT_DATASET, "split": DEFAULT_SPLIT, "qid": None, "systems": None}
    out.update({k: v for k, v in kept.items() if v is not None})
    for key in VIEW_KEYS:
        value = _url_get(key)
        if value is not None:
            out[key] = [s for s in value.split(",") if s] if key == "systems" else value
    return out


def remember(**values: Any) -> None:
    """Store view values in the session and the URL (systems as a comma-separated list)."""
    kept = st.session_state.setdefault("_view", {})
    for key, value in values.items():
        kept[key] = value
        text = ",".join(value) if isinstance(value, (list, tuple)) else value
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


def random_qid(qids: list[str]) -> str:
    rng = st.session_state.setdefault("_rng", random.Random())
    return rng.choice(qids)


def uploads() -> Uploads:
    """This session's uploaded runs (Run objects by key; see retrieval.choices)."""
    return st.session_state.setdefault("_uploads", Uploads())
