"""Which words a neural scorer looked at: word-occlusion saliency of a relevance score.

Method (chosen over gradient x input because it needs nothing from the model but its score, so it
works the same for monoT5, the cross-encoder and a dense bi-encoder, and its numbers are in the
score's own units): the document is split into **words**, maximal runs of non-whitespace characters
of the title and of the text (punctuation stays attached). For each word the pair
``(query, document without that word)`` is scored, the word and one neighbouring whitespace run
removed; the word's saliency is

    saliency(w) = score(query, document) - score(query, document without w)

so a positive value means the word raised the score. All ``n + 1`` pairs go to the scorer in one call
(it batches them, longest first). The document is handed to the model as in the run
(``title + " " + text``). Words past the model's input limit (512 tokens for monoT5 and the
cross-encoder) cannot change the truncated input and get exactly 0. Scores are deterministic for a
given model, device and dtype, so a saliency is cached: in process, and on disk (kind ``saliency``,
keyed by the model's score key, the dataset checksum, the document and the query).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..beir import BeirDataset
from ..cache import Cache
from ..errors import RetrievalError, UnknownSystem
from .spans import WeightedSpan

WORD = re.compile(r"\S+")
METHOD = "word occlusion"
SALIENCY_CODE_VERSION = 1
ScoreFn = Callable[[Sequence[tuple[str, str]]], Sequence[float]]


@dataclass(frozen=True)
class Saliency:
    """Occlusion saliency of one (query, document) score: ``words`` in document order (title first), each a
    :class:`WeightedSpan` whose ``weight`` is the score drop when that word is removed and whose
    ``label`` is the word."""

    system: str
    query: str
    docid: str
    base_score: float
    words: tuple[WeightedSpan, ...]
    method: str = METHOD

    @property
    def values(self) -> np.ndarray:
        return np.array([w.weight for w in self.words], dtype=np.float64)

    def top(self, n: int = 10) -> list[WeightedSpan]:
        """The ``n`` words whose removal lowers the score most (ties: document order)."""
        order = sorted(range(len(self.words)), key=lambda i: (-self.words[i].weight, i))
        return [self.words[i] for i in order[:n]]

    def frame(self) -> pd.DataFrame:
        """One row per word: ``field, start, end, word, saliency``, in document order."""
        return pd.DataFrame(
            [(w.field, w.start, w.end, w.label, w.weight) for w in self.words],
            columns=["field", "start", "end", "word", "saliency"],
        )

    def report(self, document: Any, run_line: str = "", run_score: float | None = None, top: int = 10) -> str:
        """Plain text for the command line: the score, the run's line, the ``top`` words by saliency."""
        lines = [f"score of the whole document: {self.base_score:.6f}"]
        lines += [run_line] if run_line else []
        lines.append(f"\nwords whose removal lowers the score most (occlusion saliency, top {top} of {len(self.words)}):")
        for w in sorted(self.words, key=lambda w: -w.weight)[:top]:
            lines.append(f"  {w.weight:+.5f}  [{w.field} {w.start}:{w.end}]  {w.text_of(document.title, document.text)}")
        return "\n".join(lines)


def words_of(title: str, text: str) -> list[WeightedSpan]:
    """The words of a document (weight 0), title first; ``label`` holds the word."""
    return [
        WeightedSpan(field, m.start(), m.end(), 0.0, m.group())
        for field, s in (("title", title), ("text", text))
        for m in WORD.finditer(s)
    ]


def model_text(title: str, text: str) -> str:
    """The document as the neural systems see it (``retrieval.neural.model_system.doc_text``)."""
    return f"{title} {text}".strip()


def _cut(s: str, start: int, end: int) -> str:
    """``s`` without ``s[start:end]`` and the whitespace run after it (or before it, at the end)."""
    after = end
    while after < len(s) and s[after].isspace():
        after += 1
    if after < len(s) or start == 0:
        return s[:start] + s[after:]
    before = start
    while before > 0 and s[before - 1].isspace():
        before -= 1
    return s[:before] + s[end:]


def occlude(title: str, text: str, words: Sequence[WeightedSpan]) -> tuple[str, str]:
    """``(title, text)`` with every given word removed (each with one neighbouring whitespace run)."""
    for field in ("title", "text"):
        spans = sorted((w for w in words if w.field == field), key=lambda w: -w.start)
        for w in spans:
            if field == "title":
                title = _cut(title, w.start, w.end)
            else:
                text = _cut(text, w.start, w.end)
    return title, text


