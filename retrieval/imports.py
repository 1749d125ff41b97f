"""Runs computed elsewhere, kept: a TREC run file imported as the run of a named system on a dataset split.

A monoT5-3B run made on a cluster fills that system's column and its rung of the size ladder here, is evaluated like
any run and survives restarts. It lives in the cache (kind ``imported-run``) keyed by the dataset's checksum, the
split and the system's canonical spec (not by its model revision or dtype: those are what the file cannot tell),
with its provenance: the file's name and sha256, who imported it, when, and a note.

* Importing the same file again changes nothing; another file for the same system and split is refused unless
  the caller says to replace it (the command line's ``--replace``, the app's confirmation).
* A run built here wins over an imported one (it is reproducible from its command); the imported one fills in where
  there is none (:func:`available_run`).
* Bad lines raise :class:`~retrieval.errors.DataFormatError` with file and line; query and document ids the dataset
  lacks are counted and named (they count as retrieving nothing relevant).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .beir import BeirDataset
from .cache import Cache
from .errors import RetrievalError, not_utf8
from .evaluate import unknown_ids
from .run import Run

KIND = "imported-run"
IMPORT_CODE_VERSION = 1
RUN_FILE = "run.parquet"


@dataclass(frozen=True)
class Provenance:
    """Where an imported run came from."""

    file: str
    sha256: str
    who: str
    when: str  # UTC, ISO 8601
    note: str
    queries: int
    rows: int

    def describe(self) -> str:
        """``"imported from run.trec (sha256 1a2b3c4d…) by ann on 2026-12-06 · computed on our cluster"``."""
        text = f"imported from {self.file} (sha256 {self.sha256[:8]}…) by {self.who or 'someone'} on {self.when[:10]}"
        return text + (f" · {self.note}" if self.note else "")


@dataclass(frozen=True)
class ImportResult:
    status: str  # "imported", "unchanged" (the same file again) or "replaced"
    provenance: Provenance
    unknown: dict[str, tuple[int, list[str]]]  # "queries"/"documents": (count, first few)


class ImportConflict(RetrievalError):
    """Another file is already imported for this system and split; ``current`` says which."""

    def __init__(self, message: str, current: Provenance) -> None:
        super().__init__(message)
        self.current = current


def import_key(cache: Cache, dataset: BeirDataset, split: str, spec: str):
    return cache.key(
        KIND,
        dataset=dataset.name,
        dataset_sha256=dataset.fingerprint(),
        split=split,
        system=spec,
        code_version=IMPORT_CODE_VERSION,
    )


def _provenance(manifest: dict[str, Any]) -> Provenance:
    info = manifest.get("info", {})
    return Provenance(**{k: info.get(k, "" if k not in ("queries", "rows") else 0) for k in Provenance.__dataclass_fields__})


def find(cache: Cache, dataset: BeirDataset, split: str, spec: str) -> tuple[Run, Provenance] | None:
    """The run imported for ``spec`` on ``dataset``/``split`` and its provenance; None when there is none."""
    entry = cache.lookup(import_key(cache, dataset, split, spec))
    if entry is None:
        return None
    from .runner import read_run_parquet

    provenance = _provenance(cache.manifest(entry))
    run = read_run_parquet(entry / RUN_FILE, spec)
    return Run(run.frame, spec, {"cache_entry": str(entry), "imported": provenance.describe(), "family": "imported"}), provenance


def available_run(cache: Cache, dataset: BeirDataset, split: str, system: Any) -> Run | None:
    """The run to show for ``system``: the one built here (cached), else one imported for it (its metadata says
    where it came from), else ``None``. Nothing is built."""
    from .runner import cached_run

    run = cached_run(cache, dataset, split, system)
    if run is not None:
        return run
    found = find(cache, dataset, split, system.spec)
    return None if found is None else found[0]


def import_run(
    dataset: BeirDataset,
    split: str,
    spec: str,
    data: bytes,
    filename: str,
    *,
    who: str = "",
    note: str = "",
    cache: Cache | None = None,
    replace: bool = False,
) -> ImportResult:
    """Keep the TREC run ``data`` (the bytes of ``filename``) as ``spec``'s run on ``dataset``/``split``.

    ``spec`` is a system spec (checked: :func:`retrieval.systems.parse_system`; its canonical form is the key).
    Raises :class:`DataFormatError` for a bad line (nothing is kept) and :class:`ImportConflict` when another file
    is imported for the same system and split and ``replace`` is false."""
    from .runner import write_run_parquet
    from .systems import parse_system

    cache = cache or Cache()
    spec = parse_system(spec).spec
    if split not in dataset.splits:
        raise RetrievalError(f"{dataset.name} has no split {split!r} (it has {', '.join(dataset.splits)})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_utf8(filename, data, exc) from None
    run = Run.parse_trec(text, source=filename, name=spec)
    digest = hashlib.sha256(data).hexdigest()
    key = import_key(cache, dataset, split, spec)
    status = "imported"
    existing = cache.lookup(key)
    if existing is not None:
        current = _provenance(cache.manifest(existing))
        if current.sha256 == digest:
            return ImportResult("unchanged", current, unknown_ids(run, dataset.queries, dataset.corpus))
        if not replace:
            raise ImportConflict(
                f"{spec} on {dataset.name} ({split}) already has an imported run: {current.describe()}; "
                "import again with replace to put this file in its place",
                current,
            )
        cache.discard(existing)
        status = "replaced"
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = {
        "file": filename,
        "sha256": digest,
        "who": who,
        "when": when,
        "note": note,
        "queries": len(run.qids),
        "rows": len(run),
        "spec": spec,
        "dataset": dataset.name,
        "split": split,
    }
    cache.get_or_build(key, lambda tmp: write_run_parquet(run, tmp / RUN_FILE), info=info)
    found = find(cache, dataset, split, spec)
    assert found is not None
    return ImportResult(status, found[1], unknown_ids(run, dataset.queries, dataset.corpus))


def list_imports(cache: Cache) -> pd.DataFrame:
    """One row per imported run: ``dataset, split, system, file, sha256, who, when, note, queries, rows, path``."""
    rows = []
    for path, manifest in cache.entries(KIND):
        info = manifest.get("info", {})
        rows.append(
            {k: info.get(k) for k in ("dataset", "split", "spec", "file", "sha256", "who", "when", "note", "queries", "rows")}
            | {"path": str(path)}
        )
    columns = ["dataset", "split", "spec", "file", "sha256", "who", "when", "note", "queries", "rows", "path"]
    return pd.DataFrame(rows, columns=columns).rename(columns={"spec": "system"})
