"""Streamlit edge for the pages: cached loaders, the shared view state and the URL.

Everything here is thin: the work happens in ``retrieval``; this module only decides what is
cached across reruns (``st.cache_resource`` for datasets, systems and immutable runs with
their lookups, so a rerun copies nothing) and keeps dataset, split, query and systems in the URL.
"""

from __future__ import annotations

import functools
import os
import random
from pathlib import Path
from typing import Any

import streamlit as st

from retrieval import columns
from retrieval.beir import BeirDataset, catalogue, data_dir_from_env, dataset_status, open_dataset
from retrieval.cache import Cache, default_cache_root
from retrieval.errors import RetrievalError
from retrieval.evaluate import Evaluation, evaluate
from retrieval.run import Run

DEFAULT_DATASET = "scifact"
DEFAULT_SPLIT = "test"
MAX_SYSTEMS = 4
MEASURES = ("nDCG@10", "R@100", "Judged@10")
UPLOAD_PREFIX = "upload:"
# Specs the neural module registers (used when its model registry is absent).
KNOWN_NEURAL_SPECS = (
    "dense:all-MiniLM-L6-v2",
    "ce:ms-marco-MiniLM-L-6-v2",
    "monot5:small",
    "monot5:base",
    "monot5:large",
    "monot5:3b",
)
VIEW_KEYS = ("dataset", "split", "qid", "systems")


# ---- navigation -----------------------------------------------------------------------------
def ensure_navigation() -> None:
    """Hand over to ``app.py``'s navigation if Streamlit ran this page without it.

    A server's very first request for a page URL (e.g. a bookmarked ``/failures?...``) runs the page
    in Streamlit's legacy ``pages/`` folder mode, with the wrong sidebar and layout, because the
    entry script has not called ``st.navigation`` yet. Rerunning once puts ``app.py`` in charge.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - other Streamlit versions
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---- places ---------------------------------------------------------------------------------
def cache_root() -> str:
    return str(default_cache_root())


def data_dir() -> Path | None:
    return data_dir_from_env()


@st.cache_resource(show_spinner=False)
def get_cache(root: str) -> Cache:
    return Cache(root)


def cache() -> Cache:
    return get_cache(cache_root())


# ---- datasets -------------------------------------------------------------------------------
def local_datasets() -> list[str]:
    """Datasets present here: catalogue names found locally, plus any BEIR folder in $BEIR_DATA_DIR."""
    return _local_datasets(str(data_dir() or ""), cache_root())


@st.cache_data(ttl=30, show_spinner=False)
def _local_datasets(data_dir_text: str, root: str) -> list[str]:
    ddir = Path(data_dir_text) if data_dir_text else None
    names = [n for n in catalogue() if dataset_status(n, ddir, Path(root)) == "here"]
    if ddir is not None and ddir.is_dir():
        names += sorted(p.name for p in ddir.iterdir() if (p / "corpus.jsonl").is_file() and p.name not in names)
    return names


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _dataset(name: str, data_dir_text: str, root: str) -> BeirDataset:
    ds = open_dataset(name, data_dir_text or None, cache_root=root, download=False)
    ds.corpus, ds.queries  # load once, here, so reruns never parse files
    return ds


def dataset(name: str) -> BeirDataset:
    return _dataset(name, str(data_dir() or ""), cache_root())


# ---- systems and runs -----------------------------------------------------------------------
@functools.lru_cache(maxsize=128)
def system_info(spec: str) -> tuple[Any, bool, str]:
    """``(system or None, available, message)``; never raises.

    A plain process-wide memo (like ``st.cache_resource``, without its per-call hashing: this is
    called for every column, option and card on every rerun).
    """
    from retrieval.systems import parse_system

    try:
        system = parse_system(spec)
    except RetrievalError as exc:
        return None, False, f"not available: {exc}"
    try:
        ok, message = system.availability()
    except Exception as exc:  # an availability check must not take the page down
        return system, False, f"not available: {exc}"
    return system, ok, message


def esc(value: object, joiners: bool = True) -> str:
    """Any text that is not ours (data, URL, file names, error details) as literal Markdown."""
    from retrieval.text import escape_markdown

    return escape_markdown(str(value), joiners)


def name_md(spec: str) -> str:
    return esc(display_name(spec))


def display_name(spec: str) -> str:
    if spec.startswith(UPLOAD_PREFIX):
        return f"{spec[len(UPLOAD_PREFIX):]} (uploaded)"
    system = system_info(spec)[0]
    return system.display_name if system is not None else spec


def family(spec: str) -> str:
    if spec.startswith(UPLOAD_PREFIX):
        return "external"
    system = system_info(spec)[0]
    return getattr(system, "family", "") or "external"


def system_options(ds_name: str | None = None) -> list[str]:
    """Every system spec worth offering: BM25, the registry's models (or the known neural specs),
    systems with cached runs, and this session's uploads."""
    specs = ["bm25-flat", "bm25-multifield"]
    specs += registry_specs() or list(KNOWN_NEURAL_SPECS)
    runs = cached_runs()
    if not runs.empty:
        rows = runs if ds_name is None else runs[runs["dataset"] == ds_name]
        specs += [s for s in rows["system"].dropna().astype(str)]
    specs += list(uploads())
    return list(dict.fromkeys(specs))