def occlusion_saliency(score_fn: ScoreFn, query: str, title: str, text: str) -> tuple[float, tuple[WeightedSpan, ...]]:
    """``(score of the whole document, one WeightedSpan per word with weight = score drop without it)``.

    ``score_fn`` takes ``[(query, document text), ...]`` and returns one score per pair (e.g.
    ``MonoT5Scorer.score_pairs``); it is called once with all pairs.
    """
    words = words_of(title, text)
    docs = [model_text(title, text)] + [model_text(*occlude(title, text, [w])) for w in words]
    scores = np.asarray(score_fn([(query, d) for d in docs]), dtype=np.float64).reshape(-1)
    if scores.shape != (len(docs),):
        raise RetrievalError(f"the scorer returned {scores.shape[0]} scores for {len(docs)} pairs")
    base = float(scores[0])
    return base, tuple(WeightedSpan(w.field, w.start, w.end, base - float(s), w.label) for w, s in zip(words, scores[1:]))


# ---- rerankers ----------------------------------------------------------------------------------
def explain_reranker(
    dataset: BeirDataset, system: Any, query: str, docid: str, *, cache: Cache | None = None, progress: bool = False
) -> Saliency:
    """Occlusion saliency of a monoT5 / cross-encoder system's score for ``docid`` (a
    :class:`~retrieval.neural.rerank.Reranker`: its ``explain`` calls this).

    Computed once per (model score key, dataset, document, query) and kept in the cache; a document of
    ``n`` words costs ``n + 1`` model calls (batched) the first time.
    """
    reranker = system
    if not all(hasattr(reranker, a) for a in ("scorer", "model_key", "depth")):
        raise UnknownSystem(f"{getattr(reranker, 'spec', system)} is not a reranker (monot5:... or ce:...)")
    cache = cache or Cache()
    return cached_saliency(
        dataset,
        reranker.model_key(),
        reranker.spec,
        query,
        docid,
        cache,
        lambda pairs: reranker.scorer(cache).score_pairs(pairs, progress=progress),
    )


def cached_saliency(
    dataset: BeirDataset, model: Any, spec: str, query: str, docid: str, cache: Cache, score_fn: ScoreFn
) -> Saliency:
    """The saliency of ``docid`` for ``query`` under the score keyed by ``model``, from the cache (kind
    ``saliency``) or computed once with ``score_fn``."""
    from ..neural.scores import query_hash

    doc = dataset.corpus.get(str(docid))
    if doc is None:
        raise RetrievalError(f"document {docid!r} is not in {dataset.name}")
    key = cache.key(
        "saliency",
        dataset=dataset.name,
        dataset_sha256=dataset.fingerprint(),
        model=model,
        docid=str(docid),
        query_sha256=query_hash(query),
        method=METHOD,
        code_version=SALIENCY_CODE_VERSION,
    )
    return _saliency_entry(cache, key, spec, query, str(docid), doc.title, doc.text, score_fn)


def _saliency_entry(
    cache: Cache, key: Any, spec: str, query: str, docid: str, title: str, text: str, score_fn: ScoreFn
) -> Saliency:
    memo = _MEMO.get((str(cache.root), key.digest))
    if memo is not None:
        return memo

    def build(tmp):
        base, words = occlusion_saliency(score_fn, query, title, text)
        payload = {"base_score": base, "words": [[w.field, w.start, w.end, w.weight] for w in words]}
        (tmp / "saliency.json").write_text(json.dumps(payload), encoding="utf-8")
        return {"words": len(words)}

    entry = cache.get_or_build(key, build, info={"spec": spec, "docid": docid})
    payload = json.loads((entry / "saliency.json").read_text(encoding="utf-8"))
    words = []
    for field, start, end, weight in payload["words"]:
        source = title if field == "title" else text
        words.append(WeightedSpan(field, int(start), int(end), float(weight), source[start:end]))
    result = Saliency(spec, query, docid, float(payload["base_score"]), tuple(words))
    if len(_MEMO) >= 256:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[(str(cache.root), key.digest)] = result
    return result


_MEMO: dict[tuple[str, str], Saliency] = {}


LEGEND = (
    "Word occlusion: each word is removed from the document in turn and the pair is scored again; a word's "
    "value is the score drop (positive: the word raised the score, negative: it lowered it, zero: no effect, e.g. "
    "past the model's 512-token input limit). Units are the model's own score (monoT5: log P(true); "
    "cross-encoder: logit; dense: cosine)."
)
