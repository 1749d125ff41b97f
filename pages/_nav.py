"""The app's navigation, and how a page hands a run over to it (Streamlit's public API only).

``app.py`` runs :func:`run`: ``st.navigation`` over :func:`pages`, each ``st.Page`` with an explicit
``url_path`` (its URL: ``/failures?dataset=scifact``). Because ``pages/`` sits beside ``app.py``,
Streamlit serves a server's very first request in its legacy pages-folder mode: a bookmarked
``/failures?...`` then runs ``pages/failures.py`` alone, without app.py's navigation, page config or
sidebar. So every page starts with :func:`enter`: under :func:`run` it does nothing; otherwise it
declares the app's navigation (``st.navigation`` ends the pages-folder mode and picks the page the URL
names) and reruns (``st.rerun``, which keeps the URL and widget states), so app.py takes over on the same
page. A page file run on its own (AppTest on a page file) has no ``pages/`` beside it, so the
navigation cannot be declared and the page simply renders.
"""

from __future__ import annotations

import base64
import functools
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

# (file, title, icon, url_path); the first is the default page, at "/".
PAGES = (
    ("pages/compare.py", "Compare", ":material/view_column:", "compare"),
    ("pages/model_size.py", "Model size", ":material/scatter_plot:", "model_size"),
    ("pages/failures.py", "Failure cases", ":material/troubleshoot:", "failures"),
    ("pages/data_runs.py", "Data & runs", ":material/database:", "data_runs"),
)
_local = threading.local()  # one script run per thread
FAVICON = Path(__file__).resolve().parent.parent / ".streamlit" / "favicon.png"


@functools.cache
def favicon_url() -> str:
    """The app's icon as a ``data:`` URL, inside the page: nothing is fetched for it, from the internet or from the
    app's server. Served as a file (a media URL), Chromium fetched it again after every change of the URL, so
    on every Random click or picked query: one HTTP request to the server per click (issue 12). Read once per
    server, not on every run."""
    return "data:image/png;base64," + base64.b64encode(FAVICON.read_bytes()).decode("ascii")


def page_config() -> None:
    """The app's title, icon and layout. Set before the navigation is declared: without an icon of the app's own,
    the browser shows the page's Material icon, fetched from fonts.gstatic.com."""
    st.set_page_config(page_title="BEIR retrieval workbench", page_icon=favicon_url(), layout="wide")


def pages() -> list:
    """The app's pages as ``st.Page`` (paths relative to app.py's folder)."""
    return [st.Page(f, title=t, icon=i, url_path=u, default=n == 0) for n, (f, t, i, u) in enumerate(PAGES)]


def link(file: str, params: Mapping[str, str], last: str | None = None) -> str:
    """The URL of page ``file`` with ``params``, relative to the app's pages (``failures?dataset=scifact&...``; the
    default page's is ``./?...``, the URL Streamlit shows for it: another would be replaced by it in a history
    entry of its own, and Back would lead to the same page); with ``last``, it ends in ``&last=`` for a value to
    complete it."""
    path = next("./" if n == 0 else u for n, (f, _, _, u) in enumerate(PAGES) if f == file)
    query = urllib.parse.urlencode(
        {k: v for k, v in params.items() if v not in (None, "")}, safe=",", quote_via=urllib.parse.quote
    )
    return f"{path}?{query}" + (f"&{last}=" if last else "")


def compare_params(ds_name: str, split: str, systems: list[str]) -> dict[str, str]:
    """The URL parameters that open a judged query of ``ds_name`` in Compare with ``systems`` (the qid aside)."""
    return {"dataset": ds_name, "split": split, "systems": ",".join(systems), "mode": "judged"}


def compare_link(v: dict, ds_name: str, split: str, systems: list[str]) -> str:
    """Compare's URL for a query of a page's table, the query id last (``..&qid=``): :func:`compare_params` and the
    view's documents per column and layout (``v``: ``_state.view()``)."""
    params = {**compare_params(ds_name, split, systems), "k": str(v["k"]), "view": v["view"]}
    return link(PAGES[0][0], params, last="qid")


GOTO = "_goto_compare"  # the Compare view a click asked for, opened by the next run before anything is drawn


def goto_compare(params: dict[str, str]) -> None:
    """A callback's way to open Compare with ``params``: the run it starts switches before the page draws anything
    (picked through ``on_select="rerun"``, Failure cases' whole page was built and drawn again first: 0.6-0.7 s from
    a chart click to Compare's rankings in Chromium here)."""
    st.session_state[GOTO] = params


def switch_if_asked() -> None:
    """Open Compare if a callback asked for it (:func:`goto_compare`)."""
    params = st.session_state.pop(GOTO, None)
    if not params:
        return
    try:
        st.switch_page(PAGES[0][0], query_params=params)
    except st.errors.StreamlitAPIException:
        # Run outside the navigation (e.g. this page file alone): say where to go instead.
        st.info(f"Open Compare with query {params.get('qid', '')} (the URL now carries it).")


def quiet_repl_probe() -> None:
    """Skip Streamlit's check for a Python REPL (``inspect.stack()``, made with the first element a server sends, to
    print a hint to REPL users): it walks every loaded module, ~40 ms timed alone with 1,200 modules loaded and up to
    0.17 s of wall time sampled in a cold start's first run, while the server also serves the booting browser
    (issue 12). app.py runs under ``streamlit run`` only. A Streamlit without the flag is left as it is."""
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


_warmed = threading.Event()


def warm_up() -> None:
    """Once per server, in a background thread: import what the first page needs later in its run (SQLAlchemy and
    its SQLite dialect for the judgements store, ~0.3 s cold), while the page's own thread reads the dataset and
    the runs; the store itself opens (from the cache) in the run, then without the import."""
    if _warmed.is_set():
        return
    _warmed.set()

    def work() -> None:
        try:
            import sqlalchemy.dialects.sqlite  # noqa: F401
            import sqlalchemy.orm  # noqa: F401
        except Exception:  # noqa: BLE001 - a warm-up: the run imports (and reports) what it needs itself
            pass

    threading.Thread(target=work, daemon=True, name="warm-up").start()


def run() -> None:
    """app.py: run the page the URL names. The navigation goes to the browser before the pages' modules are
    imported (pandas among them, ~0.6 s at a cold start), so the browser draws the sidebar meanwhile."""
    page = st.navigation(pages())
    warm_up()
    from pages import _state as state

    _local.inside = True
    try:
        with state.url_batch():  # the view's URL parameters in one write at the end of the run
            page.run()
    finally:
        _local.inside = False


def enter() -> None:
    """First call of every page: hand the run to app.py's navigation if it is not in charge."""
    if getattr(_local, "inside", False):
        return
    try:
        page_config()  # this run is the page file's alone: app.py's configuration has not been set
        st.navigation(pages())
    except st.errors.StreamlitAPIException:  # no pages/ beside the main script: a page file on its own
        return
    st.rerun()
