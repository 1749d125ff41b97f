"""BM25 term contributions, read from Lucene's own explanation of a hit.

For a query and a document, :func:`explain_bm25` builds the query exactly as the run's searcher does
(Anserini's ``BagOfWordsQueryGenerator`` over ``contents`` for ``bm25-flat``, over ``contents`` and
``title`` with weight 1.0 each for ``bm25-multifield``; a query word that occurs twice becomes one clause
with boost 2), on the same cached index, with the searcher's own similarity (``BM25(k1=0.9, b=0.4)``), and
asks ``IndexSearcher.explain`` for that document. Lucene's explanation is a sum over matching
(field, term) clauses of ``boost * idf * tf`` with

* ``idf = ln(1 + (N - n + 0.5) / (n + 0.5))`` (``n`` = document frequency, ``N`` = documents with the field),
* ``tf = freq / (freq + k1 * (1 - b + b * dl / avgdl))`` (``dl`` as Lucene stores it: a one-byte
  approximation of the field length, exact up to 40 tokens),

and those parts add up to the run's score to within 5e-5: Anserini rounds every hit's score to four
decimals (``6.598821`` in the explanation is ``6.5988`` in the run); the test checks 1e-4 for every hit
of several SciFact queries under both conditions.
Query terms the document lacks are listed too, with score 0, so a reader sees what is missing.
A multifield term can contribute once per field. Results are memoised per process (cheap: one
``explain`` call, a few milliseconds).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..beir import BeirDataset
from ..cache import Cache
from ..errors import RetrievalError, UnknownSystem
from ..run import Run
from .spans import WeightedSpan

_LEAF = re.compile(r"^weight\((?P<field>[^:]+):(?P<term>.*) in \d+\) \[")
# the Lucene field holding each BEIR field, per condition
FIELD_OF = {"flat": {"title": "contents", "text": "contents"}, "multifield": {"title": "title", "text": "contents"}}


@dataclass(frozen=True)
class TermContribution:
    """One (field, analysed term) clause of the BM25 sum for one document.

    ``length_norm`` is ``1 - b + b * dl / avgdl`` (above 1 for documents longer than average);
    ``tf_part`` is ``freq / (freq + k1 * length_norm)``; ``score = boost * idf * tf_part``; ``share`` is
    ``score`` over the document's total. Absent terms have ``freq`` 0, ``score`` 0 and NaN length parts.
    """

    term: str
    field: str
    freq: float
    df: int
    n_docs: int
    idf: float
    boost: float
    k1: float
    b: float
    dl: float
    avgdl: float
    length_norm: float
    tf_part: float
    score: float
    share: float


@dataclass(frozen=True)
class BM25Explanation:
    """Why ``docid`` got its BM25 score for ``query``: one :class:`TermContribution` per clause.

    ``total`` is the sum of the parts, ``lucene_score`` the value at the root of Lucene's explanation,
    ``run_score``/``rank`` the document's score and rank in the run (``None`` when no run was given or
    the run does not hold the document).
    """

    system: str
    query: str
    docid: str
    terms: tuple[TermContribution, ...]
    lucene_score: float
    qid: str | None = None
    run_score: float | None = None
    rank: int | None = None
    params: dict[str, float] = field(default_factory=dict)
    condition: str = "flat"  # Pyserini's BEIR condition: which Lucene field holds each BEIR field (FIELD_OF)

    @property
    def total(self) -> float:
        return float(sum(t.score for t in self.terms))

    @property
    def matched(self) -> tuple[TermContribution, ...]:
        return tuple(t for t in self.terms if t.freq > 0)

    def frame(self) -> pd.DataFrame:
        """One row per clause, largest contribution first: term, field, tf, df, N, idf, boost, dl, avgdl,
        length_norm, tf_part, score, share."""
        rows = [
            {
                "term": t.term,
                "field": t.field,
                "tf": t.freq,
                "df": t.df,
                "N": t.n_docs,
                "idf": t.idf,
                "boost": t.boost,
                "dl": t.dl,
                "avgdl": t.avgdl,
                "length_norm": t.length_norm,
                "tf_part": t.tf_part,
                "score": t.score,
                "share": t.share,
            }
            for t in self.terms
        ]
        cols = ["term", "field", "tf", "df", "N", "idf", "boost", "dl", "avgdl", "length_norm", "tf_part", "score", "share"]
        return pd.DataFrame(rows, columns=cols)

    def report(self, document: Any = None, run_line: str = "", run_score: float | None = None, top: int = 10) -> str:
        """Plain text for the command line: every clause's part, their sum, Lucene's value and the run's line."""
        frame = self.frame()
        frame = frame[
            ["field", "term", "tf", "df", "N", "idf", "boost", "dl", "avgdl", "length_norm", "tf_part", "score", "share"]
        ]
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            table = frame.to_string(index=False, float_format=lambda v: f"{v:.6f}", na_rep="-")
        lines = [table, f"\nsum of term parts: {self.total:.6f}"]
        lines.append(f"Lucene's explanation: {self.lucene_score:.6f}  (k1={self.params['k1']:g}, b={self.params['b']:g})")
        lines += [run_line] if run_line else []
        if run_score is not None:
            lines.append(f"difference (sum - run): {self.total - run_score:+.2e}  (Anserini rounds run scores to 4 decimals)")
        return "\n".join(lines)

    def term_weights(self, lucene_field: str | None = None) -> dict[str, float]:
        """``{analysed term: score}`` (summed over fields unless ``lucene_field`` picks one)."""
        out: dict[str, float] = {}
        for t in self.terms:
            if lucene_field is None or t.field == lucene_field:
                out[t.term] = out.get(t.term, 0.0) + t.score
        return out


