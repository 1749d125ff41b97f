"""Judgements in and out as files: TREC qrels (``qid 0 docid grade``) and CSV.

**The header.** An exported qrels file starts with comment lines saying who, when and on which version of the
dataset::

    # retrieval judgements export
    # judge: ann
    # dataset: scifact
    # split: test
    # corpus_checksum: 5f1c...
    # exported_at: 2026-12-06T10:00:00Z

Our import reads them back (``corpus_checksum`` decides whether the judgements are current or stale). **Other
tools do not skip them**: ir_measures 0.4 and pytrec_eval 0.5 (and trec_eval) split every line into four fields
and raise on a comment (tested). No in-band form is safe either: header lines disguised as the qrels of a query
``#`` are read, but ir_measures' ``calc_aggregate`` then averages that query in as 0 (tested: P@1 1.0 became
0.667). So ``export --no-header`` (``header=False``) writes the bare file those tools read; the default keeps the
provenance.

Import accepts TREC qrels (4 columns; the second is ignored) and BEIR qrels (3 tab-separated columns, with or
without the ``query-id corpus-id score`` header); ``#`` lines are comments. A line that is not one of these, a
grade that is not an integer or not on the dataset's scale, or a pair listed twice raises
:class:`~retrieval.errors.DataFormatError` naming the file and line; nothing is imported then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataFormatError

HEADER_TITLE = "retrieval judgements export"
CSV_COLUMNS = (
    "dataset",
    "split",
    "qid",
    "docid",
    "judge",
    "grade",
    "label",
    "note",
    "judged_at",
    "source",
    "corpus_checksum",
    "stale",
)


@dataclass(frozen=True)
class ParsedQrels:
    """A qrels file read for import: ``rows`` (qid, docid, grade, line) in file order, and the header's ``meta``."""

    source: str
    rows: list[tuple[str, str, int, int]]
    meta: dict[str, str]


def header_lines(meta: Mapping[str, str]) -> list[str]:
    lines = [f"# {HEADER_TITLE}\n"]
    for key, value in meta.items():
        lines.append(f"# {key}: {' '.join(str(value).split())}\n")
    return lines


def format_trec(frame: pd.DataFrame, meta: Mapping[str, str] | None) -> str:
    """TREC qrels text: the header lines (none when ``meta`` is None), then ``qid 0 docid grade`` for each row of
    ``frame`` (``qid, docid, relevance``) in its order."""
    body = [f"{q} 0 {d} {int(r)}\n" for q, d, r in zip(frame["qid"], frame["docid"], frame["relevance"])]
    return "".join((header_lines(meta) if meta is not None else []) + body)


def format_csv(frame: pd.DataFrame) -> str:
    return frame[list(CSV_COLUMNS)].to_csv(index=False)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_qrels(path: str | Path, scale: tuple[int, ...], *, dataset: str = "the dataset") -> ParsedQrels:
    """Read a TREC or BEIR qrels file strictly (see the module doc); grades must lie on ``scale``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DataFormatError(path, None, f"cannot read it ({exc.strerror or exc})") from None
    rows: list[tuple[str, str, int, int]] = []
    meta: dict[str, str] = {}
    first: dict[tuple[str, str], int] = {}
    data_lines = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, colon, value = line[1:].partition(":")
            if colon and key.strip() and " " not in key.strip():
                meta[key.strip()] = value.strip()
            continue  # a header line, or a comment
        parts = raw.split("\t") if raw.count("\t") == 2 else line.split()
        parts = [p.strip() for p in parts]
        data_lines += 1
        if len(parts) == 4:
            qid, _, docid, grade_text = parts
        elif len(parts) == 3:
            qid, docid, grade_text = parts
            if data_lines == 1 and _int(grade_text) is None:
                continue  # BEIR's header: query-id corpus-id score
        else:
            raise DataFormatError(
                path,
                lineno,
                f"expected 'qid 0 docid grade' (TREC) or 'qid<TAB>docid<TAB>grade' (BEIR), found {len(parts)} fields",
            )
        grade = _int(grade_text)
        if grade is None:
            raise DataFormatError(path, lineno, f"grade {grade_text!r} is not an integer")
        if grade not in scale:
            raise DataFormatError(path, lineno, f"grade {grade} is outside {dataset}'s scale {'/'.join(map(str, scale))}")
        if not qid or not docid:
            raise DataFormatError(path, lineno, "empty query or document id")
        key = (qid, docid)
        if key in first:
            raise DataFormatError(path, lineno, f"query {qid} document {docid} judged again (first on line {first[key]})")
        first[key] = lineno
        rows.append((qid, docid, grade, lineno))
    if not rows:
        raise DataFormatError(path, None, "no judgements in the file")
    return ParsedQrels(str(path), rows, meta)
