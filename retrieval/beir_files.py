"""The BEIR file formats, read strictly: a document record and line readers that name file and line.

The readers tolerate a UTF-8 BOM, CRLF line endings and blank lines; anything else that is off (bad
JSON, a missing field, a duplicate id, an empty file) raises :class:`~retrieval.errors.DataFormatError`.
Both :mod:`retrieval.beir` (the dataset) and :mod:`retrieval.docstore` (the corpus on disk) read through them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import DataFormatError


@dataclass(frozen=True)
class Document:
    docid: str
    title: str
    text: str


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without line ending) for non-blank lines; BOM and CRLF tolerated."""
    if not path.is_file():
        raise DataFormatError(path, None, "file not found")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield lineno, line


def _json_records(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    try:
        for lineno, line in _lines(path):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, lineno, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise DataFormatError(path, lineno, "expected a JSON object")
            for field in required:
                if field not in obj or obj[field] is None:
                    raise DataFormatError(path, lineno, f"missing field {field!r}")
            yield lineno, obj
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _as_id(value: object, path: Path, lineno: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataFormatError(path, lineno, f"'_id' must be a string, got {type(value).__name__}")
    text = str(value)
    if not text or any(c.isspace() for c in text):
        raise DataFormatError(path, lineno, f"'_id' {text!r} is empty or contains whitespace")
    return text


def iter_corpus(path: str | Path, *, progress: bool = False) -> Iterator[Document]:
    """The documents of a BEIR corpus.jsonl in file order, validated as :func:`load_corpus` does
    (duplicate ids included), without holding their texts."""
    path = Path(path)
    first_line: dict[str, int] = {}
    lines = _json_records(path, ("_id", "text"))
    if progress:
        from tqdm.auto import tqdm

        lines = tqdm(lines, desc="read corpus", unit="doc", file=sys.stderr)
    for lineno, obj in lines:
        docid = _as_id(obj["_id"], path, lineno)
        if docid in first_line:
            raise DataFormatError(path, lineno, f"duplicate document id {docid!r} (first on line {first_line[docid]})")
        title = obj.get("title") or ""
        if not isinstance(title, str) or not isinstance(obj["text"], str):
            raise DataFormatError(path, lineno, "'title' and 'text' must be strings")
        first_line[docid] = lineno
        yield Document(docid, title, obj["text"])
    if not first_line:
        raise DataFormatError(path, None, "the corpus is empty")
