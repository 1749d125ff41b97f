"""Explanations as display values (no Streamlit): weighted spans as literal Markdown, and tables.

:func:`weighted_markdown` wraps each weighted span of a text in one of a few background colours by its
weight relative to the largest absolute weight shown (:data:`LEVELS`); everything else is escaped with
:func:`retrieval.text.escape_markdown`, so document text stays text: the only live markup is the
colour markers added here. Negative weights (a word whose removal raised a score) get their own colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from retrieval.explain.spans import WeightedSpan

from .text import escape_markdown

# (lower bound of |weight| / max |weight|, colour for positive weights, name in the legend)
LEVELS = ((2 / 3, "red", "strong"), (1 / 3, "orange", "medium"), (0.0, "yellow", "weak"))
NEGATIVE = "blue"


def level_of(weight: float, scale: float) -> tuple[str, str]:
    """``(colour, level name)`` of ``weight`` against ``scale`` (the largest absolute weight shown)."""
    if weight < 0:
        return NEGATIVE, "negative"
    ratio = weight / scale if scale > 0 else 0.0
    for bound, colour, name in LEVELS:
        if ratio >= bound:
            return colour, name
    return LEVELS[-1][1], LEVELS[-1][2]


def weighted_markdown(
    text: str, spans: Iterable[WeightedSpan], *, limit: int | None = None, bold: bool = False, scale: float | None = None
) -> str:
    """``text`` (optionally only its first ``limit`` characters) as literal Markdown with each span of
    non-zero weight on a coloured background (``:red-background[...]``; see :data:`LEVELS`).

    Spans must index into ``text``; overlapping spans keep the first (by start); spans past ``limit`` are
    dropped and one cut across it is shortened. ``scale`` is the weight that counts as 100% (default: the
    largest absolute weight among these spans; pass the document-wide one when title and text are drawn apart).

    Example:
        >>> weighted_markdown("a *b* c", [WeightedSpan("text", 2, 5, 1.0)])
        'a :red-background[:red[**\\\\*b\\\\***]] c'
    """
    end_all = len(text) if limit is None else min(limit, len(text))
    chosen = sorted(
        (s for s in spans if s.weight != 0 and s.start < end_all and s.end > s.start), key=lambda s: (s.start, -s.end)
    )
    if scale is None:
        scale = max((abs(s.weight) for s in chosen), default=0.0)
    out: list[str] = []
    pos = 0
    for s in chosen:
        if s.start < pos:
            continue
        end = min(s.end, end_all)
        out.append(escape_markdown(text[pos : s.start]))
        piece = escape_markdown(text[s.start : end]).strip()
        colour, name = level_of(s.weight, scale)
        if piece:
            out.append(_mark(piece, colour, name, bold))
        pos = end
    out.append(escape_markdown(text[pos:end_all]))
    return "".join(out)


def _mark(piece: str, colour: str, name: str, bold: bool = False) -> str:
    """Streamlit's pale backgrounds alone barely differ, so the stronger levels also colour (and embolden) the text."""
    if name in ("strong", "negative"):
        piece = f":{colour}[**{piece}**]"
    elif name == "medium":
        piece = f":{colour}[{'**' + piece + '**' if bold else piece}]"
    elif bold:
        piece = f"**{piece}**"
    return f":{colour}-background[{piece}]"


def legend_markdown(negative: bool = False) -> str:
    """The colour legend of :func:`weighted_markdown` (share of the largest weight shown)."""
    parts = [
        f"{_mark(name, colour, name)} ≥ {bound:.0%}" if bound else f"{_mark(name, colour, name)} > 0"
        for bound, colour, name in LEVELS
    ]
    if negative:
        parts.append(f"{_mark('negative', NEGATIVE, 'negative')} < 0")
    return " · ".join(parts) + " (of the largest value shown)"


def by_rank(spans: Sequence[WeightedSpan]) -> list[WeightedSpan]:
    """Spans given best first, re-weighted by place (1, 0.5, then 0.1) so that :func:`weighted_markdown` colours
    the best strong, the second medium and the rest weak, whatever their raw values (e.g. three similar cosines)."""
    return [WeightedSpan(s.field, s.start, s.end, _PLACE.get(i, 0.1), s.label) for i, s in enumerate(spans)]


_PLACE = {0: 1.0, 1: 0.5}


def rank_legend(n: int) -> str:
    """Legend for :func:`by_rank` highlighting of ``n`` spans: which colour is the closest, second, ..."""
    names = ["closest", "2nd", "3rd"] + [f"{i}th" for i in range(4, n + 1)]
    return " · ".join(_mark(names[i], *level_of(_PLACE.get(i, 0.1), 1.0)) for i in range(n))


def bm25_table(explanation) -> pd.DataFrame:
    """A BM25 explanation's clauses for display: ``term, field, tf, df, idf, norm, part, share`` (matched
    terms first, largest part first; ``norm`` is the length normalisation ``1 - b + b * dl / avgdl``).
    ``part`` sums to the explanation's total."""
    f = explanation.frame()
    return pd.DataFrame(
        {
            "term": f["term"],
            "field": f["field"],
            "tf": f["tf"],
            "df": f["df"],
            "idf": f["idf"],
            "norm": f["length_norm"],
            "part": f["score"],
            "share": f["share"],
        }
    )


def sentence_table(explanation, top: int | None = None) -> pd.DataFrame:
    """A dense explanation's sentences, best first: ``rank, cosine, field, sentence``."""
    f = explanation.frame()
    if top is not None:
        f = f.head(top)
    return pd.DataFrame({"rank": f["rank"], "cosine": f["cosine"], "field": f["field"], "sentence": f["text"]})


def top_words(saliency, n: int = 10) -> pd.DataFrame:
    """The ``n`` words of a :class:`~retrieval.explain.saliency.Saliency` whose removal lowers the score most."""
    return pd.DataFrame([(w.label, w.field, w.weight) for w in saliency.top(n)], columns=["word", "field", "saliency"])


def spans_in(spans: Sequence[WeightedSpan], field: str, top: int | None = None) -> list[WeightedSpan]:
    """The spans of ``field``; with ``top``, only the ``top`` largest weights (others dropped)."""
    own = [s for s in spans if s.field == field]
    if top is None:
        return own
    keep = sorted(own, key=lambda s: -s.weight)[:top]
    return [s for s in own if s in keep]
