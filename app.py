"""Entry point: ``streamlit run app.py``. Builds the navigation; the pages live in ``pages/``.

Set ``BEIR_DATA_DIR`` to the folder holding the BEIR datasets (e.g. ``../shared/beir``) and
optionally ``RETRIEVAL_CACHE_DIR`` for indexes, embeddings and runs (default ``./cache``).
A page's URL is its ``url_path`` (``/failures?dataset=scifact`` opens Failure cases on SciFact).
"""

from __future__ import annotations

import streamlit as st

from pages import _nav

st.set_page_config(page_title="BEIR retrieval workbench", page_icon=":material/manage_search:", layout="wide")

PAGES = [
    st.Page("pages/compare.py", title="Compare", icon=":material/view_column:", url_path="compare", default=True),
    st.Page("pages/model_size.py", title="Model size", icon=":material/scatter_plot:", url_path="model_size"),
    st.Page("pages/failures.py", title="Failure cases", icon=":material/troubleshoot:", url_path="failures"),
    st.Page("pages/data_runs.py", title="Data & runs", icon=":material/database:", url_path="data_runs"),
]

_nav.run(PAGES)
