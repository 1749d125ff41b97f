"""The view state: dataset, split, query and systems in the URL and the session; the session's uploads."""

from __future__ import annotations

import contextlib
import functools
import random
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import streamlit as st

from view.choices import Uploads

DEFAULT_DATASET = "scifact"
DEFAULT_SPLIT = "test"
MAX_SYSTEMS = 4  # what the systems picker lets one choose
MAX_COLUMNS = 5  # what a view may show: a size ladder of four rerankers and their first stage
VIEW_KEYS = ("dataset", "split", "qid", "systems", "k", "view", "mode", "text", "qrels", "baseline", "queue")
K_OPTIONS = (5, 10, 20, 50, 100)
VIEWS = ("compact", "cards")
MODES = ("judged", "free")
QRELS = ("official", "merged", "mine")  # which judgements metrics use (retrieval.judgements.qrels)


def _url_get(name: str) -> str | None:
    """The URL's value of ``name``, as it will be once this run's remembered values are written."""
    pending = getattr(_batch, "pending", None)
    value = pending[name] if pending is not None and name in pending else st.query_params.get(name)
    return value if value not in (None, "") else None


# Options of a system spec that name a place on this machine: never taken from a URL (nor from the session's
# copy of one), so that no visitor can make the server look at a path (issue 29); a model folder comes from the
# command line, the environment or Data & runs' folder setting only.
_PATH_OPTION = re.compile(r"(?<=[?&])model_path=[^&)|]*(&|(?=[)|])|$)")


def without_paths(spec: str) -> str:
    """``spec`` without any ``model_path=`` option (in a fusion's inputs too), and without a ``?`` left empty.

    Example:
        >>> without_paths("dense:all-MiniLM-L6-v2?model_path=/root&index=faiss")
        'dense:all-MiniLM-L6-v2?index=faiss'
    """
    out = _PATH_OPTION.sub("", spec)
    return re.sub(r"[?&]+(?=[)|]|$)", "", out)


def view() -> dict[str, Any]:
    """The current view: the URL first, then what this session last showed, then defaults."""
    kept = st.session_state.setdefault("_view", {})
    out = {
        "dataset": DEFAULT_DATASET,
        "split": DEFAULT_SPLIT,
        "qid": None,
        "systems": None,
        "k": 10,
        "view": "compact",
        "mode": "judged",
        "text": "",
        "qrels": "official",
        "baseline": None,
        "queue": None,
    }
    out.update({k: v for k, v in kept.items() if v is not None})
    for key in VIEW_KEYS:
        value = _url_get(key)
        if value is not None:
            out[key] = [s for s in value.split(",") if s] if key == "systems" else value
    out["systems"] = [without_paths(s) for s in out["systems"]] if out["systems"] else out["systems"]
    for key in ("baseline", "queue"):
        out[key] = without_paths(out[key]) if out[key] else out[key]
    try:
        out["k"] = int(out["k"]) if int(out["k"]) in K_OPTIONS else 10
    except (TypeError, ValueError):
        out["k"] = 10
    out["view"] = out["view"] if out["view"] in VIEWS else "compact"
    out["mode"] = out["mode"] if out["mode"] in MODES else "judged"
    out["qrels"] = out["qrels"] if out["qrels"] in QRELS else "official"
    return out


def remember(**values: Any) -> None:
    """Store view values in the session and the URL (systems as a comma-separated list).

    Inside :func:`url_batch` (a page's run, a fragment's rerun) the URL is written once, when the block ends:
    every write is one message and one ``history.pushState`` in the browser, and a page switch used to make
    eight of them, one per value (about 50 ms of the browser's main thread)."""
    kept = st.session_state.setdefault("_view", {})
    texts = {}
    for key, value in values.items():
        kept[key] = value
        texts[key] = ",".join(value) if isinstance(value, (list, tuple)) else (None if value is None else str(value))
    pending = getattr(_batch, "pending", None)
    if pending is not None:
        pending.update(texts)
    else:
        _write_url(texts)