def registry_specs() -> list[str]:
    from retrieval.neural import registry

    return [m.spec for m in registry.models()]


def default_systems(ds_name: str, split: str) -> list[str]:
    """BM25 flat, the best dense model available (best measured here, else largest), monoT5 if available."""
    from retrieval.neural import registry

    chosen = ["bm25-flat"]
    dense = [s for s in system_options(ds_name) if family(s) == "dense" and system_info(s)[1]]
    if dense:
        def score(spec: str) -> tuple[float, float]:
            ev = evaluation(ds_name, split, spec) if has_run(ds_name, split, spec) else None
            measured = ev.mean["nDCG@10"] if ev is not None else -1.0
            params = registry.params_for_spec(spec) or 0.0
            return measured, params

        chosen.append(max(dense, key=score))
    monot5 = [s for s in system_options(ds_name) if s.startswith("monot5") and system_info(s)[1]]
    if monot5:
        chosen.append(monot5[0])
    return chosen


@st.cache_data(ttl=10, show_spinner=False)
def _cached_runs(root: str):
    from retrieval.runner import list_cached_runs

    return list_cached_runs(get_cache(root))


def cached_runs():
    return _cached_runs(cache_root())


class _NoRun(Exception):
    pass


@st.cache_resource(max_entries=24, show_spinner=False)
def _lookup(ds_name: str, data_dir_text: str, root: str, split: str, spec: str) -> columns.RunLookup:
    from retrieval.runner import cached_run

    system, available, _ = system_info(spec)
    if system is None or not available:
        raise _NoRun(spec)
    try:
        run = cached_run(get_cache(root), _dataset(ds_name, data_dir_text, root), split, system)
    except RetrievalError as exc:  # e.g. the model's revision cannot be resolved offline
        raise _NoRun(spec) from exc
    if run is None:
        raise _NoRun(spec)  # exceptions are not cached, so a later build is picked up
    return columns.RunLookup(run.rename(spec))


def run_lookup(ds_name: str, split: str, spec: str) -> columns.RunLookup | None:
    """The cached run of ``spec`` (or this session's upload) with its lookups; None if not built."""
    if spec.startswith(UPLOAD_PREFIX):
        up = uploads().get(spec)
        return up["lookup"] if up else None
    try:
        return _lookup(ds_name, str(data_dir() or ""), cache_root(), split, spec)
    except _NoRun:
        return None


def has_run(ds_name: str, split: str, spec: str) -> bool:
    return run_lookup(ds_name, split, spec) is not None


def build_run(ds_name: str, split: str, spec: str) -> None:
    """Build (or load) a run into the cache; blocking."""
    from retrieval.runner import get_run

    system = system_info(spec)[0]
    get_run(dataset(ds_name), split, system, cache=cache(), progress=False)
    _cached_runs.clear()


@st.cache_resource(max_entries=48, show_spinner=False)
def _evaluation(ds_name: str, data_dir_text: str, root: str, split: str, spec: str) -> Evaluation:
    lookup = _lookup(ds_name, data_dir_text, root, split, spec)
    return evaluate(lookup.run, _dataset(ds_name, data_dir_text, root).qrels(split))


def evaluation(ds_name: str, split: str, spec: str) -> Evaluation | None:
    if spec.startswith(UPLOAD_PREFIX):
        up = uploads().get(spec)
        if not up:
            return None
        key = (ds_name, split)
        if key not in up["evaluations"]:
            up["evaluations"][key] = evaluate(up["lookup"].run, dataset(ds_name).qrels(split))
        return up["evaluations"][key]
    try:
        return _evaluation(ds_name, str(data_dir() or ""), cache_root(), split, spec)
    except _NoRun:
        return None


@st.cache_resource(max_entries=64, show_spinner=False)
def _live(ds_name: str, data_dir_text: str, root: str, spec: str, text: str) -> columns.RunLookup:
    from retrieval.runner import live_search

    system = system_info(spec)[0]
    run = live_search(_dataset(ds_name, data_dir_text, root), system, text, k=1000, cache=get_cache(root))
    return columns.RunLookup(run.rename(spec))


