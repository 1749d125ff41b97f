"""Runs built in the background (issue 12, point 4): a column whose run is missing builds it in a thread and shows
its progress instead of holding the page; the other columns are shown meanwhile.

A dense system's progress is the documents encoded so far, read from its embeddings' scratch folder
(``DenseRetriever.encode_progress``, so an encode started elsewhere shows too), with an ETA from the rate since
this build started. Other systems show the time spent so far. The column polls with ``st.fragment(run_every=...)``
and reruns the app when the run is in the cache. On a first start (the landing page downloaded the dataset) the
missing runs of the systems on the first page start on their own; otherwise a button starts them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from pages import _cached as data
from view import text

FIRST_START = "_first_start"  # session flag set by the landing page once it has downloaded the dataset


@dataclass
class Build:
    ds_name: str
    split: str
    spec: str
    started: float = field(default_factory=time.monotonic)
    first_done: int | None = None  # documents already encoded when this build was first watched (a resumed encode)
    error: str = ""
    done: bool = False


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[tuple[str, str, str, str], Build]:
    return {}


def _key(ds_name: str, split: str, spec: str) -> tuple[str, str, str, str]:
    return data.cache_root(), ds_name, split, spec


def run_build(dataset: Any, split: str, system: Any, cache: Any) -> None:
    """The build itself (a module function, so a test can hold it back)."""
    from retrieval.runner import get_run

    get_run(dataset, split, system, cache=cache, progress=False)


def _work(job: Build, dataset: Any, system: Any, cache: Any) -> None:
    try:
        run_build(dataset, job.split, system, cache)
        job.done = True
    except Exception as exc:  # shown in the column, which offers to try again
        job.error = f"{type(exc).__name__}: {exc}"


def job(ds_name: str, split: str, spec: str) -> Build | None:
    """This server's build of ``spec`` on the split, running, finished or failed; None if none was started."""
    return _jobs().get(_key(ds_name, split, spec))


def start(ds_name: str, split: str, spec: str) -> Build:
    """Start building the run in a thread (once: a running or finished build is returned as it is)."""
    jobs = _jobs()
    key = _key(ds_name, split, spec)
    current = jobs.get(key)
    if current is not None and not current.error:
        return current
    # Resolved here, in the script's thread: the worker touches no Streamlit cache.
    dataset, system, cache = data.dataset(ds_name), data.system_info(spec)[0], data.cache()
    current = jobs[key] = Build(ds_name, split, spec)
    threading.Thread(target=_work, args=(current, dataset, system, cache), daemon=True, name=f"build-{spec}").start()
    return current


def progress_label(name: str, ds_name: str, done: int, total: int, first_done: int, elapsed: float) -> str:
    """``"Encoding scifact with X: 2,048 of 5,183 documents · about 3 min 10 s left"``; the ETA is the rate of this
    build so far (documents encoded before it started do not count) applied to what is left."""
    if done >= total:
        return f"Encoded {ds_name} with {name} ({total:,} documents); searching…"
    new = done - first_done
    left = (
        f"about {text.format_seconds(elapsed * (total - done) / new)} left"
        if new > 0 and elapsed > 0
        else "estimating the time left…"
    )
    return f"Encoding {ds_name} with {name}: {done:,} of {total:,} documents · {left}"


@st.fragment(run_every=1.0)
def show(job: Build) -> None:
    """The build's progress in its column; the app reruns once the run is there."""
    name = data.display_name(job.spec)
    if job.error:
        st.error(f"Building the run of {data.esc(name)} failed: {data.esc(job.error, joiners=False)}")
        st.button("Try again", key=f"rebuild_{job.spec}", on_click=start, args=(job.ds_name, job.split, job.spec))
        return
    if job.done:
        data.forget_runs()
        st.rerun(scope="app")
    elapsed = time.monotonic() - job.started
    counts = data.encode_progress(job.ds_name, job.spec)
    if counts is None:
        st.progress(
            0.0, text=f"Building the run of {data.esc(name)} on {data.esc(job.ds_name)}: {text.format_seconds(elapsed)} so far"
        )
        return
    done, total = counts
    if job.first_done is None:
        job.first_done = done
    label = progress_label(data.esc(name), data.esc(job.ds_name), done, total, job.first_done, elapsed)
    st.progress(done / total if total else 0.0, text=label)


def first_start() -> bool:
    """Whether this is the first page after the landing page's download: missing runs then start on their own."""
    return bool(st.session_state.get(FIRST_START))


def first_start_done() -> None:
    """After that first page: systems chosen later build on request only (a reranker run can take hours)."""
    st.session_state.pop(FIRST_START, None)
