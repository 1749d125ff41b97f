"""BM25 term contributions from Lucene's explanation add up to the run's scores; the CLI prints them."""

from __future__ import annotations

import math

import pytest

from retrieval.beir import BeirDataset
from retrieval.errors import RetrievalError, UnknownSystem
from retrieval.explain.bm25 import analyse_with_offsets, bm25_highlights, explain_bm25
from retrieval.runner import get_run
from retrieval.systems import parse_system

# 768 and 793 match only 66 and 260 documents (so "every hit" stays quick); 1 is a full 1,000-hit query.
QUERIES = ("768", "793")


@pytest.mark.parametrize("spec", ["bm25-flat", "bm25-multifield"])
def test_term_parts_sum_to_the_run_score_for_every_hit(scifact: BeirDataset, session_cache, spec):
    run = get_run(scifact, "test", spec, cache=session_cache, progress=False)
    queries = scifact.split_queries("test")
    checked = 0
    for qid in QUERIES:
        rows = run.for_query(qid)
        assert 0 < len(rows) < 1000
        for docid, score, rank in zip(rows["docid"], rows["score"], rows["rank"]):
            ex = explain_bm25(scifact, parse_system(spec), queries[qid], docid, cache=session_cache, run=run, qid=qid)
            assert ex.run_score == score and ex.rank == rank
            assert abs(ex.total - score) <= 1e-4, (qid, docid, ex.total, score)
            assert ex.total == pytest.approx(ex.lucene_score, abs=1e-5)
            matched = ex.matched
            assert matched and math.isclose(sum(t.share for t in matched), 1.0, abs_tol=1e-9)
            for t in matched:
                assert t.score == pytest.approx(t.boost * t.idf * t.tf_part, rel=1e-5)
                assert t.tf_part == pytest.approx(t.freq / (t.freq + t.k1 * t.length_norm), rel=1e-5)
                assert t.idf == pytest.approx(math.log(1 + (t.n_docs - t.df + 0.5) / (t.df + 0.5)), rel=1e-5)
                assert (t.k1, t.b) == (pytest.approx(0.9), pytest.approx(0.4))
            checked += 1
    # a full-depth query too, sampled through its 1,000 hits
    rows = run.for_query("1")
    assert len(rows) == 1000
    for docid, score in list(zip(rows["docid"], rows["score"]))[::25]:
        assert abs(explain_bm25(scifact, parse_system(spec), queries["1"], docid, cache=session_cache).total - score) <= 1e-4
    assert checked == 66 + 260


def test_multifield_terms_contribute_per_field_and_flat_has_one_field(scifact, session_cache):
    queries = scifact.split_queries("test")
    run = get_run(scifact, "test", "bm25-multifield", cache=session_cache, progress=False)
    fields_seen = set()
    for docid in run.for_query("1", 20)["docid"]:
        ex = explain_bm25(scifact, parse_system("bm25-multifield"), queries["1"], docid, cache=session_cache)
        fields_seen |= {t.field for t in ex.matched}
        assert {t.field for t in ex.terms} == {"contents", "title"}  # absent terms are listed per field too
    assert fields_seen == {"contents", "title"}
    flat = explain_bm25(scifact, parse_system("bm25-flat"), queries["1"], "10608397", cache=session_cache)
    assert {t.field for t in flat.terms} == {"contents"}
    frame = flat.frame()
    assert list(frame.columns[:3]) == ["term", "field", "tf"] and frame["score"].is_monotonic_decreasing
    assert set(frame["term"]) == {"0", "dimension", "biomateri", "show", "induct", "properti"}


def test_repeated_query_word_is_one_clause_with_boost_2(scifact, session_cache):
    ex = explain_bm25(scifact, parse_system("bm25-flat"), "vitamin D vitamin", "1642727", cache=session_cache)
    vitamin = [t for t in ex.terms if t.term == "vitamin"]
    assert len(vitamin) == 1 and vitamin[0].boost == 2.0
    searcher_run = get_run(scifact, "test", "bm25-flat", cache=session_cache, progress=False)  # noqa: F841 (index built)
    from retrieval.bm25 import _searcher, build_index

    hits = _searcher(str(build_index(scifact, "flat", cache=session_cache, progress=False)), 0.9, 0.4).search(
        "vitamin D vitamin", k=5
    )
    for h in hits:
        assert (
            abs(
                explain_bm25(scifact, parse_system("bm25-flat"), "vitamin D vitamin", h.docid, cache=session_cache).total
                - h.score
            )
            <= 1e-4
        )


def test_non_matching_document_and_errors(scifact, session_cache):
    ex = explain_bm25(scifact, parse_system("bm25-flat"), "homocysteine", "4983", cache=session_cache)
    assert ex.total == 0.0 and ex.lucene_score == 0.0 and not ex.matched
    assert [t.term for t in ex.terms] == ["homocystein"] and ex.terms[0].df > 0
    with pytest.raises(RetrievalError, match="not in the Lucene index"):
        explain_bm25(scifact, parse_system("bm25-flat"), "x", "no-such-doc", cache=session_cache)
    with pytest.raises(UnknownSystem, match="not a BM25"):
        explain_bm25(scifact, parse_system("dense:all-MiniLM-L6-v2"), "x", "4983", cache=session_cache)


def test_highlights_mark_exactly_the_contributing_words(scifact, session_cache):
    queries = scifact.split_queries("test")
    run = get_run(scifact, "test", "bm25-multifield", cache=session_cache, progress=False)
    docid = run.for_query("1")["docid"].iloc[0]
    ex = explain_bm25(scifact, parse_system("bm25-multifield"), queries["1"], docid, cache=session_cache)
    spans = bm25_highlights(scifact, ex)
    doc = scifact.corpus[docid]
    assert spans and all(s.weight > 0 for s in spans)
    weights = {("title" if t.field == "title" else "text", t.term): t.score for t in ex.matched}
    for s in spans:
        word = s.text_of(doc.title, doc.text)
        assert word and analyse_with_offsets(word)[0][0] == s.label
        assert s.weight == pytest.approx(weights[(s.field, s.label)])
    assert {(s.field, s.label) for s in spans} == set(weights)


def test_offsets_are_python_indices_beyond_the_bmp():
    text = "𝛼 vitamins improved bones"
    toks = analyse_with_offsets(text)
    assert [(t, text[a:b]) for t, a, b in toks][-3:] == [("vitamin", "vitamins"), ("improv", "improved"), ("bone", "bones")]


def test_cli_prints_each_term_their_sum_and_the_run_score(scifact, session_cache, capsys):
    from retrieval.cli import main

    run = get_run(scifact, "test", "bm25-flat", cache=session_cache, progress=False)
    docid = run.for_query("1")["docid"].iloc[2]
    score = float(run.for_query("1")["score"].iloc[2])
    code = main(
        [
            "explain",
            "--dataset",
            str(scifact.path),
            "--cache-dir",
            str(session_cache.root),
            "--system",
            "bm25-flat",
            "--qid",
            "1",
            "--docid",
            docid,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "dimension" in out and "biomateri" in out
    total = float(out.split("sum of term parts:")[1].split()[0])
    shown = float(out.split("run's score:")[1].split()[0])
    assert shown == pytest.approx(score, abs=1e-6) and abs(total - score) <= 1e-4
    assert (
        main(
            [
                "explain",
                "--dataset",
                str(scifact.path),
                "--cache-dir",
                str(session_cache.root),
                "--system",
                "bm25-flat",
                "--qid",
                "nope",
                "--docid",
                docid,
            ]
        )
        == 2
    )
