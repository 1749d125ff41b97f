"""Entry point: ``streamlit run app.py``. The navigation is in ``pages/_nav.py``; the pages live in ``pages/``.

Set ``BEIR_DATA_DIR`` to the folder holding the BEIR datasets (e.g. ``../shared/beir``) and
optionally ``RETRIEVAL_CACHE_DIR`` for indexes, embeddings and runs (default ``./cache``).
A page's URL is its ``url_path`` (``/failures?dataset=scifact`` opens Failure cases on SciFact).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages import _nav

FAVICON = Path(__file__).resolve().parent / ".streamlit" / "favicon.png"  # served locally, never fetched from the internet

st.set_page_config(page_title="BEIR retrieval workbench", page_icon=str(FAVICON), layout="wide")
_nav.run()
