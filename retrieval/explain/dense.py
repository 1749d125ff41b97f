"""What a dense retriever matched: the query-document cosine and the document's sentences ranked against the query.

:func:`explain_dense` encodes the query (with the model's query prompt) and the document as the run
does (``title + " " + text``, document prompt), and each sentence of the document on its own (the title
is one "sentence"), with the same :class:`~retrieval.neural.dense.DenseEncoder` the system uses
(same model, revision, pooling, normalisation, maximum length, dtype). Sentences are ranked by cosine
against the query and returned as :class:`~retrieval.explain.spans.WeightedSpan` offsets into the
title / text, for highlighting. The run's own score can differ from ``cosine`` in the fourth decimal:
the run compares against float16-stored corpus vectors. For dot-product models (TAS-B, Contriever)
``score`` is the dot product the run ranks by; the sentences are still ranked by cosine.

Sentence splitting is a documented rule, not a model: a sentence ends at ``.``, ``!`` or ``?`` (plus
closing quotes/brackets) followed by whitespace and then an upper-case letter, a digit or an opening
bracket/quote, unless the word before the stop is a common abbreviation (``e.g.``, ``i.e.``, ``et al.``,
``vs.``, ``Fig.``, ...) or a single letter (initials).

:func:`dense_saliency` gives word-occlusion saliency (see :mod:`.saliency`) of the cosine.
Results are memoised per process (a few sentences encode in well under a second on a CPU).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..beir import BeirDataset
from ..cache import Cache
from ..errors import RetrievalError, UnknownSystem
from .saliency import Saliency
from .spans import WeightedSpan

_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[A-Z0-9(\[\"'“‘])")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "al",
        "vs",
        "fig",
        "figs",
        "eq",
        "eqs",
        "ref",
        "refs",
        "approx",
        "ca",
        "cf",
        "dr",
        "mr",
        "mrs",
        "ms",
        "no",
        "nos",
        "st",
        "vol",
        "pp",
        "resp",
    ]
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, surrounding whitespace excluded.

    Example:
        >>> t = "Vitamin D helps (e.g. in bones). It is cheap! 3 trials agree."
        >>> [t[a:b] for a, b in split_sentences(t)]
        ['Vitamin D helps (e.g. in bones).', 'It is cheap!', '3 trials agree.']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        before = text[start : m.start()].split()
        last = before[-1].lower().lstrip("([\"'").rstrip(".") if before else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        end = m.start() + len(m.group().rstrip())
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class SentenceScore:
    """One sentence (or the title): its span (``weight`` = cosine with the query), rank (1 = closest) and text."""

    span: WeightedSpan
    rank: int
    text: str

    @property
    def score(self) -> float:
        return self.span.weight


@dataclass(frozen=True)
class DenseExplanation:
    """``cosine``: query vs the whole document as the run encodes it; ``score``: the same under the
    model's similarity (cosine or dot product); ``sentences``: best first."""

    system: str
    model: str
    query: str
    docid: str
    cosine: float
    score: float
    similarity: str
    sentences: tuple[SentenceScore, ...]

    def frame(self) -> pd.DataFrame:
        """One row per sentence, best first: ``rank, field, start, end, cosine, text``."""
        return pd.DataFrame(
            [(s.rank, s.span.field, s.span.start, s.span.end, s.score, s.text) for s in self.sentences],
            columns=["rank", "field", "start", "end", "cosine", "text"],
        )

    def highlights(self, top: int | None = None) -> list[WeightedSpan]:
        """The sentence spans in document order (only the ``top`` best when given)."""
        chosen = self.sentences if top is None else self.sentences[:top]
        return sorted((s.span for s in chosen), key=lambda w: (w.field != "title", w.start))

    def report(self, document: Any, run_line: str = "", run_score: float | None = None, top: int = 10) -> str:
        """Plain text for the command line: the cosine, the run's line, the ``top`` sentences."""
        lines = [f"cosine(query, document) with {self.model}: {self.cosine:.6f}"]
        lines += [run_line] if run_line else []
        lines.append(f"\nsentences by cosine against the query (top {top} of {len(self.sentences)}):")
        for s in self.sentences[:top]:
            text = s.span.text_of(document.title, document.text).replace("\n", " ")
            lines.append(f"  {s.score:.4f}  [{s.span.field} {s.span.start}:{s.span.end}]  {text[:160]}")
        return "\n".join(lines)


