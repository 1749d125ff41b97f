"""Text for display: query terms, highlighted spans, snippets, and safe Markdown.

Highlighting returns structured :class:`Span` values (text + whether it matches a query term),
never HTML. :func:`to_markdown` turns spans into Markdown in which every ASCII punctuation
character of the source text is backslash-escaped, so document text can never become markup,
links, HTML, LaTeX or emoji: only the highlight markers this module adds are live.

Matching is deliberately simple and documented: words are ``\\w+`` runs, compared lower-cased
after a light suffix stemmer (plurals, ``-ing``, ``-ed``, ``-ly``), and the stop words of Lucene's
English analyzer (the one BM25 uses here) are not highlighted.

Example:
    >>> [(s.text, s.hit) for s in highlight("Vitamin D improves bones.", query_terms("bone vitamins"))]
    [('Vitamin', True), (' D improves ', False), ('bones', True), ('.', False)]
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (what Anserini's default analyzer removes).
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)
WORD = re.compile(r"\w+", re.UNICODE)
ELLIPSIS = "…"


@dataclass(frozen=True)
class Span:
    """A piece of text; ``hit`` is True when it matches a query term."""

    text: str
    hit: bool = False


@dataclass(frozen=True)
class Snippet:
    """A window of a document as spans; ``cut_start``/``cut_end`` say whether text was left out."""

    spans: tuple[Span, ...]
    cut_start: bool
    cut_end: bool

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


@functools.lru_cache(maxsize=1 << 16)  # words repeat across documents: highlighting a column stems each word once
def stem(word: str) -> str:
    """A light English suffix stemmer, enough to match plurals and simple inflections.

    Example:
        >>> [stem(w) for w in ["studies", "bones", "improved", "running", "glass"]]
        ['study', 'bone', 'improv', 'runn', 'glass']
    """
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


MIN_TERM_CHARS = 2


def query_terms(query: str) -> frozenset[str]:
    """The stems of a query's words of at least two characters, without stop words.

    Single characters and lone digits ("B", "0", "3") would mark half a document, so they are not
    highlighted; short real tokens ("p53", "T4", "IL") are. Matching stays whole-word (see :func:`highlight`).

    Example:
        >>> sorted(query_terms("vitamin B 3 p53 of IL"))
        ['il', 'p53', 'vitamin']
    """
    return frozenset(stem(w) for w in WORD.findall(query) if len(w) >= MIN_TERM_CHARS and w.lower() not in STOP_WORDS)


def _kept(words: Iterable[re.Match], terms: frozenset[str] | set[str]) -> list[tuple[int, int, str]]:
    """``(start, end, stem)`` of the ``words`` whose stem is a query term (stop words excepted)."""
    out = []
    for m in words:
        w = m.group()
        if w.lower() not in STOP_WORDS:
            s = stem(w)
            if s in terms:
                out.append((m.start(), m.end(), s))
    return out


def _plain_hits(text: str, terms: frozenset[str] | set[str]) -> list[tuple[int, int, str]]:
    """:func:`hits` word by word (every word of ``text`` looked at): the reference the tests compare with."""
    return _kept(WORD.finditer(text), terms)


@functools.lru_cache(maxsize=256)
def _candidates(terms: frozenset[str]) -> re.Pattern | None:
    """Whole words that could stem to one of ``terms``: the stemmer only cuts a word's end (and "-ies" becomes
    "-y"), so such a word, lower-cased, starts with its stem less the last character (a term's first four
    characters at most are used)."""
    heads = {t[: max(1, min(len(t) - 1, 4))] for t in terms if t}
    if not heads:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, heads))) + r")\w*", re.IGNORECASE)


def hits(text: str, terms: frozenset[str] | set[str]) -> list[tuple[int, int, str]]:
    """``(start, end, stem)`` of the words of ``text`` that match a query term, in text order.

    Only words that start like a term are looked at (a regular expression built once per query), not every
    word: with 100 documents per column this was most of the server's time for a click. Case-insensitive
    matching agrees with ``str.lower`` for every character but U+0130 (whose lower case is two characters), so
    a text with one is scanned word by word; tests compare both ways.
    """
    if not isinstance(terms, frozenset):
        terms = frozenset(terms)
    pattern = _candidates(terms)
    if pattern is None:
        return []
    return _kept(WORD.finditer(text) if "\u0130" in text else pattern.finditer(text), terms)


def highlight(text: str, terms: frozenset[str] | set[str]) -> list[Span]:
    """Split ``text`` into spans, marking words whose stem is in ``terms``; joining them gives ``text`` back."""
    spans: list[Span] = []
    plain_start = 0
    for start, end, _ in hits(text, terms):
        if start > plain_start:
            spans.append(Span(text[plain_start:start]))
        spans.append(Span(text[start:end], True))
        plain_start = end
    if plain_start < len(text):
        spans.append(Span(text[plain_start:]))
    return spans


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace (newlines included) to one space."""
    return " ".join(text.split())


