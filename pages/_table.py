"""Failure cases' tables: plain HTML drawn by a small script in the page, a row opening its query in Compare.

``st.dataframe`` with ``on_select`` held a picked row for 150 ms in the browser (a debounce in Streamlit's grid)
before it sent anything, and its canvas grid was the heaviest element to draw and to take down when the page
changed: a row click to Compare's rankings painted took 0.54 s in Chromium here. This element is one
``st.components.v2`` element per table (no iframe). A table of queries is a table of links: its id cell is an
``<a href>`` to Compare's URL for that query (open it in a new tab, copy it), and a click on the row, or Enter on
a focused row, goes there in the page the way the browser's Back and Forward do (``history.pushState``, then the
``popstate`` event Streamlit's own navigation follows): one run, of Compare, with the URL's parameters. Sent back
to Python as a trigger value, the pick cost a run of this page first, then the switch (about 0.4 s).

Numbers are formatted in Python (the same text every time), right-aligned and never off screen: the long text
columns shrink and ellipsise (their whole text in the cell's tooltip). A header click sorts by that column
(numbers as numbers, empty last); "CSV" saves every row with the unformatted values. Cell text is set with
``textContent``, never as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from pages import _element
from view import asset

MAX_ROWS = 500  # drawn (the first in the current order); sorting and the CSV use every row

TABLE_CSS = asset.read("table.css")

TABLE_JS = asset.read("table.js")

_TABLE = _element.component("rk_table", TABLE_JS, {"rk-t-style": TABLE_CSS})


@dataclass(frozen=True)
class Column:
    """How a column shows: its header, a printf-style format for numbers (``"%.3f"``), a tooltip, and whether it
    is long text that gives way (ellipsised) so the numbers stay in view."""

    label: str | None = None
    fmt: str | None = None
    help: str = ""
    wide: bool = False


def table_data(
    frame: pd.DataFrame,
    key: str,
    columns: Mapping[str, Column] | None = None,
    pick: str | None = None,
    rows: int = 12,
    link: str = "",
) -> dict:
    """The element's data: per column its name, header, tooltip and kind; per row (every row: sorting and the CSV
    use them all, the page draws the first ``shown``) its cells as shown and their raw values (numbers, or None
    where empty); the index of the ``pick`` column (-1: rows are not links) and the ``link`` its values complete
    (``./?dataset=...&qid=``, relative to the page's URL: ``pages/_nav.link``)."""
    columns = columns or {}
    cols, texts, raws = [], [], []
    for name in frame.columns:
        spec = columns.get(name, Column())
        values = frame[name].tolist()
        # a wide column is text even where pandas made it numbers (an empty table's column of no queries is float64)
        num = not spec.wide and pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
        cols.append({"name": str(name), "label": spec.label or str(name), "help": spec.help, "num": num, "wide": spec.wide})
        raw = [_raw(v, num) for v in values]
        raws.append(raw)
        texts.append([_cell(v, spec.fmt) for v in raw])
    data = {
        "cols": cols,
        "cells": [list(r) for r in zip(*texts)] if cols else [],
        "raw": [list(r) for r in zip(*raws)] if cols else [],
        "pick": list(frame.columns).index(pick) if pick is not None else -1,
        "link": link,
        "file": f"{key}.csv",
        "shown": MAX_ROWS,
        "height": f"calc({rows} * 1.95rem + 2.2rem)",
        "note": f"{len(frame):,} rows"
        if len(frame) <= MAX_ROWS
        else f"{len(frame):,} rows, the first {MAX_ROWS:,} in this order shown (sort for others; CSV has all)",
    }
    data["sig"] = _element.signature(data)
    return data


def show(
    frame: pd.DataFrame,
    key: str,
    columns: Mapping[str, Column] | None = None,
    link: str | None = None,
    pick: str = "qid",
    rows: int = 12,
) -> None:
    """Mount the table; with ``link``, each row links to ``link`` + its ``pick`` value (URL-encoded)."""
    _TABLE(data=table_data(frame, key, columns, pick if link is not None else None, rows, link or ""), key=key)


def _raw(value, num: bool):
    """A JSON value: numbers stay numbers (NaN and missing become None), anything else its text."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if num:
        return value if isinstance(value, int) else float(value)
    return str(value)


def _cell(value, fmt: str | None) -> str:
    if value is None:
        return "—"
    if fmt is not None and isinstance(value, (int, float)):
        return fmt % value
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