def _write_url(texts: dict[str, str | None]) -> None:
    """Set (or, for an empty value, remove) URL parameters; the ones that change are sent in one message."""
    for key in [k for k, t in texts.items() if t in (None, "") and k in st.query_params]:
        del st.query_params[key]
    changed = {k: t for k, t in texts.items() if t not in (None, "") and st.query_params.get(k) != t}
    if changed:
        st.query_params.update(changed)


_batch = threading.local()  # one script run per thread


@contextlib.contextmanager
def url_batch() -> Iterator[None]:
    """Values remembered inside the block reach the URL in one write when it ends (the outermost block writes).
    ``st.rerun`` takes the URL as it is when called: pages rerun with :func:`rerun`, which writes first."""
    if getattr(_batch, "pending", None) is not None:
        yield
        return
    _batch.pending = {}
    try:
        yield
    finally:
        pending, _batch.pending = _batch.pending, None
        _write_url(pending)


def flush_url() -> None:
    """Write the values remembered so far in this run to the URL now."""
    pending = getattr(_batch, "pending", None)
    if pending:
        _write_url(pending)
        pending.clear()


def rerun() -> None:
    """``st.rerun`` from the URL with this run's remembered values in it (an upload's new column, for one)."""
    flush_url()
    st.rerun()


def batches_url(fn: Callable) -> Callable:
    """``fn`` runs inside :func:`url_batch` (for a fragment: its reruns run without the page around them)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with url_batch():
            return fn(*args, **kwargs)

    return wrapper


def bind(widget_key: str, value: Any) -> None:
    """Make the widget ``widget_key`` show ``value`` unless the user just changed it."""
    if st.session_state.get(widget_key) != value:
        st.session_state[widget_key] = value


def bind_choice(param: str, widget_key: str, options: Sequence[Any], default: Any) -> dict[str, Any]:
    """A page's own choice (Failure cases' measure, Model size's chart, ...) carried by the URL parameter ``param``:
    the widget ``widget_key`` shows the URL's value when it is one of ``options`` (compared as text), else what
    this session chose last, else ``default``; the URL then holds it. Returns the widget's keyword arguments (its
    key, and the callback that makes the user's choice the URL's): ``st.selectbox(label, options, **bind_choice(...))``,
    with no default of the widget's own."""
    by_text = {str(o): o for o in options}
    wanted = _wanted(param)
    return _bound(param, widget_key, by_text.get(str(wanted), default) if wanted is not None else default)


def bind_choices(param: str, widget_key: str, options: Sequence[Any], default: Sequence[Any]) -> dict[str, Any]:
    """:func:`bind_choice` for a multiselect: the URL holds the chosen options comma-separated (unknown ones are
    dropped)."""
    by_text = {str(o): o for o in options}
    wanted = _wanted(param)
    if wanted is None:
        value = list(default)
    else:
        texts = wanted if isinstance(wanted, (list, tuple)) else str(wanted).split(",")
        value = [by_text[t] for t in map(str, texts) if t in by_text]
    return _bound(param, widget_key, value)


def _bound(param: str, widget_key: str, value: Any) -> dict[str, Any]:
    bind(widget_key, value)
    remember(**{param: value})
    return {"key": widget_key, "on_change": on_widget_change, "args": (widget_key, param)}


def _wanted(param: str) -> Any:
    """The URL's value of ``param``, else this session's last (None: neither has one)."""
    value = _url_get(param)
    return value if value is not None else st.session_state.setdefault("_view", {}).get(param)


def on_widget_change(widget_key: str, view_key: str) -> None:
    """Widget callback: the user's choice becomes the view (runs before the script reruns)."""
    remember(**{view_key: st.session_state.get(widget_key)})


def on_random(qids: list[str]) -> None:
    """The Random button's callback: a new query before the rerun (so one run, not two)."""
    remember(qid=random_qid(qids))


def on_pick(qid: str) -> None:
    remember(qid=qid)


def random_qid(qids: list[str]) -> str:
    rng = st.session_state.setdefault("_rng", random.Random())
    return rng.choice(qids)


def uploads() -> Uploads:
    """This session's uploaded runs (Run objects by key; see view.choices)."""
    return st.session_state.setdefault("_uploads", Uploads())