def _condition(system: Any) -> tuple[str, dict[str, Any], str]:
    """(condition, parameters, spec) of a BM25 system (:class:`~retrieval.bm25.BM25`, which calls this module
    from its ``explain``); anything else has no term contributions."""
    if not hasattr(system, "condition") or not hasattr(system, "index"):
        raise UnknownSystem(
            f"{getattr(system, 'spec', system)} is not a BM25 system; term contributions exist for bm25-flat and bm25-multifield"
        )
    return system.condition, dict(system.params), system.spec


def explain_bm25(
    dataset: BeirDataset,
    system: Any,
    query: str,
    docid: str,
    *,
    cache: Cache | None = None,
    run: Run | None = None,
    qid: str | None = None,
) -> BM25Explanation:
    """Term contributions of ``docid`` for ``query`` under a BM25 system (a :class:`~retrieval.bm25.BM25`: its
    ``explain`` calls this), from Lucene's explanation on the system's cached index.

    Give ``run`` and ``qid`` to attach the document's score and rank in that run. Raises
    :class:`RetrievalError` when the document is not in the index.
    """
    condition, params, spec = _condition(system)
    cache = cache or Cache()
    index = system.index(dataset, cache)
    expl = _explain_cached(str(index), _fields(condition), float(params["k1"]), float(params["b"]), query, str(docid))
    run_score = rank = None
    if run is not None and qid is not None:
        rows = run.for_query(str(qid))
        hit = rows[rows["docid"] == str(docid)]
        if len(hit):
            run_score, rank = float(hit["score"].iloc[0]), int(hit["rank"].iloc[0])
    return BM25Explanation(
        spec,
        query,
        str(docid),
        expl[0],
        expl[1],
        None if qid is None else str(qid),
        run_score,
        rank,
        {"k1": float(params["k1"]), "b": float(params["b"])},
        condition,
    )


def _fields(condition: str) -> tuple[tuple[str, float], ...] | None:
    """The Lucene fields and weights a condition's query searches (``None``: ``contents`` alone), hashable."""
    return None if condition == "flat" else tuple((FIELD_OF[condition][f], 1.0) for f in ("text", "title"))


@functools.lru_cache(maxsize=8)
def _searcher(index: str, k1: float, b: float):
    """pyserini's LuceneSearcher on ``index`` with the run's BM25 parameters (starts the JVM with Anserini's
    classpath, before jnius is imported)."""
    from ..lucene import pyserini_search

    searcher = pyserini_search().LuceneSearcher(index)
    searcher.set_bm25(k1, b)
    return searcher


@functools.lru_cache(maxsize=32)
def _query_context(
    index: str, field_weights: tuple[tuple[str, float], ...] | None, k1: float, b: float, query: str
) -> tuple[Any, Any, Any, dict[str, int], dict[str, int]]:
    """Per (index, query): the reader, an IndexSearcher with the run's similarity, the Lucene query, the
    analysed query terms with their counts, and per field the number of documents having it."""
    searcher = _searcher(index, k1, b)  # starts the JVM with pyserini's classpath: before importing jnius
    from jnius import autoclass

    jobj = searcher.object
    reader = jobj.reader
    fields = dict(field_weights or (("contents", 1.0),))
    jquery = _build_query(jobj, query, fields, multi=field_weights is not None)
    isearcher = autoclass("org.apache.lucene.search.IndexSearcher")(reader)
    isearcher.setSimilarity(jobj.get_similarity())
    n_docs = {}
    for fname in fields:
        stats = isearcher.collectionStatistics(fname)
        n_docs[fname] = int(stats.docCount()) if stats is not None else 0
    # One Weight per query (what IndexSearcher.explain would rebuild for every document).
    score_mode = autoclass("org.apache.lucene.search.ScoreMode").COMPLETE
    weight = isearcher.createWeight(isearcher.rewrite(jquery), score_mode, 1.0)
    leaves = reader.leaves()
    segments = [leaves.get(i) for i in range(leaves.size())]
    return reader, (weight, segments), jquery, _query_term_counts(jobj, query), n_docs


