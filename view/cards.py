"""Markdown for the Compare page's document cards, badges and metric lines, and HTML for its compact columns
(text only, no Streamlit).

Everything that comes from data (titles, bodies, document ids, names) is escaped, by :mod:`retrieval.text`
for Markdown and ``html.escape`` (quotes too) for HTML, so it renders literally; only the markup added here is live.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from . import asset, text

BADGE_MD = {
    "relevant": ":green-badge[:material/check_circle: {label}]",
    "not_relevant": ":gray-badge[:material/block: {label}]",
    "unjudged": ":orange-badge[:material/help: {label}]",
}
SNIPPET_CHARS = 320


def badge_md(badge) -> str:
    """A relevance badge (``kind`` and ``label``, see ``columns.relevance_badge``) as a Streamlit badge."""
    return BADGE_MD[badge.kind].format(label=badge.label)


def grade_md(grade: int | None) -> str:
    from .columns import relevance_badge

    return badge_md(relevance_badge(grade))


def card_key(spec: str, docid: str) -> str:
    """A widget-safe key (also a CSS class ``st-key-...``) for one document card."""
    return "card-" + "".join(c if c.isalnum() else "_" for c in f"{spec}-{docid}")


def snippet_chars(columns: int) -> int:
    """Snippet length per card: shorter when more than two columns share the width."""
    return SNIPPET_CHARS if columns <= 2 else SNIPPET_CHARS * 2 // 3


@functools.lru_cache(maxsize=8192)
def card_text_md(title: str, body: str, query: str, chars: int) -> tuple[str, str]:
    """(title, snippet) Markdown for one card; memoised, as a card's text only depends on these."""
    terms = text.query_terms(query)
    title_md = text.to_markdown(text.highlight(text.normalize_space(title), terms)) or "*(no title)*"
    return title_md, text.to_markdown(text.snippet(body, terms, chars).spans)


def card_md(doc, title: str, body: str, query: str, chars: int, badges: bool = True) -> str:
    """One card: rank, document id, score (and badge), then the highlighted title and snippet."""
    head = f"**#{doc.rank}** · doc {text.escape_markdown(doc.docid)} · score {doc.score:.4f}"
    if badges:
        head += f" · {badge_md(doc.badge)}"
    title_md, snip = card_text_md(title, body, query, chars)
    return f"{head}\n\n**{title_md}**\n\n{snip}"


def ranks_md(ranks: Mapping[str, str]) -> str:
    """``{column name: rank label}`` as ``name #3 · other not in top 100`` (names escaped)."""
    return " · ".join(f"{text.escape_markdown(n)} {r}" for n, r in ranks.items())


def missed_md(missed, title: str, depth: int) -> str:
    """A relevant document outside the top k: badge, id, where it is, and its title (cut)."""
    where = f"#{missed.rank}" if missed.rank is not None else f"not in top {depth}"
    title_md = text.escape_markdown(text.truncate(title, 90)[0]) if title else ""
    return f"{grade_md(missed.grade)} doc {text.escape_markdown(missed.docid)} · {where}" + (f" · {title_md}" if title_md else "")


def metrics_md(
    values: Mapping[str, float], measures: Iterable[str], changed: Mapping[str, float] | None = None, qrels: str = ""
) -> str:
    """Per-query values as ``nDCG@10 **0.500** · R@100 **1.000**``; with ``changed`` (the values with ``qrels``,
    merged or mine) each official value is followed by its changed one (``0.387 → 0.510``)."""
    if not values:
        return "*not evaluated for this query*"
    out = []
    for m in measures:
        if m in values:
            after = "" if changed is None else (f" → **{changed[m]:.3f}**" if m in changed else " → –")
            out.append(f"{m} **{values[m]:.3f}**{after}")
    return " · ".join(out) + (f" ({qrels} qrels after the arrow)" if changed is not None else "")


def highlighted_md(body: str, query: str) -> str:
    return text.to_markdown(text.highlight(body, text.query_terms(query)))


