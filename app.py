"""Entry point: ``streamlit run app.py``. Builds the navigation; the pages live in ``pages/``.

Set ``BEIR_DATA_DIR`` to the folder holding the BEIR datasets (e.g. ``../shared/beir``) and
optionally ``RETRIEVAL_CACHE_DIR`` for indexes, embeddings and runs (default ``./cache``).
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="BEIR retrieval workbench", page_icon=":material/manage_search:", layout="wide")

PAGES = [
    st.Page("pages/compare.py", title="Compare", icon=":material/view_column:", default=True),
    st.Page("pages/model_size.py", title="Model size", icon=":material/scatter_plot:"),
    st.Page("pages/failures.py", title="Failure cases", icon=":material/troubleshoot:"),
    st.Page("pages/data_runs.py", title="Data & runs", icon=":material/database:"),
]

st.navigation(PAGES).run()