def snippet(text: str, terms: frozenset[str] | set[str], max_chars: int = 300) -> Snippet:
    """The ``max_chars`` window of ``text`` (whitespace collapsed) with the most distinct query terms.

    Ties go to the earliest window; a window starts at a word boundary and does not cut words.
    """
    text = normalize_space(text)
    if len(text) <= max_chars:
        return Snippet(tuple(highlight(text, terms)), False, False)
    found = hits(text, terms)
    hit_pos = [start for start, _, _ in found]
    hit_stems = [s for _, _, s in found]
    best_start, best_score = 0, (-1, -1)
    for start in [0, *hit_pos]:
        # Start a little before the hit so it reads as context, at a word boundary (bisect: hits and words are
        # in text order, so a window's hits are one slice).
        begin = _word_start_before(text, start, back=40 if start else 0)
        inside = hit_stems[bisect.bisect_left(hit_pos, begin) : bisect.bisect_left(hit_pos, begin + max_chars)]
        score = (len(set(inside)), len(inside))
        if score > best_score:
            best_start, best_score = begin, score
    end = min(len(text), best_start + max_chars)
    if end < len(text):
        cut = text.rfind(" ", best_start, end)
        end = cut if cut > best_start else end
    window = text[best_start:end].strip()
    spans = highlight(window, terms)
    cut_start, cut_end = best_start > 0, end < len(text)
    if cut_start:
        spans.insert(0, Span(ELLIPSIS + " "))
    if cut_end:
        spans.append(Span(" " + ELLIPSIS))
    return Snippet(tuple(spans), cut_start, cut_end)


_WORD_START = re.compile(r"(?<!\w)\w")


def _word_start_before(text: str, pos: int, back: int) -> int:
    """The start of the first word of ``text`` at or after ``pos - back``, at most ``pos``."""
    m = _WORD_START.search(text, max(0, pos - back))
    return min(m.start(), pos) if m else pos


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """``text`` cut at a word boundary to at most ``max_chars`` (plus an ellipsis); and whether it was cut."""
    if len(text) <= max_chars:
        return text, False
    cut = text.rfind(" ", 0, max_chars)
    cut = cut if cut > max_chars // 2 else max_chars
    return text[:cut].rstrip() + " " + ELLIPSIS, True


_MD_SPECIAL = frozenset(string.punctuation)
# Streamlit's Markdown rewrites some plain text after parsing, where backslash escapes no longer
# count: ":name:" becomes an emoji or icon, and "www.x.org", "http://..." or "a@b.org" become
# links. A word joiner (U+2060, invisible, zero width) breaks such a pattern (checked in a browser
# against Streamlit's renderer). It is put only where a rewrite could start, so ordinary text (and
# what a user copies from it) carries none: after a ":" that opens a shortcode (":smile:") or a
# scheme ("http://"), inside "@" between word characters, and before the "." of "www.".
_WORD_JOINER = "\u2060"
_SPACE_RUN = re.compile(r"\s+")
_SHORTCODE_AT = re.compile(r":[\w+-]+:")
_WWW_BEFORE = re.compile(r"(?i)(?:^|\W)www$")


def _needs_joiner(text: str, i: int) -> tuple[bool, bool]:
    """(before, after): whether the punctuation at ``text[i]`` needs a word joiner before or after it."""
    ch = text[i]
    if ch == ":":
        return False, bool(_SHORTCODE_AT.match(text, i)) or text.startswith("//", i + 1)
    if ch == "@":
        return False, 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
    if ch == ".":
        return bool(_WWW_BEFORE.search(text, 0, i)), False
    return False, False


def escape_markdown(text: str, joiners: bool = True) -> str:
    """``text`` as Markdown that renders literally: every ASCII punctuation character is escaped.

    Whitespace runs become single spaces (so no line can turn into a heading, list or code block).
    Word joiners go only where Streamlit would otherwise make an emoji or a link (see above);
    ``joiners=False`` leaves them out everywhere (our own messages, paths).

    Example:
        >>> print(escape_markdown("*x*  <b>"))
        \\*x\\* \\<b\\>
        >>> "\u2060" in escape_markdown("p < 0.05: a.b, x@ y"), "\u2060" in escape_markdown("see www.x.org")
        (False, True)
    """
    text = _SPACE_RUN.sub(" ", text)
    out = []
    for i, ch in enumerate(text):
        if ch in _MD_SPECIAL:
            before, after = _needs_joiner(text, i) if joiners else (False, False)
            out.append((_WORD_JOINER if before else "") + "\\" + ch + (_WORD_JOINER if after else ""))
        else:
            out.append(ch)
    return "".join(out)


def to_markdown(spans: list[Span] | tuple[Span, ...], mark: str = "orange") -> str:
    """Spans as Markdown: plain text escaped, hits wrapped as ``:{mark}[**word**]`` (Streamlit syntax)."""
    parts = []
    for span in spans:
        text = escape_markdown(span.text) if not span.hit else escape_markdown(span.text).strip()
        if span.hit and text:
            parts.append(f":{mark}[**{text}**]")
        else:
            parts.append(text)
    return "".join(parts)


def to_html(spans: list[Span] | tuple[Span, ...]) -> str:
    """Spans as HTML text: everything escaped (``html.escape``, quotes too), hits wrapped in ``<mark>``."""
    import html

    return "".join(f"<mark>{html.escape(s.text)}</mark>" if s.hit else html.escape(s.text) for s in spans)


def format_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1 min 15 s"``; ``None`` -> ``"unknown"``."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec} s" if sec else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