# ---- the compact view: one row per document, as escaped HTML (no Markdown to parse) -------------------
# Document text goes through html.escape (quotes included), so it renders as text; only the tags written
# here are markup. Each row is a <details>: its summary is the one-line row, opening it shows the snippet and
# the full text. Rows of the same document share a class (``doc_class``): the column's script in the page
# (pages/_rows.py) marks a document in every column while one of its rows is hovered, focused or open
# (``rk-hl``/``rk-on``, styled by ``COMPACT_CSS``): no round trip to the server.
BADGE_HTML = {"relevant": ("rk-rel", "✓"), "not_relevant": ("rk-non", "✗"), "unjudged": ("rk-unj", "?")}


def doc_class(docid: str) -> str:
    """A CSS class shared by every row of one document (a hash: document ids may hold any character)."""
    import hashlib

    return "rk-" + hashlib.blake2s(docid.encode("utf-8"), digest_size=6).hexdigest()


def move_label(rank: int, left_rank: int | None) -> tuple[str, str]:
    """How a document moved against the column on the left: ("▲3", "up"), ("▼2", "down"), ("=", "same"), ("new", "new").

    Example:
        >>> move_label(2, 5), move_label(7, 4), move_label(3, 3), move_label(1, None)
        (('▲3', 'up'), ('▼3', 'down'), ('=', 'same'), ('new', 'new'))
    """
    if left_rank is None:
        return "new", "new"
    if left_rank == rank:
        return "=", "same"
    return (f"▲{left_rank - rank}", "up") if left_rank > rank else (f"▼{rank - left_rank}", "down")


@functools.lru_cache(maxsize=4096)
def _row_head_html(title: str, body: str, query: str, chars: int) -> tuple[str, str, bool]:
    """The highlighted title and snippet of a row, and whether the snippet left text out (kept per document and
    query: a click that keeps the query, such as adding a system or more documents per column, reuses them)."""
    terms = text.query_terms(query)
    title_html = text.to_html(text.highlight(text.normalize_space(title), terms)) or "<i>(no title)</i>"
    snip = text.snippet(body, terms, chars)
    return title_html, text.to_html(snip.spans), snip.cut_start or snip.cut_end


def full_text_html(body: str, query: str) -> str:
    """The whole document with the query's terms marked, escaped (sent only for rows whose full text was asked for)."""
    return text.to_html(text.highlight(body, text.query_terms(query)))


def badge_mark(badge, graded: bool) -> tuple[str, str]:
    """``(css class, mark)`` of an official badge: ✓ / ✗ / ?, with the grade after the tick on a graded scale
    (NFCorpus' 1 and 2 read ✓1 and ✓2, not the same tick)."""
    cls, mark = BADGE_HTML[badge.kind]
    if graded and badge.kind == "relevant":
        mark = f"{mark}{badge.grade}"
    return cls, mark


