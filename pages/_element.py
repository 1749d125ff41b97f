"""What the page's own elements (``st.components.v2``, no iframe, no shadow root) share."""

from __future__ import annotations

import json

import streamlit as st


def component(name: str, js: str, style_id: str, css: str):
    """A light element whose script (``js``, an ES module) says ``__STYLE__;`` before it draws: that statement
    becomes one that adds ``css`` to the page once, as ``<style id=style_id>`` (the component's own ``css=`` is not
    applied without a shadow root)."""
    add = (
        f"if (!document.getElementById({json.dumps(style_id)})) {{ const style = document.createElement('style'); "
        f"style.id = {json.dumps(style_id)}; style.textContent = {json.dumps(css)}; document.head.appendChild(style); }}"
    )
    return st.components.v2.component(name, js=js.replace("__STYLE__;", add), isolate_styles=False)
