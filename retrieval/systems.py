"""Retrieval systems behind one interface, and the cached ``get_run`` every caller goes through.

A system is named by a spec string (``bm25-flat``, ``bm25-multifield``, ``dense:all-MiniLM-L6-v2``,
``monot5:base``, ...). Modules register a parser for their prefix with :func:`register`; the
parser returns a :class:`System`. :func:`get_run` caches a system's run on a dataset split, keyed by
the dataset's checksum, the split, everything :meth:`System.key_parts` reports (model id and
revision, parameters, first stage) and :data:`RUN_CODE_VERSION`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from .beir import BeirDataset
from .cache import Cache
from .errors import UnknownSystem
from .run import COLUMNS, Run

RUN_CODE_VERSION = 1


class System:
    """Base class. Subclasses set ``spec`` (canonical name) and ``family``."""

    spec: str = ""
    family: str = ""  # "bm25" | "dense" | "reranker" | "external"
    label: str = ""

    def key_parts(self) -> dict[str, Any]:
        """Everything besides the dataset and queries that changes this system's output."""
        raise NotImplementedError

    def retrieve(self, dataset: BeirDataset, queries: Mapping[str, str], *, cache: Cache, progress: bool = True) -> Run:
        raise NotImplementedError

    def availability(self) -> tuple[bool, str]:
        """(usable here?, why not / how to fix). Default: always usable."""
        return True, ""

    @property
    def display_name(self) -> str:
        return self.label or self.spec

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


_PARSERS: dict[str, Callable[..., System]] = {}
_LOADED = False


def register(prefix: str, parser: Callable[..., System]) -> None:
    """Register ``parser(spec, **options)`` for specs that start with ``prefix`` (before ``-`` or ``:``).

    ``options`` are command-line style settings (``first_stage``, ``depth``, ``device``, ...); a
    parser ignores those that do not apply to it.
    """
    _PARSERS[prefix] = parser


def _load_builtin() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from . import bm25  # noqa: F401  (registers "bm25")

        try:
            from . import neural  # noqa: F401  (registers dense / rerankers)
        except ImportError:  # pragma: no cover - module absent
            pass


def parse_system(spec: str, **options: Any) -> System:
    """``"bm25-flat"`` -> a System. Raises :class:`UnknownSystem` with the known prefixes."""
    _load_builtin()
    spec = spec.strip()
    options = {k: v for k, v in options.items() if v is not None}
    for sep in (":", "-"):
        prefix = spec.split(sep, 1)[0]
        if prefix in _PARSERS:
            return _PARSERS[prefix](spec, **options)
    raise UnknownSystem(f"unknown system {spec!r}; known prefixes: {', '.join(sorted(_PARSERS))}")


def known_prefixes() -> list[str]:
    _load_builtin()
    return sorted(_PARSERS)


def run_key(cache: Cache, dataset: BeirDataset, split: str, system: System):
    return cache.key(
        "run",
        dataset=dataset.name,
        dataset_sha256=dataset.fingerprint(),
        split=split,
        system=system.key_parts(),
        code_version=RUN_CODE_VERSION,
    )


def cached_run(cache: Cache, dataset: BeirDataset, split: str, system: System) -> Run | None:
    """The cached run if present and intact (nothing is built); ``None`` also when the key cannot be
    worked out here (e.g. a model revision that needs the hub while offline)."""
    from .errors import RetrievalError

    try:
        key = run_key(cache, dataset, split, system)
    except RetrievalError:
        return None
    entry = cache.lookup(key)
    return None if entry is None else _read_run(entry, system)


def get_run(
    dataset: BeirDataset, split: str, system: System | str, *, cache: Cache | None = None, progress: bool = True
) -> Run:
    """The run of ``system`` over the judged queries of ``split``, from the cache or built once."""
    system = parse_system(system) if isinstance(system, str) else system
    cache = cache or Cache()
    key = run_key(cache, dataset, split, system)

    def build(tmp: Path) -> dict[str, Any]:
        started = time.time()
        run = system.retrieve(dataset, dataset.split_queries(split), cache=cache, progress=progress)
        write_run_parquet(run, tmp / "run.parquet")
        return {"queries": len(run.qids), "rows": len(run), "seconds": round(time.time() - started, 3), "spec": system.spec}

    entry = cache.get_or_build(key, build, info={"dataset": dataset.name, "split": split, "spec": system.spec})
    return _read_run(entry, system)


def write_run_parquet(run: Run, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(run.frame[list(COLUMNS)], preserve_index=False)
    pq.write_table(table, path)


def read_run_parquet(path: Path, name: str = "") -> Run:
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    if list(frame.columns) != list(COLUMNS):
        raise ValueError(f"{path}: columns {list(frame.columns)} are not {list(COLUMNS)}")
    frame["qid"] = frame["qid"].astype(str)
    frame["docid"] = frame["docid"].astype(str)
    return Run(frame, name)


def _read_run(entry: Path, system: System) -> Run:
    run = read_run_parquet(entry / "run.parquet", system.spec)
    return Run(run.frame, system.spec, {"cache_entry": str(entry), "family": system.family})


@dataclass(frozen=True)
class CachedRunInfo:
    path: Path
    dataset: str
    split: str
    spec: str
    rows: int
    created: str


def list_cached_runs(cache: Cache) -> pd.DataFrame:
    """One row per cached run: dataset, split, system, rows, created, path."""
    rows = []
    for path, manifest in cache.entries("run"):
        parts = manifest.get("key", {}).get("parts", {})
        info = manifest.get("info", {})
        rows.append(
            {
                "dataset": parts.get("dataset"),
                "split": parts.get("split"),
                "system": info.get("spec") or str(parts.get("system")),
                "queries": info.get("queries"),
                "rows": info.get("rows"),
                "build_seconds": manifest.get("build_seconds"),
                "created": manifest.get("created"),
                "path": str(path),
            }
        )
    return pd.DataFrame(rows, columns=["dataset", "split", "system", "queries", "rows", "build_seconds", "created", "path"])