@functools.lru_cache(maxsize=2048)
def _explain_cached(
    index: str, field_weights: tuple[tuple[str, float], ...] | None, k1: float, b: float, query: str, docid: str
) -> tuple[tuple[TermContribution, ...], float]:
    reader, (weight, segments), _, counts, n_docs = _query_context(index, field_weights, k1, b, query)
    from jnius import autoclass

    lucene_docid = autoclass("io.anserini.index.IndexReaderUtils").convertDocidToLuceneDocid(reader, docid)
    if lucene_docid < 0:
        raise RetrievalError(f"document {docid!r} is not in the Lucene index {index}")
    segment = next(c for c in reversed(segments) if c.docBase <= lucene_docid)
    root = _parse_explanation(weight.explain(segment, lucene_docid - segment.docBase).toString())
    leaves: list[dict[str, Any]] = []
    _walk(root, leaves)
    lucene_score = root.value
    total = sum(leaf["score"] for leaf in leaves)
    terms = [TermContribution(**leaf, share=(leaf["score"] / total if total > 0 else 0.0)) for leaf in leaves]
    # query terms the document lacks, per field, with score 0
    seen = {(t.field, t.term) for t in terms}
    fields = dict(field_weights or (("contents", 1.0),))
    nan = float("nan")
    for fname, weight in fields.items():
        n = n_docs[fname]
        for term, count in counts.items():
            if (fname, term) not in seen:
                df = _doc_freq(index, field_weights, k1, b, query, fname, term)
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5)) if n else nan
                terms.append(
                    TermContribution(term, fname, 0.0, df, n, idf, float(count * weight), k1, b, nan, nan, nan, 0.0, 0.0, 0.0)
                )
    terms.sort(key=lambda t: (-t.score, t.field, t.term))
    return tuple(terms), lucene_score


@functools.lru_cache(maxsize=4096)
def _doc_freq(
    index: str, field_weights: tuple[tuple[str, float], ...] | None, k1: float, b: float, query: str, fname: str, term: str
) -> int:
    from jnius import autoclass

    reader = _query_context(index, field_weights, k1, b, query)[0]
    return int(reader.docFreq(autoclass("org.apache.lucene.index.Term")(fname, term)))


def _build_query(jobj: Any, query: str, fields: dict[str, float], *, multi: bool) -> Any:
    """The Lucene query Anserini's SimpleSearcher builds for ``search`` (one field) / ``search_fields``."""
    from jnius import autoclass

    generator = autoclass("io.anserini.search.query.BagOfWordsQueryGenerator")()
    if not multi:
        return generator.buildQuery("contents", jobj.get_analyzer(), query)
    jfields = autoclass("java.util.HashMap")()
    JFloat = autoclass("java.lang.Float")
    for name, weight in fields.items():
        jfields.put(name, JFloat(float(weight)))
    return generator.buildQuery(jfields, jobj.get_analyzer(), query)


def _query_term_counts(jobj: Any, query: str) -> dict[str, int]:
    from jnius import autoclass

    tokens = autoclass("io.anserini.analysis.AnalyzerUtils").analyze(jobj.get_analyzer(), query)
    counts: dict[str, int] = {}
    for i in range(tokens.size()):
        t = tokens.get(i)
        counts[t] = counts.get(t, 0) + 1
    return counts


@dataclass
class _Node:
    value: float
    description: str
    details: list[_Node]


def _parse_explanation(text: str) -> _Node:
    """Lucene's ``Explanation.toString()`` (``value = description`` lines, two spaces of indent per level)
    as a tree: one JNI call per document instead of several per node. Values print as Java's shortest
    round-tripping float text, so nothing is lost."""
    root: _Node | None = None
    stack: list[tuple[int, _Node]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        value_text, _, description = line.strip().partition(" = ")
        try:
            value = float(value_text)
        except ValueError:
            raise RetrievalError(f"cannot read Lucene's explanation line {line!r}") from None
        node = _Node(value, description, [])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1].details.append(node)
        elif root is None:
            root = node
        else:
            raise RetrievalError("Lucene's explanation has more than one root")
        stack.append((depth, node))
    if root is None:
        raise RetrievalError("Lucene returned an empty explanation")
    return root


