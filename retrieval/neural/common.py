"""Small shared pieces: document text, query hashing, spec options, option checking."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping
from urllib.parse import parse_qsl, quote

from ..beir import Document
from ..errors import UnknownSystem

MAX_DEPTH = 1000


def doc_text(doc: Document) -> str:
    """``title + " " + text``, stripped: the text BEIR's dense and reranking code feed to models."""
    return f"{doc.title} {doc.text}".strip()


def query_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"monot5:base?depth=1000&first_stage=bm25-multifield"`` -> ``("monot5:base", {...})``."""
    base, _, query = spec.strip().partition("?")
    return base, dict(parse_qsl(query, keep_blank_values=True)) if query else {}


def join_spec(base: str, options: Mapping[str, Any]) -> str:
    """Inverse of :func:`split_spec` for the options that differ from the defaults (sorted by name)."""
    if not options:
        return base
    return base + "?" + "&".join(f"{k}={quote(str(v), safe=':/-._@')}" for k, v in sorted(options.items()))


def merge_options(spec_options: Mapping[str, str], options: Mapping[str, Any], spec: str) -> dict[str, Any]:
    """Options from the spec and from keywords; the same option given differently in both is an error."""
    merged: dict[str, Any] = dict(spec_options)
    for k, v in options.items():
        if v is None:
            continue
        if k in spec_options and str(spec_options[k]) != str(v):
            raise UnknownSystem(f"{spec}: option {k} is {spec_options[k]!r} in the spec but {v!r} was also given")
        merged[k] = v
    return merged


def int_option(options: Mapping[str, Any], name: str, default: int, lo: int, hi: int, spec: str) -> int:
    value = options.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UnknownSystem(f"{spec}: {name} must be a whole number, not {value!r}") from None
    if not lo <= number <= hi:
        raise UnknownSystem(f"{spec}: {name} must be between {lo} and {hi}, not {number}")
    return number
