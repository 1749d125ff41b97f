"""Shared pieces of the benchmarks: result rows, interleaved timing, machine description, the report file.

Timing rules used everywhere: the same inputs for ours and the baseline, a warm-up call of each that is
not timed, then timed rounds in which the contenders alternate (the order rotates every round, so a
background load that comes and goes hits both alike), and the median over rounds.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import socket
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    """One line of the ratio table.

    ``ratio`` is oriented so that the ``meaning`` column reads naturally, e.g. "speed-up (ours/base)" or
    "time ours/base"; ``target`` is a human-readable goal such as ">= 1.5" or "<= 1.05" (empty if none).
    """

    bench: str
    metric: str
    ours: str
    baseline: str
    ratio: float | None
    meaning: str
    target: str = ""
    note: str = ""

    @property
    def verdict(self) -> str:
        """ "met" / "missed" / "" for rows with a numeric target."""
        match = re.fullmatch(r"\s*(>=|<=)\s*([0-9.]+)\s*", self.target or "")
        if not match or self.ratio is None:
            return ""
        goal = float(match.group(2))
        ok = self.ratio >= goal if match.group(1) == ">=" else self.ratio <= goal
        return "met" if ok else "missed"


@dataclass
class Section:
    """What one benchmark returns: table rows plus free-text lines (absolute numbers, caveats)."""

    name: str
    rows: list[Row] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (``q`` from 0 to 100) of ``values``, by linear interpolation between the two nearest
    ranks: numpy's default (``method="linear"``, Hyndman & Fan type 7, also ``statistics.quantiles(method="inclusive")``).
    ``percentile(v, 50)`` is the median; with 30 values p95 lies between the 28th and 29th smallest."""
    import numpy as np

    if len(values) == 0:
        raise ValueError("percentile of no values")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def fmt(value: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, no scientific notation for everyday sizes."""
    if value == 0 or not (1e-3 <= abs(value) < 1e7):
        return f"{value:.{digits}g}"
    return f"{value:,.{max(0, digits - 1 - int(_floor_log10(abs(value))))}f}"


def _floor_log10(x: float) -> int:
    import math

    return math.floor(math.log10(x))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved(
    contenders: Mapping[str, Callable[[], object]], rounds: int, *, warmup: bool = True, warmup_seconds: float = 0.0
) -> dict[str, list[float]]:
    """Time each callable ``rounds`` times, alternating, with a rotating order; returns seconds per round.

    With ``warmup`` each callable runs once first, untimed; with ``warmup_seconds`` each then runs again,
    untimed, until that many seconds (at most 100 calls) have passed.
    """
    names = list(contenders)
    if warmup:
        for name in names:
            contenders[name]()
    for name in names:  # JIT-compiled contenders (the JVM's C2, numba) reach their steady state
        spent, calls = 0.0, 0
        while spent < warmup_seconds and calls < 100:
            spent += timed(contenders[name])[0]
            calls += 1
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            seconds, _ = timed(contenders[name])
            times[name].append(seconds)
    return times


# ---- machine description ---------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _version(module: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "not installed"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine_info() -> dict[str, str]:
    """What the numbers were measured on (torch is imported to read its thread settings)."""
    import torch

    flags = _cpu_flags()
    ram = _ram_gib()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "hostname": socket.gethostname(),
        "cpu": _cpu_model(),
        "cores": str(cores()),
        "ram": f"{ram:.1f} GiB" if ram else "unknown",
        "cpu bf16 / amx": f"avx512_bf16={'avx512_bf16' in flags}, amx={'amx_bf16' in flags}",
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch threads": f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op",
        "torch BLAS": "MKL" if torch.backends.mkl.is_available() else "other",
        "transformers": _version("transformers"),
        "sentence-transformers": _version("sentence-transformers"),
        "pyserini": _version("pyserini"),
        "bm25s": _version("bm25s"),
        "load average at start": ", ".join(f"{x:.2f}" for x in load) if load else "unknown",
    }


def machine_slug(info: Mapping[str, str]) -> str:
    """``<hostname>-<cpu model>-<cores>c`` in lower-case letters, digits and dashes."""
    raw = f"{info.get('hostname', 'host')}-{info.get('cpu', 'cpu')}-{info.get('cores', '0')}c"
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    return re.sub(r"-{2,}", "-", slug)[:80]


# ---- the report ------------------------------------------------------------------------------
def ratio_table(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table."""
    head = "| benchmark | metric | ours | baseline | ratio | meaning | target | note |"
    sep = "|---|---|---:|---:|---:|---|---|---|"
    lines = [head, sep]
    for r in rows:
        ratio = "n/a" if r.ratio is None else f"{r.ratio:.2f}"
        target = f"{r.target} ({r.verdict})" if r.verdict else r.target
        lines.append(f"| {r.bench} | {r.metric} | {r.ours} | {r.baseline} | {ratio} | {r.meaning} | {target} | {r.note} |")
    return "\n".join(lines)


def render_report(sections: Sequence[Section], info: Mapping[str, str], command: str, started: _dt.datetime) -> str:
    rows = [row for s in sections for row in s.rows]
    out = [
        f"# Benchmarks {started:%Y-%m-%d} on {info.get('hostname', '?')}",
        "",
        f"Command: `{command}`",
        f"Started {started:%Y-%m-%d %H:%M:%S}; ratios > 1 favour ours unless the meaning column says otherwise.",
        "",
        ratio_table(rows),
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
    ]
    for s in sections:
        out += [f"## {s.name}", ""]
        if s.skipped:
            out += [f"skipped: {s.skipped}", ""]
        out += [*[f"- {line}" for line in s.lines], f"- wall time of this benchmark: {s.seconds:.0f} s", ""]
    return "\n".join(out)


def write_report(text: str, path: Path) -> Path:
    """Write atomically (temporary file in the same folder, then rename)."""
    from retrieval.cache import atomic_write_text

    atomic_write_text(path, text)
    return path


def write_results(
    sections: Sequence[Section],
    info: dict[str, str],
    command: str,
    started: _dt.datetime,
    tag: str = "",
    folder: Path = RESULTS_DIR,
) -> Path:
    """A script's report into ``folder`` (:func:`results_path`), with the load average at its end added to ``info``
    (read by :func:`machine_info` before the run)."""
    info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return write_report(render_report(sections, info, command, started), results_path(info, started.date(), folder, tag))


def results_path(info: Mapping[str, str], day: _dt.date | None = None, folder: Path = RESULTS_DIR, tag: str = "") -> Path:
    """``<folder>/<YYYY-MM-DD>-<machine>[-<tag>].md``."""
    day = day or _dt.date.today()
    suffix = re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")
    return folder / f"{day:%Y-%m-%d}-{machine_slug(info)}{'-' + suffix if suffix else ''}.md"
