"""Long work in the background, in one place: building a run, fetching a model, downloading a dataset.

A :class:`Job` runs in a thread and says where it stands (:meth:`Job.status`): a fraction and the time left, from
counts where the work has them (documents encoded, bytes fetched), else from an estimate made before it started
(:func:`retrieval.runner.estimate_build_seconds`), else just the time spent so far.
A failed job keeps its error for the page to show, with a way to try again. :class:`Jobs` holds one job per key
(at most one build of a run at a time however many pages ask for it); the app keeps one board per server.

Nothing here knows Streamlit or words for the screen: ``view/progress.py`` words a status, ``pages/_builds.py``
draws it and polls the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

Counts = Callable[[], "tuple[int, int] | None"]


@dataclass
class Job:
    """One piece of background work: ``kind`` of work on ``name`` (a system's display name, a model id) in
    ``place`` (a dataset); ``counts`` (optional) reports ``(done, total)`` in ``unit`` ("documents", "bytes") as the
    work goes on."""

    kind: str  # "run" | "model"
    name: str
    place: str = ""
    counts: Counts | None = None
    unit: str = ""
    estimate: float | None = None  # seconds, when known before the work starts
    started: float = field(default_factory=time.monotonic)
    first_done: int | None = None  # counted before this job started (e.g. chunks of an encode that resumes)
    error: str = ""
    done: bool = False
    result: Any = None
    refreshed: bool = False  # whether the app has refreshed what this job changed (pages/_builds.py)

    @property
    def running(self) -> bool:
        return not self.done and not self.error

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def status(self) -> Status:
        """Where the job stands: counts where the work reports them, else the estimate, else the time spent."""
        elapsed = self.elapsed()
        counted = self.counts() if self.counts is not None else None
        if counted is not None and not counted[1]:  # counted, size not known (a server that does not say it)
            return Status(None, elapsed, None, counted[0], None, self.unit)
        if counted is not None:
            done, total = counted
            if self.first_done is None:
                self.first_done = done
            new = done - self.first_done
            left = elapsed * (total - done) / new if new > 0 and elapsed > 0 else None
            return Status(min(1.0, done / total), elapsed, left, done, total, self.unit)
        if self.estimate:
            return Status(min(0.97, elapsed / self.estimate), elapsed, max(0.0, self.estimate - elapsed), estimated=True)
        return Status(None, elapsed, None)


@dataclass(frozen=True)
class Status:
    """A job's progress: ``fraction`` (None: unknown), seconds spent and (an estimate of) seconds ``left``;
    ``done``/``total`` in ``unit`` where the work counts; ``estimated``: ``left`` comes from an estimate made before
    the job started, not from its own rate (the time left of counted work is this job's rate so far applied to
    what is left: what was done before it started does not count)."""

    fraction: float | None
    elapsed: float
    left: float | None
    done: int | None = None
    total: int | None = None
    unit: str = ""
    estimated: bool = False


class Jobs:
    """Jobs by key; :meth:`start` starts one at most once at a time (a failed one may start again)."""

    def __init__(self) -> None:
        self._jobs: dict[Hashable, Job] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Job | None:
        return self._jobs.get(key)

    def start(self, key: Hashable, job: Job, work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in a thread under ``key``, unless a job there is running or finished (that one is
        returned as it is). The thread records the result, or the error as one line."""
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and not current.error:
                return current
            self._jobs[key] = job
        threading.Thread(target=_run, args=(job, work), daemon=True, name=f"job-{job.kind}").start()
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())


def _run(job: Job, work: Callable[[Job], Any]) -> None:
    try:
        job.result = work(job)
        job.done = True
    except Exception as exc:  # noqa: BLE001 - shown where the job is, with a way to try again
        job.error = f"{type(exc).__name__}: {exc}" if not str(exc).startswith(type(exc).__name__) else str(exc)


# ---- the kinds of job -------------------------------------------------------------------------------
def run_build(dataset: Any, split: str, system: Any, cache: Any) -> None:
    """Build (or load) a run into the cache (a module function, so a test can hold it back)."""
    from .runner import get_run

    get_run(dataset, split, system, cache=cache, progress=False)


def run_job(dataset: Any, split: str, system: Any, cache: Any, *, estimate: float | None = None) -> tuple[Job, Callable]:
    """A job that builds ``system``'s run on ``dataset``/``split``; its counts are what the system reports while it
    builds (:meth:`~retrieval.system.System.build_progress`: a dense model's documents encoded so far)."""
    job = Job(
        "run",
        system.display_name,
        dataset.name,
        counts=lambda: system.build_progress(dataset, cache),
        unit=system.build_unit,
        estimate=estimate,
    )
    return job, lambda _job: run_build(dataset, split, system, cache)


def model_job(info: Any) -> tuple[Job, Callable]:
    """A job that fetches a model's safetensors weights from the Hugging Face hub (bytes as counts)."""
    box = {"done": 0, "total": 0}
    job = Job("model", info.hf_id, counts=lambda: (box["done"], box["total"]) if box["total"] else None, unit="bytes")

    def work(_job: Job) -> Any:
        from .neural import weights

        return weights.fetch_model(info, progress=lambda d, t: box.update(done=d, total=t or 0))

    return job, work


def dataset_job(name: str, url: str, md5: str | None, root: Any) -> tuple[Job, Callable]:
    """A job that downloads a BEIR dataset's zip (md5 checked, extracted atomically: :func:`retrieval.download.
    download_beir`) into ``root``; bytes on disk as counts once the server has said the size."""
    from pathlib import Path

    folder = Path(root) / "_downloads"
    box = {"total": 0}

    def fetched() -> int:
        return sum(p.stat().st_size for p in folder.glob(f"{name}.zip*") if p.is_file()) if folder.is_dir() else 0

    job = Job("dataset", name, counts=lambda: (fetched(), box["total"]), unit="bytes")

    def work(_job: Job) -> Any:
        import urllib.request

        from .download import download_beir

        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10) as resp:  # noqa: S310
                box["total"] = int(resp.headers.get("Content-Length") or 0)
        except Exception:  # noqa: BLE001 - a server without HEAD: no size, the download itself says what is wrong
            pass
        return download_beir(name, url, md5, Path(root), progress=False)

    return job, work


def probe_job(dataset: Any, split: str, system: Any, cache: Any) -> tuple[Job, Callable]:
    """A job that estimates a first build's time from a few documents (:meth:`~retrieval.system.System.probe_seconds`);
    its result is the seconds."""
    job = Job("probe", system.display_name, dataset.name)
    return job, lambda _job: system.probe_seconds(dataset, split, cache)
