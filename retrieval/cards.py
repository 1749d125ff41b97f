"""Markdown for the Compare page's document cards, badges and metric lines (text only, no Streamlit).

Everything that comes from data (titles, bodies, document ids, names) is escaped by
:mod:`retrieval.text`, so it renders literally; only the markup added here is Markdown.
"""

from __future__ import annotations

import functools
from typing import Iterable, Mapping

from . import text

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


def metrics_md(values: Mapping[str, float], measures: Iterable[str]) -> str:
    """Per-query values as ``nDCG@10 **0.500** · R@100 **1.000**``."""
    if not values:
        return "*not evaluated for this query*"
    return " · ".join(f"{m} **{values[m]:.3f}**" for m in measures if m in values)


def highlighted_md(body: str, query: str) -> str:
    return text.to_markdown(text.highlight(body, text.query_terms(query)))
