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

MAX_ROWS = 500  # drawn (the first in the current order); sorting and the CSV use every row

TABLE_CSS = """
.rk-tw{overflow:auto;border:1px solid rgba(49,51,63,.15);border-radius:.5rem}
.rk-tbl{width:100%;border-collapse:collapse;font-size:.8rem;line-height:1.3}
.rk-tbl th,.rk-tbl td{padding:.3rem .5rem;text-align:left;white-space:nowrap;border-bottom:1px solid rgba(49,51,63,.08)}
.rk-tbl th{position:sticky;top:0;background:#f8f9fb;z-index:1;font-weight:600;color:rgba(49,51,63,.8)}
.rk-tbl th button{all:unset;cursor:pointer}
.rk-tbl th button:focus-visible{outline:2px solid #ff4b4b}
.rk-tbl th[aria-sort=ascending] button::after{content:" ▲";font-size:.65rem}
.rk-tbl th[aria-sort=descending] button::after{content:" ▼";font-size:.65rem}
.rk-tbl .rk-num{text-align:right;font-variant-numeric:tabular-nums}
.rk-tbl .rk-wide{max-width:0;overflow:hidden;text-overflow:ellipsis}
.rk-tbl tbody tr:nth-child(even){background:rgba(49,51,63,.025)}
.rk-pick tbody tr{cursor:pointer}
.rk-pick tbody tr:hover,.rk-pick tbody tr:focus-visible{background:#fff1e6;outline:none}
.rk-pick tbody tr.rk-picked{background:#ffe3cc}
.rk-pick tbody a{color:inherit}
.rk-tfoot{display:flex;justify-content:space-between;gap:1rem;font-size:.75rem;color:rgba(49,51,63,.6);margin:.25rem 0}
.rk-tfoot button{all:unset;cursor:pointer;color:#1a56b0}
.rk-tfoot button:hover{text-decoration:underline}
"""

TABLE_JS = r"""
function csvCell(v) {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function download(d) {
  const lines = [d.cols.map(c => csvCell(c.name)).join(",")].concat(d.raw.map(r => r.map(csvCell).join(",")));
  const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv"}));
  const a = document.createElement("a");
  a.href = url; a.download = d.file;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function order(d, by, dir) {  // row indexes sorted by column `by` (stable; empty values last either way)
  const idx = d.cells.map((_, i) => i);
  if (by < 0) return idx;
  const num = d.cols[by].num;
  return idx.sort((i, j) => {
    const a = d.raw[i][by], b = d.raw[j][by];
    if (a === null || b === null) return a === null ? (b === null ? i - j : 1) : -1;
    const c = num ? a - b : String(a).localeCompare(String(b), undefined, {numeric: true});
    return c ? dir * c : i - j;
  });
}

function build(root) {
  const d = root.__data, wrap = document.createElement("div"), table = document.createElement("table");
  wrap.className = "rk-tw";
  wrap.style.maxHeight = d.height;
  table.className = "rk-tbl" + (d.pick >= 0 ? " rk-pick" : "");
  const head = table.createTHead().insertRow();
  d.cols.forEach((c, n) => {
    const th = document.createElement("th"), b = document.createElement("button");
    th.scope = "col";
    if (c.num) th.className = "rk-num";
    if (root.__by === n) th.setAttribute("aria-sort", root.__dir > 0 ? "ascending" : "descending");
    b.type = "button"; b.textContent = c.label; b.dataset.col = n;
    b.title = (c.help ? c.help + " · " : "") + "sort";
    th.appendChild(b); head.appendChild(th);
  });
  const body = table.createTBody(), wide = d.cols.filter(c => c.wide).length;
  for (const i of order(d, root.__by, root.__dir).slice(0, d.shown)) {
    const tr = body.insertRow();
    tr.dataset.i = i;
    if (d.pick >= 0) { tr.tabIndex = 0; tr.title = "Open " + d.raw[i][d.pick] + " in Compare (Ctrl+click: a new tab)"; }
    d.cells[i].forEach((text, n) => {
      const td = tr.insertCell(), c = d.cols[n];
      if (n === d.pick) {
        const a = document.createElement("a");
        a.href = href(d, i); a.tabIndex = -1; a.textContent = text;
        td.appendChild(a);
      } else td.textContent = text;
      if (c.num) td.className = "rk-num";
      else if (c.wide) { td.className = "rk-wide"; td.style.width = (100 / wide) + "%"; td.title = text; }
    });
  }
  wrap.appendChild(table);
  const foot = document.createElement("div"), note = document.createElement("span"), csv = document.createElement("button");
  foot.className = "rk-tfoot";
  note.textContent = d.note;
  csv.type = "button"; csv.className = "rk-csv"; csv.textContent = "CSV"; csv.title = "Save every row as CSV (unformatted values)";
  foot.append(note, csv);
  root.replaceChildren(wrap, foot);
}

function href(d, i) {  // the row's query in Compare: the table's link with the query's id at its end
  return new URL(d.link + encodeURIComponent(d.raw[i][d.pick]), document.location.href).href;
}

function pick(root, tr, e) {
  const url = href(root.__data, +tr.dataset.i);
  if (e.ctrlKey || e.metaKey || e.shiftKey || e.button === 1) {  // a new tab or window: the link's own way
    if (!e.target.closest("a")) window.open(url, "_blank", "noopener");
    return;
  }
  e.preventDefault();
  for (const r of root.querySelectorAll("tr.rk-picked")) r.classList.remove("rk-picked");
  tr.classList.add("rk-picked");
  history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate", {state: null}));
}

export default function ({ data, parentElement: root }) {
  __STYLE__;
  if (root.__sig !== data.sig) {
    if (!root.__data || root.__data.cols.length !== data.cols.length) { root.__by = -1; root.__dir = 1; }
    root.__data = data; root.__sig = data.sig;
    build(root);
  }
  if (root.__wired) return;
  root.__wired = true;
  root.addEventListener("click", e => {
    const b = e.target.closest("th button, button.rk-csv");
    if (b && b.dataset.col !== undefined) {
      const n = +b.dataset.col;
      root.__dir = root.__by === n ? -root.__dir : (root.__data.cols[n].num ? -1 : 1);  // numbers: largest first
      root.__by = n;
      return build(root);
    }
    if (b) return download(root.__data);
    const tr = e.target.closest("tbody tr");
    if (tr && root.__data.pick >= 0) pick(root, tr, e);
  });
  root.addEventListener("keydown", e => {
    const tr = e.target.closest && e.target.closest("tbody tr");
    if (tr && root.__data.pick >= 0 && (e.key === "Enter" || e.key === " ")) pick(root, tr, e);
  });
}
"""

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
