"""app.py's navigation, and how a page hands a run over to it (Streamlit's public API only).

Because ``pages/`` sits beside ``app.py``, Streamlit serves a server's very first request in its
legacy pages-folder mode: a bookmarked ``/failures?dataset=scifact`` then runs ``pages/failures.py``
alone, without ``app.py``'s navigation, page config or sidebar. Every page starts with :func:`enter`:
run by app.py's navigation it does nothing; run any other way it notes which page was asked for and
switches to ``app.py`` (``st.switch_page``, keeping the query parameters), whose navigation then
switches to that page by its ``url_path``. Run as a file on its own (AppTest on a page file) there
is no ``app.py`` page to switch to, and the page simply renders.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

APP = "app.py"
_GOTO = "_nav_goto"
_local = threading.local()  # script runs happen one per thread


def run(pages: list) -> None:
    """app.py: pick the page from the URL (or a page's hand-over) and run it."""
    page = st.navigation(pages)
    goto = st.session_state.pop(_GOTO, None)
    target = next((p for p in pages if p.url_path == goto), None) if goto else None
    if target is not None and target.url_path != page.url_path:
        st.switch_page(target, query_params=st.query_params.to_dict())
    _local.inside = True
    try:
        page.run()
    finally:
        _local.inside = False


def enter(page_file: str) -> None:
    """First call of every page: hand the run to app.py's navigation if it is not in charge."""
    if getattr(_local, "inside", False):
        return
    st.session_state[_GOTO] = Path(page_file).stem
    try:
        st.switch_page(APP, query_params=st.query_params.to_dict())
    except st.errors.StreamlitAPIException:  # no app.py page: this file runs on its own
        del st.session_state[_GOTO]
