"""Running systems: the cached ``get_run`` every caller goes through, and one typed query (``live_search``).

:func:`get_run` caches a system's run on a dataset split, keyed by the dataset's checksum, the split,
everything :meth:`System.key_parts` reports (model id and revision, parameters, first stage) and
:data:`RUN_CODE_VERSION`. The runs a system needs (``System.inputs``: a reranker's first stage, a fusion's systems) are made
here (from the cache for a split) and handed to it, so no system looks for its own split or calls back into this
module.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .beir import BeirDataset
from .cache import Cache
from .errors import RetrievalError
from .run import COLUMNS, Run
from .system import System
from .systems import parse_system

RUN_FILE = "run.parquet"  # the run in a cached run entry

RUN_CODE_VERSION = 1
# A cached run's file is checked against its xxh3 on every read: ~0.2 ms for SciFact's 1.8 MB parquet, 1-2% of
# reading it (bench/read_check.py), so a flipped byte is never served, in any process.
RUN_CHECK = "read"


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
    try:
        key = run_key(cache, dataset, split, system)
    except RetrievalError:
        return None
    entry = cache.lookup(key, check=RUN_CHECK)
    return None if entry is None else _read_run(entry, system)


def get_run(dataset: BeirDataset, split: str, system: System | str, *, cache: Cache | None = None, progress: bool = True) -> Run:
    """The run of ``system`` over the judged queries of ``split``, from the cache or built once."""
    system = parse_system(system) if isinstance(system, str) else system
    cache = cache or Cache()
    key = run_key(cache, dataset, split, system)

    def build(tmp: Path) -> dict[str, Any]:
        started = time.time()
        run = _produce(system, dataset, dataset.split_queries(split), split, cache, progress)
        write_run_parquet(run, tmp / RUN_FILE)
        return {"queries": len(run.qids), "rows": len(run), "seconds": round(time.time() - started, 3), "spec": system.spec}

    entry = cache.get_or_build(key, build, info={"dataset": dataset.name, "split": split, "spec": system.spec}, check=RUN_CHECK)
    return _read_run(entry, system)


def _produce(
    system: System, dataset: BeirDataset, queries: Mapping[str, str], split: str | None, cache: Cache, progress: bool
) -> Run:
    """Run ``system`` on ``queries``; a system with inputs (a reranker's first stage, a fusion's systems) first gets
    their runs (cached when ``split`` is given)."""
    if not system.inputs:
        return system.retrieve(dataset, queries, cache=cache, progress=progress)
    if split is not None:
        wanted = set(queries)
        runs = [get_run(dataset, split, s, cache=cache, progress=progress).restrict(wanted) for s in system.inputs]
    else:
        runs = [_produce(s, dataset, queries, None, cache, progress) for s in system.inputs]
    return system.retrieve(dataset, queries, cache=cache, progress=progress, input_runs=runs)


def cached_or_quick_run(dataset: BeirDataset, split: str, system: System, cache: Cache) -> Run | None:
    """The cached run of ``system``; built here when it builds in seconds (BM25, a fusion of cached or quick
    runs: :meth:`System.builds_quickly`); else ``None`` (a neural run can take hours)."""
    run = cached_run(cache, dataset, split, system)
    if run is None and system.builds_quickly(lambda s: cached_run(cache, dataset, split, s) is not None):
        run = get_run(dataset, split, system, cache=cache, progress=False)
    return run


LIVE_QID = "live"


def live_search(
    dataset: BeirDataset,
    system: System | str,
    query_text: str,
    k: int = 100,
    *,
    cache: Cache | None = None,
    progress: bool = False,
    **options: Any,
) -> Run:
    """The top ``k`` of ``system`` for one typed query, as a Run whose only qid is ``"live"``.

    Dense systems reuse the cached corpus embeddings and encode only the query; rerankers run their
    first stage for the query and score only (query, document) pairs not in the score cache.

    Example:
        >>> run = live_search(dataset, "dense:all-MiniLM-L6-v2", "vitamin D and bone density", k=10)  # doctest: +SKIP
        >>> run.for_query("live")[["rank", "docid", "score"]]  # doctest: +SKIP
    """
    text = " ".join(str(query_text).split())
    if not text:
        raise RetrievalError("the query is empty")
    system = parse_system(system, **options) if isinstance(system, str) else system
    k = int(k)
    if system.first_stage is None and "k" in inspect.signature(system.retrieve).parameters:
        # A system that can stop at k hits (BM25) is not asked for its full depth (1,000) and cut after.
        run = system.retrieve(dataset, {LIVE_QID: text}, cache=cache or Cache(), progress=progress, k=k)
    else:
        run = _produce(system, dataset, {LIVE_QID: text}, None, cache or Cache(), progress)
    return run if run.depth() <= k else run.truncate(k)


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
    run = read_run_parquet(entry / RUN_FILE, system.spec)
    return Run(run.frame, system.spec, {"cache_entry": str(entry), "family": system.family})


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


def estimate_build_seconds(
    history: pd.DataFrame, spec: str, corpus_docs: int, docs_by_dataset: Mapping[str, int]
) -> float | None:
    """A coarse ETA for building ``spec``'s run on a corpus of ``corpus_docs`` documents.

    ``history`` is :func:`retrieval.runner.list_cached_runs`; earlier builds of the same system
    are scaled linearly by corpus size (the median of their per-document rates). ``None`` when
    this system was never built here.
    """
    if history is None or history.empty:
        return None
    rows = history[(history["system"] == spec) & history["build_seconds"].notna()]
    rates = []
    for ds, secs in zip(rows["dataset"], rows["build_seconds"]):
        docs = docs_by_dataset.get(ds)
        if docs:
            rates.append(float(secs) / docs)
    if not rates:
        return None
    return float(np.median(rates)) * corpus_docs
