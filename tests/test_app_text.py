"""view.text: query terms, highlight spans, snippets and Markdown that renders literally."""

from __future__ import annotations

import re
import string

from view import text


def test_highlight_spans_rejoin_to_the_original_text():
    source = "Vitamin D supplementation improves bone density; bones (and BONE) matter."
    spans = text.highlight(source, text.query_terms("vitamin bone densities"))
    assert "".join(s.text for s in spans) == source
    hits = [s.text for s in spans if s.hit]
    assert hits == ["Vitamin", "bone", "density", "bones", "BONE"]


def test_stop_words_and_unmatched_words_are_not_highlighted():
    spans = text.highlight("the effect of the drug", text.query_terms("the effect of"))
    assert [s.text for s in spans if s.hit] == ["effect"]


def test_snippet_picks_the_window_with_most_query_terms_and_marks_cuts():
    filler = "lorem ipsum dolor sit amet " * 40
    doc = filler + "insulin resistance in obese mice improves with exercise " + filler
    snip = text.snippet(doc, text.query_terms("insulin resistance exercise"), max_chars=120)
    assert len(snip.text) <= 120 + 4  # two ellipses and their spaces
    assert {s.text.lower() for s in snip.spans if s.hit} == {"insulin", "resistance", "exercise"}
    assert snip.cut_start and snip.cut_end
    assert snip.spans[0].text.startswith(text.ELLIPSIS) and snip.spans[-1].text.endswith(text.ELLIPSIS)


def _plain_snippet_start(body: str, terms, max_chars: int) -> int:
    """Where the snippet window starts, the plain way (every word and every hit scanned per candidate window):
    the reference for :func:`text.snippet`'s bisecting search."""
    body = text.normalize_space(body)
    words = list(text.WORD.finditer(body))
    hits = [
        (m.start(), text.stem(m.group()))
        for m in words
        if m.group().lower() not in text.STOP_WORDS and text.stem(m.group()) in terms
    ]
    best_start, best_score = 0, (-1, -1)
    for start in [0] + [pos for pos, _ in hits]:
        target = max(0, start - (40 if start else 0))
        begin = next((min(m.start(), start) for m in words if m.start() >= target), start)
        inside = [t for pos, t in hits if begin <= pos < begin + max_chars]
        score = (len(set(inside)), len(inside))
        if score > best_score:
            best_start, best_score = begin, score
    return best_start


def test_snippet_window_is_the_one_a_plain_scan_picks():
    import random

    rng = random.Random(7)
    vocab = ["insulin", "resistance", "exercise", "mice", "the", "of", "p53", "cells", "Cell", "x", "running", "runs", "a"]
    for n in range(300):
        body = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 160)))
        query = " ".join(rng.sample(vocab, rng.randint(1, 4)))
        terms, chars = text.query_terms(query), rng.choice([40, 120, 300])
        snip = text.snippet(body, terms, chars)
        start = _plain_snippet_start(body, terms, chars)
        plain = text.normalize_space(body)
        if len(plain) > chars:
            window = snip.text.removeprefix(text.ELLIPSIS + " ").removesuffix(" " + text.ELLIPSIS)
            assert snip.cut_start == (start > 0) and plain[start:].startswith(window), (n, body, query)


def test_hits_found_by_the_candidate_pattern_are_those_of_a_word_by_word_scan():
    """:func:`text.hits` looks only at words that start like a query term; a scan of every word is the reference,
    on mixed case, inflections, non-ASCII letters and U+0130 (whose lower case is two characters)."""
    import random

    rng = random.Random(11)
    vocab = (
        "Studies study STUDYING bones Bone p53 P53s IL il-6 the Ärzte ärztin naïve Kelvin\u212a \u0130stanbul istanbul "
        "running runs x ss glasses µg"
    ).split()
    for n in range(400):
        body = rng.choice([" ", "  ", ", ", "-", "."]).join(rng.choice(vocab) for _ in range(rng.randint(0, 60)))
        terms = text.query_terms(" ".join(rng.sample(vocab, rng.randint(1, 5))))
        assert text.hits(body, terms) == text._plain_hits(body, terms), (n, body, sorted(terms))
        assert text.hits(body.replace("\u0130", "I"), terms) == text._plain_hits(body.replace("\u0130", "I"), terms)


def test_short_text_snippet_is_whole_and_uncut():
    snip = text.snippet("Short  text\nabout sleep.", text.query_terms("sleep"), max_chars=300)
    assert snip.text == "Short text about sleep."
    assert not snip.cut_start and not snip.cut_end


def test_truncate_cuts_at_a_word_boundary():
    cut, was_cut = text.truncate("alpha beta gamma delta", 12)
    assert was_cut and cut == "alpha beta " + text.ELLIPSIS
    assert text.truncate("short", 12) == ("short", False)


def _unescaped(md: str, ch: str) -> list[int]:
    """Positions of ``ch`` in ``md`` not preceded by a backslash escape."""
    out = []
    i = 0
    while i < len(md):
        if md[i] == "\\":
            i += 2
            continue
        if md[i] == ch:
            out.append(i)
        i += 1
    return out


def test_escape_markdown_escapes_every_ascii_punctuation_character():
    hostile = (
        "<script>alert(1)</script> <img src=x onerror=alert(2)> **b** [l](javascript:x) $x$ :smile: # h\n- item `c` &amp; | ~"
    )
    md = text.escape_markdown(hostile)
    for ch in string.punctuation:
        assert _unescaped(md, ch) == [], f"{ch!r} left unescaped in {md!r}"
    assert "\n" not in md
    # Removing the escapes and the word joiners gives the text back (whitespace collapsed).
    assert re.sub(r"\\(.)", r"\1", md).replace("\u2060", "") == " ".join(hostile.split())


def test_to_markdown_only_adds_highlight_markup_around_hits():
    spans = text.highlight("Bone *density* <b>", text.query_terms("bone"))
    md = text.to_markdown(spans)
    assert md.startswith(":orange[**Bone**]")
    rest = md[len(":orange[**Bone**]") :]
    assert rest == text.escape_markdown(" *density* <b>")
