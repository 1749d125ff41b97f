"""What the app offers to compare and what it shows first: domain policy, no Streamlit.

A *choice* is a system spec (``bm25-flat``, ``dense:all-MiniLM-L6-v2``, ``monot5:base``, ...) or a
run file the user uploaded. An upload is a :class:`~retrieval.run.Run` (named after its file) kept
for the session under a key, ``upload:<name>``, which is what URLs and widgets carry; its family is
``external``. Only :func:`upload_key` and :func:`uploaded_name` know how that key is spelt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

# unknown_ids and its message live in retrieval.evaluate (the command line's eval uses them too); the pages read them here
from retrieval.evaluate import unknown_ids, unknown_ids_message  # noqa: F401
from retrieval.run import Run

BM25_SPECS = ("bm25-flat", "bm25-multifield")
EXTERNAL = "external"
_UPLOAD = "upload:"


# ---- uploads --------------------------------------------------------------------------------
def upload_key(name: str) -> str:
    """The key an uploaded run named ``name`` goes by in URLs and widgets."""
    return _UPLOAD + name


def uploaded_name(key: str) -> str | None:
    """The run name inside an upload key (e.g. from a URL of an earlier session); None for a system spec."""
    return key[len(_UPLOAD) :] if key.startswith(_UPLOAD) else None


def read_upload(filename: str, data: bytes) -> Run:
    """An uploaded TREC run file as a Run named after the file; bad input raises DataFormatError
    naming the file, the line and the column (bytes that are not UTF-8: their offset in the file too)."""
    return Run.from_trec_bytes(data, source=filename, name=Path(filename).stem or "run")


UPLOAD_MAX_MB = 50  # a SciFact BM25 run at depth 1,000 is ~15 MB as TREC text


def upload_too_large(filename: str, size: int, max_mb: float | None = None) -> str | None:
    """Why an upload of ``size`` bytes is refused (None when it is within the limit, default :data:`UPLOAD_MAX_MB`)."""
    max_mb = UPLOAD_MAX_MB if max_mb is None else max_mb
    if size > max_mb * 1024 * 1024:
        return f"{filename} is {size / 1024 / 1024:.1f} MB; uploads are limited to {max_mb:g} MB (a 1,000-deep run of a BEIR split is well under that)"
    return None


class Uploads(Mapping[str, Run]):
    """One session's uploaded runs, by key (see the module docstring); a later upload of the same
    name replaces the earlier one."""

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}

    def add(self, run: Run) -> str:
        key = upload_key(run.name)
        self._runs[key] = run
        return key

    def __getitem__(self, key: str) -> Run:
        return self._runs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)


# ---- the model registry ----------------------------------------------------------------------
def registry_specs() -> list[str]:
    """Every neural system spec in the model registry (``retrieval/data/models.csv``), in its order."""
    from retrieval.neural.registry import models

    return [m.spec for m in models()]


# ---- policy ---------------------------------------------------------------------------------
def system_options(cached_runs: pd.DataFrame | None = None, dataset: str | None = None, uploads: Iterable[str] = ()) -> list[str]:
    """Every choice worth offering, once each: BM25, the registry's models, systems with cached runs
    (on ``dataset`` if given; ``cached_runs`` has ``dataset`` and ``system`` columns) and uploads."""
    specs = [*BM25_SPECS, *registry_specs()]
    if cached_runs is not None and not cached_runs.empty:
        rows = cached_runs if dataset is None else cached_runs[cached_runs["dataset"] == dataset]
        specs += [str(s) for s in rows["system"].dropna()]
    specs += list(uploads)
    return list(dict.fromkeys(specs))


def fusion_options(cached: Iterable[str], retriever: Callable[[str], bool]) -> list[str]:
    """Hybrids worth offering: reciprocal-rank fusion of BM25 flat with each neural first-stage retriever that has a
    cached run here (``retriever`` says which specs are one), so fusing costs seconds."""
    from retrieval.fusion import join_fusion_spec

    return [join_fusion_spec("rrf", ["bm25-flat", spec], {}) for spec in dict.fromkeys(cached) if retriever(spec)]


def default_systems(options: Iterable[str], system: Callable[[str], Any], measured: Callable[[str], float | None]) -> list[str]:
    """BM25 flat; the best neural first-stage retriever here (best ``measured`` nDCG@10 on this split, else the
    largest); the first monoT5 reranker. ``system`` gives a spec's :class:`~retrieval.system.System` when it can run
    here (else ``None``); what each one is comes from the system (its inputs, parameters, model series), never from
    its spec's spelling."""
    from retrieval.series import series_of_spec

    found = [(spec, system(spec)) for spec in options]
    chosen = ["bm25-flat"]
    retrievers = [(s, sys_) for s, sys_ in found if sys_ is not None and not sys_.inputs and sys_.parameters is not None]
    if retrievers:

        def score(item: tuple[str, Any]) -> tuple[float, float]:
            value = measured(item[0])
            return (-1.0 if value is None else value), (item[1].parameters or 0.0)

        chosen.append(max(retrievers, key=score)[0])
    monot5 = [s for s, sys_ in found if sys_ is not None and sys_.first_stage is not None and series_of_spec(s)[0] == "monoT5"]
    if monot5:
        chosen.append(monot5[0])
    return chosen


def resolve_systems(wanted: Iterable[str], options: Iterable[str], limit: int) -> tuple[list[str], list[str], list[str]]:
    """``(chosen, options, gone)`` for a wanted list (e.g. from the URL).

    Specs not on offer are offered anyway (their column says why they are unavailable), except
    upload keys, which are on offer only while their upload is in the session: those are ``gone``
    (their run names). At most ``limit`` are chosen.
    """
    wanted, options = list(wanted), list(options)
    gone = []
    for key in wanted:
        if key in options:
            continue
        name = uploaded_name(key)
        if name is None:
            options.append(key)
        else:
            gone.append(name)
    chosen = [s for s in wanted if s in options][:limit]
    return chosen, options, gone


def resolve_query(requested: str | None, queries: Mapping[str, str], judged: list[str]) -> tuple[str, list[str], str | None]:
    """``(qid, options, problem)``: the query to show for a requested id, the ids to offer, and
    ``"unknown"`` (not a query of the dataset: the first judged one is shown), ``"unjudged"`` (shown,
    offered first) or None."""
    if requested and requested not in queries:
        return judged[0], judged, "unknown"
    if not requested:
        return judged[0], judged, None
    if requested not in set(judged):
        return requested, [requested, *judged], "unjudged"
    return requested, judged, None


def with_runs(wanted: Iterable[str], ready: Iterable[str], at_least: int = 2) -> list[str]:
    """The wanted choices that have runs (``ready``), topped up from ``ready`` to ``at_least``."""
    ready = list(ready)
    chosen = [s for s in wanted if s in ready]
    if len(chosen) < at_least:
        chosen = (chosen + [s for s in ready if s not in chosen])[:at_least]
    return chosen