_MEMO: dict[tuple, DenseExplanation] = {}


def _dense_system(system: Any):
    """A dense system (:class:`~retrieval.neural.dense.DenseRetriever`, whose ``explain`` calls this module):
    anything with an encoder and a model key."""
    if not all(hasattr(system, a) for a in ("encoder", "model_key", "info")) or not hasattr(system.info, "similarity"):
        raise UnknownSystem(f"{getattr(system, 'spec', system)} is not a dense system (dense:...)")
    return system


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / max(float(np.linalg.norm(a)), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return b @ a


def explain_dense(dataset: BeirDataset, system: Any, query: str, docid: str, *, cache: Cache | None = None) -> DenseExplanation:
    """Cosine of ``docid`` with ``query`` and its sentences ranked by cosine, under a dense system
    (a :class:`~retrieval.neural.dense.DenseRetriever`: its ``explain`` calls this)."""
    dense = _dense_system(system)
    doc = dataset.corpus.get(str(docid))
    if doc is None:
        raise RetrievalError(f"document {docid!r} is not in {dataset.name}")
    memo_key = (dense.spec, repr(sorted(dense.model_key().items())), dataset.name, str(docid), query)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    encoder = dense.encoder(cache or Cache())
    pieces = [("title", 0, len(doc.title))] if doc.title.strip() else []
    pieces += [("text", a, b) for a, b in split_sentences(doc.text)]
    texts = [(doc.title if f == "title" else doc.text)[a:b] for f, a, b in pieces]
    from ..neural.model_system import doc_text

    q = encoder.encode_queries([query])[0]
    vecs = encoder.encode_documents([doc_text(doc), *texts])
    cosines = _cos(q, vecs)
    score = float(cosines[0]) if dense.info.similarity != "dot" else float(vecs[0] @ q)
    order = sorted(range(len(pieces)), key=lambda i: (-cosines[i + 1], i))
    sentences = tuple(
        SentenceScore(
            WeightedSpan(pieces[i][0], pieces[i][1], pieces[i][2], float(cosines[i + 1]), f"sentence {rank}"), rank, texts[i]
        )
        for rank, i in enumerate(order, start=1)
    )
    result = DenseExplanation(
        dense.spec, dense.info.hf_id, query, str(docid), float(cosines[0]), score, dense.info.similarity or "cos", sentences
    )
    if len(_MEMO) >= 512:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[memo_key] = result
    return result


def cosine_score_fn(encoder: Any):
    """A ``score_fn`` for :func:`~retrieval.explain.saliency.occlusion_saliency`: cosine of each (query, document)
    pair under ``encoder`` (a DenseEncoder); queries are encoded once each."""

    def score(pairs):
        pairs = list(pairs)
        queries = list(dict.fromkeys(q for q, _ in pairs))
        qvecs = dict(zip(queries, encoder.encode_queries(queries)))
        dvecs = encoder.encode_documents([d for _, d in pairs])
        return np.array([float(_cos(qvecs[q], dvecs[i : i + 1])[0]) for i, (q, _) in enumerate(pairs)])

    return score


def dense_saliency(dataset: BeirDataset, system: Any, query: str, docid: str, *, cache: Cache | None = None) -> Saliency:
    """Word-occlusion saliency of the dense cosine of ``docid`` with ``query`` (one encode per word the first
    time; then from the cache, kind ``saliency``, keyed like the reranker saliency by the model key)."""
    from .saliency import cached_saliency

    dense = _dense_system(system)
    cache = cache or Cache()
    model = {"dense": dense.model_key(), "query_prompt": dense.info.query_prompt, "score": "cosine"}
    return cached_saliency(
        dataset, model, dense.spec, query, docid, cache, lambda pairs: cosine_score_fn(dense.encoder(cache))(pairs)
    )
