"""The one way the app does long work: a run build, a model fetch or a dataset download as a background job
(:mod:`retrieval.jobs`), with its progress drawn in place (issue 27, item 4).

Compare's columns, Data & runs' build and fetch forms and the first start's download all start jobs here and show
them with :func:`show`: a progress bar worded by :mod:`view.progress` (documents encoded, bytes fetched, or the time
spent against an estimate made before the build started), polled with ``st.fragment(run_every=...)`` while the job
runs. When it finishes, the caches that list runs, models and datasets are refreshed and the app reruns; when it
fails, polling stops and the error stays with a "Try again" button. On a first start (the landing page downloaded
the dataset) the missing runs of the systems on the first page start on their own; otherwise a button starts them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from pages import _cached as data
from pages import _repro
from pages import _state as state
from retrieval import jobs
from retrieval.errors import RetrievalError
from view import progress

FIRST_START = "_first_start"  # session flag set by the landing page once it has downloaded the dataset


@st.cache_resource(show_spinner=False)
def board() -> jobs.Jobs:
    """This server's jobs (one per run, model or dataset, shared by every session)."""
    return jobs.Jobs()


def _run_key(ds_name: str, split: str, spec: str, folder: str | None = None) -> tuple:
    return "run", data.cache_root(), ds_name, split, spec, folder


def job(ds_name: str, split: str, spec: str, folder: str | None = None) -> jobs.Job | None:
    """This server's build of ``spec`` on the split, running, finished or failed; None if none was started."""
    return board().get(_run_key(ds_name, split, spec, folder))


def start(ds_name: str, split: str, spec: str, folder: str | None = None) -> jobs.Job | None:
    """Start building the run in the background (once: a running or finished build is returned as it is).
    ``folder``: a model folder this session chose for the system (Data & runs). None on a read-only server."""
    if _read_only():
        return None
    # Resolved here, in the script's thread: the worker touches no Streamlit cache.
    dataset, system = data.dataset(ds_name), data.system_for(spec, folder)
    new, work = jobs.run_job(dataset, split, system, data.cache(), estimate=data.build_estimate(ds_name, spec))
    return board().start(_run_key(ds_name, split, spec, folder), new, work)


def estimate(ds_name: str, split: str, spec: str) -> tuple[float | None, str]:
    """``(seconds or None, how it was estimated)`` for building ``spec``'s run here: scaled from earlier builds of the
    system, else measured on a few documents by a probe (started in the background the first time; while it runs,
    :func:`probing` gives its job to show)."""
    seconds = data.build_estimate(ds_name, spec)
    if seconds is not None:
        return seconds, "scaled from earlier builds of this system here"
    system = data.choice(spec).system
    if system is None or not data.choice(spec).available or _read_only():
        return None, ""
    key = ("probe", data.cache_root(), ds_name, split, spec)
    job = board().get(key)
    if job is None:
        new, work = jobs.probe_job(data.dataset(ds_name), split, system, data.cache())
        job = board().start(key, new, work)
    if job.done and job.result is not None:
        return float(job.result), "measured on a few documents on this machine"
    if job.error:
        return None, f"the estimate failed: {job.error}"
    return None, "measuring on a few documents…"


_CHOICE_HELP = {
    "backend": "How the model runs: torch as trained, or exported to ONNX Runtime / OpenVINO on the CPU (float32, or "
    "int8: several times faster; an int8 model that strays from the torch one is refused). Another backend is another "
    "run, kept beside the torch one."
}


# What each build choice buys, for a missing run's note in Compare (:func:`choice_hint`).
_CHOICE_HINT = {"backend": "run it exported (ONNX Runtime, OpenVINO), faster on a CPU"}


def choice_hint(system) -> str:
    """One sentence on what Data & runs → Build a run offers ``system`` beyond its default build ("" when it offers
    nothing): each build choice with more than one value, said by :data:`_CHOICE_HINT`, else by its name."""
    offered = [name for name, values in system.build_choices().items() if len(values) > 1]
    if not offered:
        return ""
    return " Data & runs → Build a run can " + "; ".join(_CHOICE_HINT.get(n, f"set its {n}") for n in offered) + "."


def pick_choices(system, key: str) -> str:
    """A select box per build choice of ``system`` (a dense model's backend, ...); the spec of what was picked."""
    offered = system.build_choices()
    cols = st.columns(len(offered) + 1)
    picked = {
        name: cols[i].selectbox(name.capitalize(), values, key=f"{key}{name}", help=_CHOICE_HELP.get(name))
        for i, (name, values) in enumerate(offered.items())
    }
    return system.spec_with(picked)


def probing(ds_name: str, split: str, spec: str) -> jobs.Job | None:
    """The running probe of ``spec``'s build time, if one runs."""
    job = board().get(("probe", data.cache_root(), ds_name, split, spec))
    return job if job is not None and job.running else None


def fetch_model(spec: str) -> jobs.Job:
    """Fetch a model's weights from the Hugging Face hub in the background."""
    from retrieval.neural import registry

    new, work = jobs.model_job(registry.lookup(spec))
    return board().start(("model", spec), new, work)


def model_fetch(spec: str) -> jobs.Job | None:
    return board().get(("model", spec))


