"""What is kept across reruns, and how each choice is named.

``st.cache_resource`` holds datasets and immutable runs with their lookups, so a rerun copies
nothing; uploads live in the session (pages/_state.py) with their lookups and evaluations beside
them. The work itself happens in ``retrieval``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
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
@dataclass(frozen=True)
class Choice:
    """What a picker, URL or column carries (``key``: a system spec as given, or an upload key), resolved once:
    ``spec`` is the canonical name (the system's own spec, the key of its runs, ranks and caches; an upload keeps
    its key), ``name`` the display name, the parsed ``system`` (None for an upload or a spec that does not parse),
    whether it can run here and why not."""

    key: str
    spec: str
    name: str
    family: str
    system: Any
    available: bool
    message: str


def choice(key: str) -> Choice:
    """``key`` resolved (never raises). Specs use a plain process-wide memo (like ``st.cache_resource``, without its
    per-call hashing: this is called for every column, option and row on every rerun); an upload is this session's."""
    run = _state.uploads().get(key)
    if run is not None:
        return Choice(key, key, f"{run.name} (uploaded)", choices.EXTERNAL, None, True, "")
    return _choice(key)


@functools.lru_cache(maxsize=256)
def _choice(key: str) -> Choice:
    from retrieval.systems import parse_system

    try:
        system = parse_system(key)
    except RetrievalError as exc:
        return Choice(key, key, key, choices.EXTERNAL, None, False, f"not available: {exc}")
    try:
        ok, message = system.availability()
    except Exception as exc:  # an availability check must not take the page down
        ok, message = False, f"not available: {exc}"
    return Choice(key, system.spec, system.display_name, system.family, system, ok, message)


def forget_models() -> None:
    """Work out every system's availability and model sizes again (a model was fetched or a folder given)."""
    _choice.cache_clear()
    model_disk.clear()


@st.cache_data(ttl=60, show_spinner=False)
def model_disk(spec: str, folder: str | None) -> tuple[float | None, str]:
    """(megabytes on disk or None, where) of a model's weights."""
    from retrieval.neural import registry, weights

    size, where = weights.disk_size(registry.lookup(spec), model_path=folder)
    return (None if size is None else size / 1024 / 1024), where


def canonical(key: str) -> str:
    """The canonical spec of a picker's or URL's value (``dense:x?index=exact`` -> ``dense:x``)."""
    return choice(key).spec


def system_info(spec: str) -> tuple[Any, bool, str]:
    """``(system or None, available, message)``; never raises. An upload is ``(None, True, "")``."""
    c = choice(spec)
    return c.system, c.available, c.message


def system_for(spec: str, folder: str | None = None) -> Any:
    """The System of ``spec``; with ``folder``, loading its weights from that local model folder (a folder this
    session gave on Data & runs: never from a URL)."""
    if not folder:
        return choice(spec).system
    from retrieval.systems import parse_system

    return parse_system(spec, model_path=folder)


def esc(value: object, joiners: bool = True) -> str:
    """Any text that is not ours (data, URL, file names, error details) as literal Markdown."""
    from view.text import escape_markdown

    return escape_markdown(str(value), joiners)


def display_name(spec: str) -> str:
    return choice(spec).name


def name_md(spec: str) -> str:
    return esc(display_name(spec))


def family(spec: str) -> str:
    return choice(spec).family


@functools.lru_cache(maxsize=512)
def published_line(spec: str, ds_name: str) -> str:
    """What the papers report for ``spec`` on ``ds_name`` (nDCG@10, with its source and setup), or that no
    number of this size on this dataset is published ("" for a system with no published counterpart)."""
    from retrieval import published
    from retrieval.series import series_of_spec

    system = choice(spec).system
    if system is None:
        return ""
    _, models = series_of_spec(system.spec)
    hit = published.published_match(models, ds_name) if models else None
    if hit is not None:
        return (
            f"published nDCG@10 on {ds_name}: {float(hit['ndcg_at_10']):.3f} ({hit['citation']}, {hit['setup'].split(' (')[0]})"
        )
    info = getattr(system, "info", None)
    if info is None:
        return ""
    return f"no published nDCG@10 of this size on {ds_name}" + (f" ({info.source})" if info.source else "")


