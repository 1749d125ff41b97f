"""The BEIR file formats, read strictly: a document record and line readers that name file and line.

The readers tolerate a UTF-8 BOM, CRLF line endings and blank lines; anything else that is off (bad
JSON, a missing field, a duplicate id, an empty file, bytes that are not UTF-8) raises
:class:`~retrieval.errors.DataFormatError` naming the file, the line and the column (and, for bytes that are not
UTF-8, their offset in the file).
Both :mod:`retrieval.beir` (the dataset) and :mod:`retrieval.docstore` (the corpus on disk) read through them.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import DataFormatError, not_utf8


@dataclass(frozen=True)
class Document:
    docid: str
    title: str
    text: str


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without line ending) for non-blank lines; BOM and CRLF tolerated.

    Lines end at ``\\n`` only (as ``wc -l`` and editors count them), and each is decoded on its own, so bytes that
    are not UTF-8 are reported with their line, column and offset in the file."""
    if not path.is_file():
        raise DataFormatError(path, None, "file not found")
    offset = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            start = offset
            offset += len(raw)
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw, start = raw[len(codecs.BOM_UTF8) :], start + len(codecs.BOM_UTF8)
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise not_utf8(path, raw, exc, line=lineno, offset=start) from None
            if line.strip():
                yield lineno, line


def key_column(line: str, field: str) -> int:
    """The 1-based column of ``"field":`` in a JSON line (1 when it is not found as a key)."""
    m = re.search(r'"' + re.escape(field) + r'"\s*:', line)
    return m.start() + 1 if m else 1


def _json_records(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict, str]]:
    """(line number, object, line text) of each record, strictly (errors name file, line and column)."""
    for lineno, line in _lines(path):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, lineno, f"invalid JSON ({exc.msg})", column=exc.colno) from None
        if not isinstance(obj, dict):
            raise DataFormatError(path, lineno, "expected a JSON object", column=len(line) - len(line.lstrip()) + 1)
        for field in required:
            if field not in obj or obj[field] is None:
                where = key_column(line, field) if field in obj else 1
                raise DataFormatError(path, lineno, f"missing field {field!r}", column=where)
        yield lineno, obj, line


def _as_id(value: object, path: Path, lineno: int, line: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataFormatError(path, lineno, f"'_id' must be a string, got {type(value).__name__}", column=key_column(line, "_id"))
    text = str(value)
    if not text or any(c.isspace() for c in text):
        raise DataFormatError(path, lineno, f"'_id' {text!r} is empty or contains whitespace", column=key_column(line, "_id"))
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
    for lineno, obj, line in lines:
        docid = _as_id(obj["_id"], path, lineno, line)
        if docid in first_line:
            raise DataFormatError(
                path,
                lineno,
                f"duplicate document id {docid!r} (first on line {first_line[docid]})",
                column=key_column(line, "_id"),
            )
        title = obj.get("title") or ""
        for field, value in (("title", title), ("text", obj["text"])):
            if not isinstance(value, str):
                raise DataFormatError(
                    path, lineno, f"'{field}' must be a string, got {type(value).__name__}", column=key_column(line, field)
                )
        first_line[docid] = lineno
        yield Document(docid, title, obj["text"])
    if not first_line:
        raise DataFormatError(path, None, "the corpus is empty")
