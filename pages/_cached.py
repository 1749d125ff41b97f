"""What is kept across reruns, and how each choice is named.

``st.cache_resource`` holds datasets and immutable runs with their lookups, so a rerun copies
nothing; uploads live in the session (pages/_state.py) with their lookups and evaluations beside
them. The work itself happens in ``retrieval``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import streamlit as st

from pages import _state
from retrieval.beir import BeirDataset, catalogue, data_dir_from_env, open_dataset
from retrieval.beir import local_datasets as _local
from retrieval.cache import Cache, default_cache_root
from retrieval.errors import RetrievalError
from retrieval.evaluate import Evaluation, cached_evaluate, evaluate
from view import choices, columns

MEASURES = ("nDCG@10", "R@100", "Judged@10")
LIVE_DEPTH = 1000  # a typed query keeps what the system returns (BM25 and dense: 1,000; rerankers: their depth)


def live_search(ds: BeirDataset, system: Any, text: str, cache: Cache):
    """The one live-query path of ``retrieval`` (its import lives here only)."""
    from retrieval.runner import live_search as search

    return search(ds, system, text, k=LIVE_DEPTH, cache=cache, progress=False)


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


def forget_datasets() -> None:
    """Look for local datasets again on the next call (e.g. after a download)."""
    _local_datasets.clear()


@st.cache_data(ttl=30, show_spinner=False)
def _local_datasets(data_dir_text: str, root: str) -> list[str]:
    return _local(Path(data_dir_text) if data_dir_text else None, Path(root))


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _dataset(name: str, data_dir_text: str, root: str) -> BeirDataset:
    ds = open_dataset(name, data_dir_text or None, cache_root=root, download=False)
    _ = ds.corpus, ds.queries  # open once, here, so reruns never parse files
    return ds


def dataset(name: str) -> BeirDataset:
    return _dataset(name, str(data_dir() or ""), cache_root())


def docs_by_dataset() -> dict[str, int]:
    return {n: i.corpus_docs for n, i in catalogue().items()}


# ---- systems, uploads and their names -------------------------------------------------------------
def system_info(spec: str) -> tuple[Any, bool, str]:
    """``(system or None, available, message)``; never raises. An upload is ``(None, True, "")``.

    System specs use a plain process-wide memo (like ``st.cache_resource``, without its per-call
    hashing: this is called for every column, option and card on every rerun).
    """
    if spec in _state.uploads():
        return None, True, ""
    return _system_info(spec)


@functools.lru_cache(maxsize=128)
def _system_info(spec: str) -> tuple[Any, bool, str]:
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
    from view.text import escape_markdown

    return escape_markdown(str(value), joiners)


def display_name(spec: str) -> str:
    run = _state.uploads().get(spec)
    if run is not None:
        return f"{run.name} (uploaded)"
    system = _system_info(spec)[0]
    return system.display_name if system is not None else spec


def name_md(spec: str) -> str:
    return esc(display_name(spec))


def family(spec: str) -> str:
    if spec in _state.uploads():
        return choices.EXTERNAL
    return getattr(_system_info(spec)[0], "family", "") or choices.EXTERNAL


def system_options(ds_name: str | None = None) -> list[str]:
    return choices.system_options(cached_runs(), ds_name, _state.uploads())


def default_systems(ds_name: str, split: str) -> list[str]:
    def measured(spec: str) -> float | None:
        ev = evaluation(ds_name, split, spec)
        return None if ev is None else ev.mean["nDCG@10"]

    return choices.default_systems(system_options(ds_name), family, lambda s: system_info(s)[1], measured)


# ---- runs -------------------------------------------------------------------------------------
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

    system, available, _ = _system_info(spec)
    if system is None or not available:
        raise _NoRun(spec)
    try:
        run = cached_run(get_cache(root), _dataset(ds_name, data_dir_text, root), split, system)
    except RetrievalError as exc:  # e.g. the model's revision cannot be resolved offline
        raise _NoRun(spec) from exc
    if run is None:
        raise _NoRun(spec)  # exceptions are not cached, so a later build is picked up
    return columns.RunLookup(run.rename(spec))


def _upload_memo(key: str) -> dict | None:
    """The lookup and evaluations of an uploaded run, kept beside it in the session."""
    run = _state.uploads().get(key)
    if run is None:
        return None
    memos = st.session_state.setdefault("_upload_memos", {})
    memo = memos.get(key)
    if memo is None or memo["run"] is not run:
        memo = memos[key] = {"run": run, "lookup": columns.RunLookup(run.rename(key)), "evaluations": {}}
    return memo


def run_lookup(ds_name: str, split: str, spec: str) -> columns.RunLookup | None:
    """The cached run of ``spec`` (or this session's upload) with its lookups; None if not built."""
    memo = _upload_memo(spec)
    if memo is not None:
        return memo["lookup"]
    try:
        return _lookup(ds_name, str(data_dir() or ""), cache_root(), split, spec)
    except _NoRun:
        return None


def has_run(ds_name: str, split: str, spec: str) -> bool:
    return run_lookup(ds_name, split, spec) is not None


def forget_runs() -> None:
    """List the cached runs again on the next call (a run was built in the background)."""
    _cached_runs.clear()


def encode_progress(ds_name: str, spec: str) -> tuple[int, int] | None:
    """Documents encoded so far for ``spec``'s corpus embeddings on the dataset, of all; None for a system that
    encodes no corpus (or when no encode has started)."""
    system = _system_info(spec)[0]
    counts = getattr(system, "encode_progress", None)
    return counts(dataset(ds_name), cache()) if counts is not None else None


def build_run(ds_name: str, split: str, spec: str) -> None:
    """Build (or load) a run into the cache; blocking."""
    from retrieval.runner import get_run

    get_run(dataset(ds_name), split, _system_info(spec)[0], cache=cache(), progress=False)
    _cached_runs.clear()


@st.cache_resource(max_entries=48, show_spinner=False)
def _evaluation(ds_name: str, data_dir_text: str, root: str, split: str, spec: str) -> Evaluation:
    lookup = _lookup(ds_name, data_dir_text, root, split, spec)
    ds = _dataset(ds_name, data_dir_text, root)
    # Kept on disk beside the run: a later start of the app reads the per-query values instead of evaluating.
    return cached_evaluate(lookup.run, ds.qrels(split), cache=get_cache(root), dataset_sha256=ds.fingerprint(), split=split)


def evaluation(ds_name: str, split: str, spec: str) -> Evaluation | None:
    memo = _upload_memo(spec)
    if memo is not None:
        if (ds_name, split) not in memo["evaluations"]:
            memo["evaluations"][ds_name, split] = evaluate(memo["lookup"].run, dataset(ds_name).qrels(split))
        return memo["evaluations"][ds_name, split]
    try:
        return _evaluation(ds_name, str(data_dir() or ""), cache_root(), split, spec)
    except _NoRun:
        return None


@st.cache_resource(max_entries=32, show_spinner=False)
def _contrasting(
    ds_name: str, data_dir_text: str, root: str, split: str, a: str, b: str, n: int
) -> tuple[tuple[str, float], ...]:
    from retrieval import stats

    ea, eb = _evaluation(ds_name, data_dir_text, root, split, a), _evaluation(ds_name, data_dir_text, root, split, b)
    cmp = stats.compare_pair(ea, eb, names=(a, b), with_tests=False)
    return tuple((str(q), float(row["diff"])) for q, row in cmp.contrasting(n).iterrows())


def contrasting(ds_name: str, split: str, a: str, b: str, n: int = 12) -> tuple[tuple[str, float], ...]:
    """The ``n`` queries with the largest nDCG@10 differences between two systems (computed once per pair)."""
    if a in _state.uploads() or b in _state.uploads():
        from retrieval import stats

        cmp = stats.compare_pair(evaluation(ds_name, split, a), evaluation(ds_name, split, b), names=(a, b), with_tests=False)
        return tuple((str(q), float(row["diff"])) for q, row in cmp.contrasting(n).iterrows())
    return _contrasting(ds_name, str(data_dir() or ""), cache_root(), split, a, b, n)


@st.cache_resource(max_entries=64, show_spinner=False)
def _live(ds_name: str, data_dir_text: str, root: str, spec: str, text: str) -> columns.RunLookup:
    ds = _dataset(ds_name, data_dir_text, root)
    return columns.RunLookup(live_search(ds, _system_info(spec)[0], text, get_cache(root)).rename(spec))


def live_lookup(ds_name: str, spec: str, text: str) -> columns.RunLookup:
    """Run one typed query through a system (cached per text)."""
    return _live(ds_name, str(data_dir() or ""), cache_root(), spec, text)


def metrics_help() -> str:
    """The tooltip of a column's metric line."""
    return "Per-query values from ir_measures (retrieval.evaluate). " + "; ".join(f"{m}: {measure_help(m)}" for m in MEASURES)


@functools.lru_cache(maxsize=32)
def measure_help(measure: str) -> str:
    from retrieval.evaluate import measure_description

    try:
        return measure_description(measure)
    except Exception:
        return measure