def system_options(ds_name: str | None = None) -> list[str]:
    """Every choice worth offering: BM25, the registry's models, systems with cached runs (on ``ds_name``), uploads,
    and the fusion of BM25 with each neural retriever that has a run here."""
    options = choices.system_options(cached_runs(), ds_name, _state.uploads())
    imported = imported_runs()
    options += [str(s) for s in (imported if ds_name is None else imported[imported["dataset"] == ds_name])["system"]]
    runs = cached_runs()
    cached = runs["system"].dropna().astype(str) if ds_name is None or runs.empty else runs[runs["dataset"] == ds_name]["system"]

    def retriever(spec: str) -> bool:
        system = choice(spec).system
        return system is not None and not system.inputs and system.parameters is not None

    return list(dict.fromkeys(options + choices.fusion_options(map(str, cached.dropna()), retriever)))


def default_systems(ds_name: str, split: str) -> list[str]:
    def measured(spec: str) -> float | None:
        ev = evaluation(ds_name, split, spec)
        return None if ev is None else ev.mean["nDCG@10"]

    def runnable(spec: str):
        c = choice(spec)
        return c.system if c.available else None

    return choices.default_systems(system_options(ds_name), runnable, measured)


# ---- runs -------------------------------------------------------------------------------------
@st.cache_data(ttl=10, show_spinner=False)
def _cached_runs(root: str):
    from retrieval.runner import list_cached_runs

    return list_cached_runs(get_cache(root))


def cached_runs():
    return _cached_runs(cache_root())


@st.cache_data(ttl=10, show_spinner=False)
def _imported_runs(root: str):
    from retrieval.imports import list_imports

    return list_imports(get_cache(root))


def imported_runs():
    """Runs computed elsewhere and kept here as a system's run (``retrieval.imports``), one row each."""
    return _imported_runs(cache_root())


class _NoRun(Exception):
    pass


@st.cache_resource(max_entries=24, show_spinner=False)
def _lookup(ds_name: str, data_dir_text: str, root: str, split: str, spec: str) -> columns.RunLookup:
    """The run shown for ``spec``: built here, else imported (a system whose weights are not here may have one)."""
    from retrieval.imports import available_run, find

    c = _choice(spec)
    system = c.system
    if system is None:
        raise _NoRun(spec)
    cache_, ds = get_cache(root), _dataset(ds_name, data_dir_text, root)
    try:
        run = available_run(cache_, ds, split, system) if c.available else None
    except RetrievalError:  # e.g. the model's revision cannot be resolved offline: an imported run may still be there
        run = None
    if run is None:
        found = find(cache_, ds, split, system.spec)
        run = found[0] if found is not None else None
    if run is None:
        raise _NoRun(spec)  # exceptions are not cached, so a later build is picked up
    return columns.RunLookup(run.rename(c.spec))


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
    """List the cached and imported runs again on the next call (a run was built or imported)."""
    _cached_runs.clear()
    _imported_runs.clear()


def build_run(ds_name: str, split: str, spec: str) -> None:
    """Build (or load) a run into the cache; blocking (BM25: seconds)."""
    from retrieval.runner import get_run

    get_run(dataset(ds_name), split, choice(spec).system, cache=cache(), progress=False)
    _cached_runs.clear()


def builds_quickly(ds_name: str, split: str, spec: str) -> bool:
    """Whether ``spec``'s run builds in seconds here (BM25; a fusion of runs that are cached or quick)."""
    c = choice(spec)
    return c.system is not None and c.available and c.system.builds_quickly(lambda s: has_run(ds_name, split, s.spec))


def build_estimate(ds_name: str, spec: str) -> float | None:
    """Seconds a build of ``spec``'s run should take on the dataset, from earlier builds here (None: none yet)."""
    from retrieval.runner import estimate_build_seconds

    return estimate_build_seconds(cached_runs(), canonical(spec), len(dataset(ds_name).corpus), docs_by_dataset())


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
    c = _choice(spec)
    return columns.RunLookup(live_search(ds, c.system, text, get_cache(root)).rename(c.spec))


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
