"""One query's Compare view as a file to keep or send: self-contained HTML (no script, no outside resource) or
Markdown, as DiffIR writes static pages. Every piece of data is escaped (HTML) or made literal (Markdown)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

from .text import escape_markdown


@dataclass(frozen=True)
class ExportRow:
    rank: int
    docid: str
    title: str
    score: float
    official: str  # "relevant (2)", "not relevant", "unjudged"
    users: str  # "ann: 1; bob: can't tell (abstract only)" or ""
    move: str  # against the baseline: "▲3", "▼1", "=", "new" or ""


@dataclass(frozen=True)
class ExportColumn:
    name: str
    spec: str
    metrics: str  # "nDCG@10 0.631 · R@100 1.000 · ..."
    rows: tuple[ExportRow, ...]
    baseline: bool = False


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def view_markdown(
    dataset: str, split: str, qid: str, query: str, columns: Sequence[ExportColumn], notes: Sequence[tuple[str, str]]
) -> str:
    """The view as Markdown: the query, its notes (judge, text), then one table per column."""
    e = escape_markdown
    out = [f"# Query {e(qid)}: {e(query)}", "", f"{e(dataset)} / {e(split)} · exported {_stamp()}", ""]
    if notes:
        out += ["## Notes", ""] + [f"- **{e(who)}**: {e(text)}" for who, text in notes] + [""]
    for col in columns:
        out += [f"## {e(col.name)}{' (baseline)' if col.baseline else ''}", "", f"`{col.spec}` · {e(col.metrics)}", ""]
        out += ["| rank | move | document | title | score | official | judged here |", "|---:|:---:|---|---|---:|---|---|"]
        for r in col.rows:
            cells = [str(r.rank), e(r.move), e(r.docid), e(r.title), f"{r.score:.4f}", e(r.official), e(r.users)]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def view_html(
    dataset: str, split: str, qid: str, query: str, columns: Sequence[ExportColumn], notes: Sequence[tuple[str, str]]
) -> str:
    """The view as one self-contained HTML page (its CSS inline, no script)."""
    e = html.escape
    css = (
        "body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}"
        "th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}td.n{text-align:right}"
        ".rel{color:#146c2e}.non{color:#666}.unj{color:#9a5b00}.meta{color:#666}"
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Query {e(qid)}</title><style>{css}</style></head><body>",
        f"<h1>Query {e(qid)}: {e(query)}</h1><p class='meta'>{e(dataset)} / {e(split)} · exported {_stamp()}</p>",
    ]
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li><b>{e(who)}</b>: {e(text)}</li>" for who, text in notes) + "</ul>")
    for col in columns:
        parts.append(
            f"<h2>{e(col.name)}{' (baseline)' if col.baseline else ''}</h2><p class='meta'><code>{e(col.spec)}</code> · {e(col.metrics)}</p>"
            "<table><tr><th>rank</th><th>move</th><th>document</th><th>title</th><th>score</th><th>official</th><th>judged here</th></tr>"
        )
        for r in col.rows:
            cls = "rel" if r.official.startswith("relevant") else ("unj" if r.official == "unjudged" else "non")
            parts.append(
                f"<tr><td class='n'>{r.rank}</td><td>{e(r.move)}</td><td>{e(r.docid)}</td><td>{e(r.title)}</td>"
                f"<td class='n'>{r.score:.4f}</td><td class='{cls}'>{e(r.official)}</td><td>{e(r.users)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)
