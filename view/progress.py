"""A background job's progress in words (:mod:`retrieval.jobs`): one line for its progress bar."""

from __future__ import annotations

from typing import Any

from .text import format_seconds


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f}"


def status_line(job: Any) -> tuple[float | None, str]:
    """``(fraction or None, line)`` of a :class:`retrieval.jobs.Job`, e.g. ``"Encoding scifact with
    all-MiniLM-L6-v2 (dense, 22.7M): 2,048 of 5,183 documents · about 3 min 10 s left"``."""
    s = job.status()
    if job.kind == "probe":
        return None, f"Estimating the build time of {job.name} on {job.place}: {format_seconds(s.elapsed)} so far"
    if job.kind in ("model", "dataset"):
        verb, source = ("Fetching", "the hub") if job.kind == "model" else ("Downloading", "the BEIR server")
        if s.total is None and s.done:
            return None, f"{verb} {job.name}: {_mb(s.done)} MB so far (size not known) · {format_seconds(s.elapsed)}"
        if s.total is None:
            return None, f"{verb} {job.name}: asking {source}… (0.0 MB, {format_seconds(s.elapsed)} so far)"
        left = f"about {format_seconds(s.left)} left" if s.left is not None else "estimating the time left…"
        return s.fraction, f"{verb} {job.name}: {_mb(s.done)} of {_mb(s.total)} MB · {left}"
    if s.total is not None:
        return s.fraction, progress_label(job.name, job.place, s.done, s.total, s.left, s.unit)
    spent = f"Building the run of {job.name} on {job.place}: {format_seconds(s.elapsed)} so far"
    if s.estimated and s.left is not None:
        spent += ", about " + (f"{format_seconds(s.left)} left (estimated)" if s.left > 0 else "done (longer than estimated)")
    return s.fraction, spent


def progress_label(name: str, place: str, done: int, total: int, left: float | None, unit: str = "documents") -> str:
    """``"Encoding scifact with X: 2,048 of 5,183 documents · about 3 min 10 s left"``."""
    if done >= total:
        return f"Encoded {place} with {name} ({total:,} {unit}); searching…"
    eta = f"about {format_seconds(left)} left" if left is not None else "estimating the time left…"
    return f"Encoding {place} with {name}: {done:,} of {total:,} {unit} · {eta}"