def compact_row_html(
    doc,
    title: str,
    body: str,
    query: str,
    names: dict[str, str],
    against: str | None,
    badges: bool = True,
    full: bool = False,
    judging=None,
    graded: bool = False,
) -> str:
    """One document as a <details> row: rank, official badge (its grade on a graded scale), the users' badge,
    title, move against the baseline column ``against``, ranks elsewhere, score.

    Opened, the row shows the snippet, two buttons, "Full text" and "Why here?" (``data-act`` says which, for
    the page's script), and with ``judging`` (:class:`view.judging.RowJudging`) the judging bar; with ``full`` the
    row comes open with the whole text in place of the snippet and the first button (no such button where the
    snippet is the whole text). The full text is left out otherwise: it was most of the bytes (about 500 KB for two
    columns of 100) and few rows are opened.
    """
    import html

    from .judging import judge_bar_html, user_badge_html

    esc = functools.partial(html.escape, quote=True)
    title_html, snip, cut = _row_head_html(title, body, query, SNIPPET_CHARS)
    cls, mark = badge_mark(doc.badge, graded)
    badge = f'<span class="rk-b {cls}" title="official qrels: {esc(doc.badge.label)}">{mark}</span>' if badges else ""
    badge += user_badge_html(judging, doc.badge.grade) if badges else ""
    move = ""
    others = []
    for o in doc.others:
        label = f"#{o.rank}" if o.rank is not None else "–"
        others.append(f'<span class="rk-o" title="{esc(names.get(o.system, o.system))}: {esc(o.label)}">{label}</span>')
        if o.system == against:
            word, kind = move_label(doc.rank, o.rank)
            tip = f"{esc(names.get(against, against))}: {esc(o.label)}"
            move = f'<span class="rk-m rk-{kind}" title="against the baseline ({tip})">{word}</span>'
    plain_title = esc(text.normalize_space(title)) or "(no title)"
    docid = esc(doc.docid)

    def button(act: str, label: str) -> str:
        return f'<button type="button" class="rk-act" data-act="{act}" data-docid="{docid}">{label}</button>'

    text_html = f"<p>{snip}</p>"
    if cut and full:  # the whole text in place of the snippet
        text_html = f'<div class="rk-full"><p>{full_text_html(body, query)}</p></div>'
    more = button("full", "Full text") if cut and not full else ""
    return (
        f'<details class="rk-row {doc_class(doc.docid)}" data-docid="{docid}"{" open" if full and cut else ""}><summary>'
        f'<span class="rk-r">#{doc.rank}</span>{badge}<span class="rk-t" title="{plain_title}">{title_html}</span>'
        f'{move}{"".join(others)}<span class="rk-s">{doc.score:.3f}</span></summary>'
        f'<div class="rk-body"><div class="rk-meta">doc {docid} · score {doc.score:.4f}'
        f"{' · official: ' + esc(doc.badge.label) if badges else ''}</div>{text_html}"
        f"{more}{button('why', 'Why here?')}{judge_bar_html(doc.docid, judging) if badges else ''}</div></details>"
    )


def metrics_html(
    values: Mapping[str, float],
    measures: Iterable[str],
    help_text: str = "",
    *,
    changed: Mapping[str, float] | None = None,
    qrels: str = "",
    baseline: Mapping[str, float] | None = None,
    baseline_name: str = "",
) -> str:
    """Per-query values as ``nDCG@10 <b>0.500</b> · ...`` (the compact board's metric line), with ``help_text``
    as the tooltip of a "?" mark. ``changed``: the same measures with other qrels (``qrels`` names them: merged or
    mine), shown after the official value (``0.387 → 0.510``). ``baseline``: the baseline column's values under
    the same qrels; each measure then shows its difference (``+0.123``)."""
    import html

    tip = f' <span class="rk-help" title="{html.escape(help_text, quote=True)}">?</span>' if help_text else ""
    if not values:
        return f"<i>not evaluated for this query</i>{tip}"
    parts = []
    for m in measures:
        if m not in values:
            continue
        text = f"{html.escape(m)} <b>{values[m]:.3f}</b>"
        now = values[m]
        if changed is not None:
            if m in changed:
                now = changed[m]
                arrow = f' title="{html.escape(qrels, quote=True)} qrels (official first)"'
                text += f'<span class="rk-to"{arrow}> → <b>{now:.3f}</b></span>'
            else:
                text += f'<span class="rk-to" title="no {html.escape(qrels, quote=True)} judgements of this query"> → –</span>'
        if baseline is not None and m in baseline:
            d = now - baseline[m]
            kind = "up" if d > 0 else ("down" if d < 0 else "same")
            name = html.escape(baseline_name, quote=True)
            text += f' <span class="rk-d rk-{kind}" title="against the baseline, {name}">{d:+.3f}</span>'
        parts.append(text)
    return " · ".join(parts) + tip