def live_lookup(ds_name: str, spec: str, text: str) -> columns.RunLookup:
    """Run one typed query through a system (cached per text)."""
    return _live(ds_name, str(data_dir() or ""), cache_root(), spec, text)


# ---- uploads (session only) -----------------------------------------------------------------
def uploads() -> dict[str, dict]:
    return st.session_state.setdefault("_uploads", {})


def add_upload(name: str, run: Run) -> str:
    spec = UPLOAD_PREFIX + name
    uploads()[spec] = {"lookup": columns.RunLookup(run.rename(spec)), "evaluations": {}}
    return spec


# ---- view state in the URL --------------------------------------------------------------------
def _url_get(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else None


def view() -> dict[str, Any]:
    """The current view: the URL first, then what this session last showed, then defaults."""
    kept = st.session_state.setdefault("_view", {})
    out = {"dataset": DEFAULT_DATASET, "split": DEFAULT_SPLIT, "qid": None, "systems": None}
    out.update({k: v for k, v in kept.items() if v is not None})
    for key in VIEW_KEYS:
        value = _url_get(key)
        if value is not None:
            out[key] = [s for s in value.split(",") if s] if key == "systems" else value
    return out


def remember(**values: Any) -> None:
    """Store view values in the session and the URL (systems as a comma-separated list)."""
    kept = st.session_state.setdefault("_view", {})
    for key, value in values.items():
        kept[key] = value
        text = ",".join(value) if isinstance(value, (list, tuple)) else value
        if text in (None, ""):
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != text:
            st.query_params[key] = text


def bind(widget_key: str, view_key: str, value: Any) -> None:
    """Make the widget ``widget_key`` show ``value`` unless the user just changed it."""
    if st.session_state.get(widget_key) != value:
        st.session_state[widget_key] = value


def on_widget_change(widget_key: str, view_key: str) -> None:
    """Widget callback: the user's choice becomes the view (runs before the script reruns)."""
    remember(**{view_key: st.session_state.get(widget_key)})


# ---- common sidebar -----------------------------------------------------------------------------
def pick_dataset_and_split(v: dict[str, Any]) -> tuple[str | None, str | None]:
    """Sidebar dataset and split pickers bound to the view; returns (dataset, split) or Nones."""
    names = local_datasets()
    if not names:
        st.sidebar.error(
            "No BEIR dataset found. Set BEIR_DATA_DIR to a folder holding e.g. scifact/ "
            f"(now: {data_dir() or 'unset'}) or download one from the Data & runs page."
        )
        return None, None
    ds_name = v["dataset"] if v["dataset"] in names else (DEFAULT_DATASET if DEFAULT_DATASET in names else names[0])
    if v["dataset"] not in names:
        st.sidebar.warning(f"Dataset {esc(v['dataset'])} is not here; showing {esc(ds_name)}.")
    bind("w_dataset", "dataset", ds_name)
    ds_name = st.sidebar.selectbox("Dataset", names, key="w_dataset", on_change=on_widget_change, args=("w_dataset", "dataset"))
    try:
        splits = dataset(ds_name).splits
    except RetrievalError as exc:
        st.sidebar.error(esc(exc, joiners=False))
        return None, None
    if not splits:
        st.sidebar.error(f"{ds_name} has no qrels/*.tsv, so there is nothing to evaluate.")
        return ds_name, None
    split = v["split"] if v["split"] in splits else (DEFAULT_SPLIT if DEFAULT_SPLIT in splits else splits[0])
    bind("w_split", "split", split)
    split = st.sidebar.selectbox("Split", splits, key="w_split", on_change=on_widget_change, args=("w_split", "split"))
    remember(dataset=ds_name, split=split)
    return ds_name, split


def sidebar_footer() -> None:
    st.sidebar.caption(f"Data folder (BEIR_DATA_DIR): `{data_dir() or 'unset'}`  \nCache: `{cache_root()}`")


def random_qid(qids: list[str]) -> str:
    rng = st.session_state.setdefault("_rng", random.Random())
    return rng.choice(qids)


@functools.lru_cache(maxsize=32)
def measure_help(measure: str) -> str:
    from retrieval.evaluate import measure_description

    try:
        return measure_description(measure)
    except Exception:
        return measure


def env_summary() -> dict[str, str]:
    return {"BEIR_DATA_DIR": str(data_dir() or "unset"), "RETRIEVAL_CACHE_DIR": os.environ.get("RETRIEVAL_CACHE_DIR", "unset")}
