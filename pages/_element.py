"""What the page's own elements (``st.components.v2``, no iframe, no shadow root) share."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import streamlit as st


def component(name: str, js: str, styles: Mapping[str, str]):
    """A light element whose script (``js``, an ES module) says ``__STYLE__;`` before it draws: that statement
    becomes one that adds each of ``styles`` (style id -> CSS) to the page once, as ``<style id=...>`` (the
    component's own ``css=`` is not applied without a shadow root; an id already in the page is not added again)."""
    add = " ".join(
        f"if (!document.getElementById({json.dumps(sid)})) {{ const style = document.createElement('style'); "
        f"style.id = {json.dumps(sid)}; style.textContent = {json.dumps(css)}; document.head.appendChild(style); }}"
        for sid, css in styles.items()
    )
    return st.components.v2.component(name, js=js.replace("__STYLE__;", add), isolate_styles=False)


def trigger_value(key: str, event: str):
    """What the element ``key`` sent with ``event`` (``setTriggerValue(event, value)`` in its script) for this run,
    read in its ``on_<event>_change`` callback; None when it sent nothing. Callers check the value's type."""
    return (st.session_state.get(key) or {}).get(event)


def signature(data: dict) -> str:
    """A short hash of an element's data: its script redraws only when this changes."""
    return hashlib.blake2s(json.dumps(data, sort_keys=True).encode("utf-8"), digest_size=8).hexdigest()