def missed_html(missed: Iterable, titles: Mapping[str, str], depth: int, k: int, graded: bool = False) -> str:
    """The relevant documents a column left out of its top ``k``, as a closed <details> list (empty when none)."""
    import html

    from .columns import relevance_badge

    items = []
    for m in missed:
        badge = relevance_badge(m.grade)
        cls, mark = badge_mark(badge, graded)
        where = f"#{m.rank}" if m.rank is not None else f"not in top {depth}"
        title = html.escape(text.truncate(text.normalize_space(titles.get(m.docid, "")), 90)[0])
        items.append(
            f'<li><span class="rk-b {cls}" title="{html.escape(badge.label)}">{mark}</span> {html.escape(badge.label)} · '
            f"doc {html.escape(m.docid)} · {where}{' · ' + title if title else ''}</li>"
        )
    if not items:
        return ""
    return (
        f'<details class="rk-more" data-part="missed"><summary>Relevant documents missed ({len(items)} not in the top {k})'
        f"</summary><ul>{''.join(items)}</ul></details>"
    )


# What a run's command does, under it (the compact column here, the card view's expander in pages/_repro.py).
REPRODUCE_NOTE = "Rebuilds this run from scratch (index or embeddings included) and prints nDCG@10, R@100, RR@10 and Judged@10."


def reproduce_html(command: str | None, notes: str) -> str:
    """The command that rebuilds a column's run, in a closed <details> with a copy button (text only)."""
    import html

    if command:
        body = (
            f'<pre class="rk-cmd">{html.escape(command)}</pre><button type="button" class="rk-act" data-act="copy">Copy</button>'
            f'<p class="rk-meta">{html.escape(REPRODUCE_NOTE)}{" " + html.escape(notes) if notes else ""}</p>'
        )
    else:
        body = f'<p class="rk-meta">{html.escape(notes)}</p>'
    return f'<details class="rk-more" data-part="reproduce"><summary>Reproduce</summary>{body}</details>'


def board_column_html(
    spec: str,
    name: str,
    caption: str,
    metrics: str,
    rows: str,
    missed: str,
    reproduce: str,
    *,
    role: str = "",
    attrs: Mapping[str, str] | None = None,
) -> str:
    """One column of the compact board: header, caption, metric line, rows, missed documents, command.

    ``name`` and ``caption`` are text (escaped here); ``metrics``, ``rows``, ``missed`` and ``reproduce`` are
    HTML from this module's functions. ``role``: "baseline" marks the column every other one is measured against,
    "other" offers to make it the baseline ("" neither). ``attrs`` become ``data-*`` attributes of the column
    (the page's script reads ``judge``, ``scale`` and ``words``: ``view.judging.column_attrs``).
    """
    import html

    extra = "".join(f' data-{k}="{html.escape(str(v), quote=True)}"' for k, v in (attrs or {}).items())
    tag = {
        "baseline": '<span class="rk-base" title="Rank moves and metric differences in the other columns are against this one">baseline</span>',
        "other": '<button type="button" class="rk-act rk-mkbase" data-act="base" title="Measure the other columns against this one">make baseline</button>',
    }.get(role, "")
    return (
        f'<div class="rk-colwrap" data-spec="{html.escape(spec, quote=True)}"{extra}><h4 class="rk-h">{html.escape(name)}{tag}</h4>'
        f'<div class="rk-cap">{html.escape(caption)}</div><div class="rk-metrics">{metrics}</div>{rows}{missed}{reproduce}</div>'
    )


# content-visibility: the browser lays out and paints only the rows near the screen (100 documents per column and
# a page switch to Compare: ~50 ms less layout, style and paint per click in a Chromium trace); 26px is a closed
# row's height, kept ("auto") once a row was drawn.
COMPACT_CSS = asset.read("compact.css")


PAGE_CSS = '[data-testid="stMainBlockContainer"]{padding-top:2.5rem}'  # more rows above the fold, both views


def doc_fields(corpus: Mapping, docid: str) -> tuple[str, str]:
    """``(title, text)`` of ``docid``, or a note when the corpus lacks it (an uploaded run may name any id)."""
    d = corpus.get(docid)
    return (d.title, d.text) if d else ("", "(document not in this corpus)")
