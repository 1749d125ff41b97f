"""Entry point: ``streamlit run app.py``. The navigation is in ``pages/_nav.py``; the pages live in ``pages/``.

Set ``BEIR_DATA_DIR`` to the folder holding the BEIR datasets (e.g. ``../shared/beir``) and
optionally ``RETRIEVAL_CACHE_DIR`` for indexes, embeddings and runs (default ``./cache``).
A page's URL is its ``url_path`` (``/failures?dataset=scifact`` opens Failure cases on SciFact).
"""

from __future__ import annotations

import streamlit as st

from pages import _nav

if _nav.in_session_run():  # a session's run of this file
    _nav.quiet_repl_probe()
    # The browser loads the code of st.html (which carries the page's CSS) only when the first one arrives, and then
    # needs a while on a busy 2-core machine to fetch and compile it. An empty style block (invisible: it goes to
    # Streamlit's event container) asks for that code first thing, so the browser prepares it while the page imports
    # pandas and reads the runs (issue 12, cold start). The navigation, too, is sent before that import: _nav.run.
    st.html("<style></style>")
    _nav.page_config()
    _nav.run()
else:
    # `streamlit run app.py` imports this file first, to look for an app: it finds this one (st.App), which serves
    # this same file to every session and, at the server's start, makes the first page's imports and cached data
    # ready while the browser loads Streamlit's own scripts (_nav.lifespan), which are sent in one piece each
    # (pages/_static.py: the warm-up holds the GIL then, and Streamlit's static files wait on it once per 64 KiB).
    _nav.quick_component_scan()  # before the runtime is made, on the server's first call
    from starlette.middleware import Middleware

    from pages._static import StaticAssets

    app = st.App(__file__, lifespan=_nav.lifespan, middleware=[Middleware(StaticAssets)])