def download_dataset(name: str) -> jobs.Job | None:
    """Download a BEIR dataset into the cache in the background (the catalogue's URL and md5;
    ``BEIR_DOWNLOAD_URL``, a template with ``{name}``, and ``BEIR_DOWNLOAD_MD5`` point it at a mirror); None when
    the dataset cannot be downloaded."""
    from retrieval.beir import dataset_info

    info = dataset_info(name)
    if info is None or not info.downloadable:
        return None
    url = os.environ.get("BEIR_DOWNLOAD_URL", "").format(name=name) or info.url
    md5 = os.environ.get("BEIR_DOWNLOAD_MD5") or (info.md5 if url == info.url else None)
    root = Path(data.cache_root()) / "datasets"
    new, work = jobs.dataset_job(name, url, md5, root)
    return board().start(("dataset", str(root), name), new, work)


def dataset_download(name: str) -> jobs.Job | None:
    return board().get(("dataset", str(Path(data.cache_root()) / "datasets"), name))


def settled(job: jobs.Job) -> bool:
    """Whether ``job`` finished; the first time a page sees that, the lists it changed are refreshed."""
    if not job.done:
        return False
    if not job.refreshed:
        job.refreshed = True
        _refresh(job)
    return True


def settle_all() -> None:
    """Refresh what every job that finished since the last look changed (a page calls it before drawing its lists,
    so a run built in the background is listed, with its command, on the next rerun of any page)."""
    for job in board().all():
        settled(job)


def _read_only() -> str:
    from pages import _judging

    return _judging.read_only()


def _refresh(job: jobs.Job) -> None:
    """What a finished job changes: the lists of runs, models or datasets the pages show."""
    if job.kind == "run":
        data.forget_runs()
        _repro.forget()
    elif job.kind == "model":
        data.forget_models()
    elif job.kind == "dataset":
        data.forget_datasets()


def show(job: jobs.Job, retry: Callable[[], object], key: str, on_done: Callable[[], None] | None = None) -> None:
    """A job in place: its progress while it runs (polled), its error with "Try again" once it failed (no more
    polling). When it finishes, the lists it changes are refreshed and the app reruns."""
    if job.error:
        what = {"run": "Building the run of", "model": "Fetching", "dataset": "Downloading"}[job.kind]
        st.error(f"{what} {data.esc(job.name)} failed: {data.esc(job.error, joiners=False)}", icon=":material/error:")
        st.button("Try again", key=f"retry_{key}", icon=":material/refresh:", on_click=retry)
        return
    _poll(job, on_done)


@st.fragment(run_every=1.0)
def _poll(job: jobs.Job, on_done: Callable[[], None] | None) -> None:
    if settled(job):
        if on_done is not None:
            on_done()
        st.rerun(scope="app")
    if job.error:  # the page draws the error without polling
        st.rerun(scope="app")
    fraction, line = progress.status_line(job)
    st.progress(fraction or 0.0, text=data.esc(line))


def ensure_runs(ds_name: str, split: str, systems: list[str]) -> dict:
    """Runs of the chosen systems; runs that build in seconds (BM25, a fusion of runs that are there) are built on the
    spot, others on request, in the background.
    On a first start (or once a background build of it runs) BM25 builds in the background too, so its column and
    the dense columns' encoding progress show side by side and none waits for another (pages/_builds.py)."""
    lookups = {}
    for spec in systems:
        lookup = data.run_lookup(ds_name, split, spec)
        background = first_start() or job(ds_name, split, spec) is not None
        if lookup is None and not background and not _read_only() and data.builds_quickly(ds_name, split, spec):
            with st.spinner(f"Building the {data.name_md(spec)} run on {data.esc(ds_name)} (first time only)…", show_time=True):
                try:
                    data.build_run(ds_name, split, spec)
                    lookup = data.run_lookup(ds_name, split, spec)
                except RetrievalError as exc:
                    st.error(f"{data.name_md(spec)}: {data.esc(exc, joiners=False)}")
        lookups[spec] = lookup
    return lookups


def live_lookups(ds_name: str, systems: list[str], query: str) -> dict:
    """Each system's ranking of a typed query; a system that cannot run it says why in one line (an uploaded run
    has no ranking for a text it never saw), and an engine error stays one line (its traceback goes to the log)."""
    import logging

    lookups = {}
    for spec in systems:
        lookups[spec] = None
        if spec in state.uploads():
            st.caption(f"{data.name_md(spec)}: an uploaded run ranks only the queries it was made for, not a typed one.")
            continue
        if data.system_info(spec)[1]:
            try:
                with st.spinner(f"Running {data.name_md(spec)}…"):
                    lookups[spec] = data.live_lookup(ds_name, spec, query)
            except (RetrievalError, NotImplementedError) as exc:
                first = (str(exc).splitlines() or [""])[0]
                st.warning(f"{data.name_md(spec)} cannot run this typed query here: {data.esc(first, joiners=False)}")
            except Exception as exc:  # noqa: BLE001 - one system's failure must not take the page down
                logging.getLogger("retrieval.app").exception("live query on %s failed", spec)
                st.warning(f"{data.name_md(spec)} failed on this typed query ({type(exc).__name__}).")
    return lookups


def first_start() -> bool:
    """Whether this is the first page after the landing page's download: missing runs then start on their own."""
    return bool(st.session_state.get(FIRST_START))


def first_start_done() -> None:
    """After that first page: systems chosen later build on request only (a reranker run can take hours)."""
    st.session_state.pop(FIRST_START, None)