def _walk(node: _Node, out: list[dict[str, Any]]) -> None:
    desc = node.description
    m = _LEAF.match(desc)
    if m:
        out.append(_leaf(node, m.group("field"), m.group("term")))
        return
    if desc.startswith("sum of") or desc.lower().startswith("no match"):
        for child in node.details:
            _walk(child, out)
        return
    raise RetrievalError(f"unexpected node in Lucene's BM25 explanation: {desc!r} (a query shape this module does not know)")


def _details(node: _Node) -> dict[str, _Node]:
    return {d.description.split(",", 1)[0].split(" ", 1)[0]: d for d in node.details}


def _leaf(node: _Node, fname: str, term: str) -> dict[str, Any]:
    parts = _details(node.details[0]) if node.details else {}
    if "idf" not in parts or "tf" not in parts:
        raise RetrievalError(f"Lucene's explanation of {fname}:{term} lacks its idf/tf parts")
    idf_parts, tf_parts = _details(parts["idf"]), _details(parts["tf"])
    k1, b = tf_parts["k1"].value, tf_parts["b"].value
    dl, avgdl = tf_parts["dl"].value, tf_parts["avgdl"].value
    return {
        "term": term,
        "field": fname,
        "freq": tf_parts["freq"].value,
        "df": int(idf_parts["n"].value),
        "n_docs": int(idf_parts["N"].value),
        "idf": parts["idf"].value,
        "boost": parts["boost"].value if "boost" in parts else 1.0,
        "k1": k1,
        "b": b,
        "dl": dl,
        "avgdl": avgdl,
        "length_norm": 1 - b + b * dl / avgdl,
        "tf_part": parts["tf"].value,
        "score": node.value,
    }


# ---- highlighting -------------------------------------------------------------------------------
def bm25_highlights(dataset: BeirDataset, explanation: BM25Explanation) -> list[WeightedSpan]:
    """Spans of the document's title and text whose analysed token is a matching query term, weighted by
    that term's contribution in the Lucene field the BEIR field went into (``contents`` for both under
    ``bm25-flat``; ``title``/``contents`` under ``bm25-multifield``). Tokens come from the index's own
    analyzer (Porter stemming, stop words), so the highlighted words are exactly the ones that counted."""
    doc = dataset.corpus.get(explanation.docid)
    if doc is None:
        raise RetrievalError(f"document {explanation.docid!r} is not in {dataset.name}")
    condition = explanation.condition
    spans: list[WeightedSpan] = []
    for beir_field, text in (("title", doc.title), ("text", doc.text)):
        weights = explanation.term_weights(FIELD_OF[condition][beir_field])
        for term, start, end in analyse_with_offsets(text, FIELD_OF[condition][beir_field]):
            w = weights.get(term, 0.0)
            if w > 0:
                spans.append(WeightedSpan(beir_field, start, end, w, term))
    return spans


def analyse_with_offsets(text: str, lucene_field: str = "contents") -> list[tuple[str, int, int]]:
    """``(analysed term, start, end)`` for each token Anserini's default English analyzer makes of ``text``;
    offsets are Python string indices (Java's UTF-16 offsets converted)."""
    if not text:
        return []
    from ..lucene import jnius

    java = jnius()  # the JVM must start with Anserini's classpath, before jnius is imported
    autoclass, cast = java.autoclass, java.cast

    analyzer = autoclass("io.anserini.analysis.DefaultEnglishAnalyzer").newDefaultInstance()
    JClass = autoclass("java.lang.Class")
    stream = analyzer.tokenStream(lucene_field, text)
    offsets = cast(
        "org.apache.lucene.analysis.tokenattributes.OffsetAttribute",
        stream.addAttribute(JClass.forName("org.apache.lucene.analysis.tokenattributes.OffsetAttribute")),
    )
    chars = cast(
        "org.apache.lucene.analysis.tokenattributes.CharTermAttribute",
        stream.addAttribute(JClass.forName("org.apache.lucene.analysis.tokenattributes.CharTermAttribute")),
    )
    to_py = _utf16_to_index(text)
    out = []
    try:
        stream.reset()
        while stream.incrementToken():
            out.append((chars.toString(), to_py(offsets.startOffset()), to_py(offsets.endOffset())))
        stream.end()
    finally:
        stream.close()
    return out


def _utf16_to_index(text: str):
    if all(ord(c) < 0x10000 for c in text):
        return lambda i: i
    table = []
    for i, c in enumerate(text):
        table.extend([i] * (2 if ord(c) >= 0x10000 else 1))
    table.append(len(text))
    return lambda i: table[min(i, len(table) - 1)]
