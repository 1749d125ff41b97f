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

``streamlit run app.py`` finds app.py's ``st.App``, whose :func:`lifespan` starts :func:`warm_first_page` with the
server: the first page's imports and cached data are ready by the time the browser, done loading Streamlit's own
scripts, asks for its first run.
"""

from __future__ import annotations

import base64
import contextlib
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


def quick_component_scan() -> None:
    """Make Streamlit's scan of the installed packages for custom components (run once per server, when its
    runtime is made, before the server answers anything) read each package's metadata once, as text.

    Streamlit keeps a package as a candidate when its name, summary or a requirement mentions "streamlit", or its
    name starts with ``st-``/``st_``, and asks ``dist.metadata`` for each, which reads and parses the whole file
    every time: about 900 parses for the 228 packages this app installs, 0.22 s of a 2.4 s cold start here, every
    one of them holding the GIL that serves the browser its scripts, and finding no component (this app's are
    declared in its code). A package whose metadata text never says "streamlit" and whose name does not start
    with ``st-``/``st_`` cannot pass any of those tests, so only the others go on to Streamlit's own check: the
    candidates, and so the components found, are the same. A Streamlit without that function is left as it is.
    Called where ``streamlit run`` imports app.py, and by the tests (each AppTest makes a runtime)."""
    import re

    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:
        return
    check = getattr(manifest_scanner, "_is_likely_streamlit_component_package", None)
    if check is None or getattr(check, "_quick", False):
        return
    name_line = re.compile(r"^Name:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)

    def quick(dist) -> bool:
        try:
            text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
        except Exception:  # noqa: BLE001 - unreadable here: Streamlit's own check decides
            text = None
        if text is not None:
            lowered = text.lower()
            named = name_line.search(text)
            if "streamlit" not in lowered and not (named and named.group(1).lower().startswith(("st-", "st_"))):
                return False
        return check(dist)

    quick._quick, quick.__wrapped__ = True, check
    manifest_scanner._is_likely_streamlit_component_package = quick


_warm = threading.Lock()
_warm_started = False
_warm_done = threading.Event()


@contextlib.asynccontextmanager
async def lifespan(_app):
    """The server's start (app.py's st.App): :func:`start_warm_up`, while the browser loads Streamlit's own scripts
    (about a second here before its first script run asks for anything)."""
    start_warm_up()
    yield


def start_warm_up() -> None:
    """Once per server: :func:`warm_first_page` in a background thread."""
    global _warm_started
    with _warm:
        if _warm_started:
            return
        _warm_started = True
    threading.Thread(target=warm_first_page, daemon=True, name="warm-up").start()


def warm_first_page() -> None:
    """What the first page's run needs, made ready before it asks: the pages' modules (pandas, pyarrow and
    SQLAlchemy among their imports, ~0.7 s cold), the judgements store, and the default dataset with its default
    systems' cached runs and metrics (what Compare opens on). Nothing is built: a run that is not cached is left to
    the page. A failure is the page's to meet and report again, not this thread's."""
    import logging

    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "missing ScriptRunContext", once for each cached call of this thread
    try:
        from pages import _builds, _column, _query, _queue, _sidebar, _workflow  # noqa: F401
        from pages import _cached as data
        from pages import _judging as judging
        from pages._state import DEFAULT_DATASET, DEFAULT_SPLIT

        judging.store()
        if DEFAULT_DATASET in data.local_datasets():
            data.dataset(DEFAULT_DATASET).qrels(DEFAULT_SPLIT)
            for spec in data.default_systems(DEFAULT_DATASET, DEFAULT_SPLIT):
                if data.has_run(DEFAULT_DATASET, DEFAULT_SPLIT, spec):
                    data.run_lookup(DEFAULT_DATASET, DEFAULT_SPLIT, spec)
                    data.evaluation(DEFAULT_DATASET, DEFAULT_SPLIT, spec)
    except Exception:  # noqa: BLE001 - a warm-up: the page does all of it again (from the caches) and reports
        pass
    finally:
        quiet.setLevel(level)
        _warm_done.set()


def run() -> None:
    """app.py: run the page the URL names. The navigation goes to the browser first, so it draws the sidebar while
    the page waits for the warm-up (started with the server; under AppTest, now): two threads importing one
    package at once can see it half made ("module 'sqlalchemy' has no attribute 'dialects'"), and the warm-up's
    work is the page's own, from the caches it fills."""
    page = st.navigation(pages())
    start_warm_up()
    _warm_done.wait()
    from pages import _state as state

    _local.inside = True
    try:
        with state.url_batch():  # the view's URL parameters in one write at the end of the run
            page.run()
    finally:
        _local.inside = False


def in_session_run() -> bool:
    """Whether app.py runs as a session's script, not imported by ``streamlit run`` looking for its app."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


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
