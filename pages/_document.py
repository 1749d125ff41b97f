"""The document dialog: one document in full, highlighted, and why each system column ranked it there.

"Why here" is computed when the dialog opens, for the columns that show the document, never while the
ranking view renders: BM25 term parts (Lucene's explanation), dense sentence matches, reranker word
occlusion (``retrieval.explain``). Results are kept per (dataset, system, query, document) in
``st.cache_resource`` on top of the backend's own memo and disk cache. All document text goes through
``view.text`` / ``view.explain_display`` escaping, so it is shown as text.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import _cached as data
from pages import _state as state
from view import cards, text
from view import explain_display as display

DIALOG_CHARS = 4000
TOP_SENTENCES = 3
NUMBER = st.column_config.NumberColumn


@st.dialog("Document", width="large")
def show_document(ds_name: str, docid: str, query: str, grade: int | None, ranks: dict[str, str]) -> None:
    doc = data.dataset(ds_name).corpus.get(docid)
    if doc is None:
        st.error(f"Document {data.esc(docid)} is not in {data.esc(ds_name)}'s corpus.")
        return
    st.markdown(f"**{cards.highlighted_md(doc.title, query) or '(no title)'}**")
    st.markdown(f"{cards.grade_md(grade)}  · document {text.escape_markdown(docid)}")
    if ranks:
        st.caption(" · ".join(f"{text.escape_markdown(n)}: {r}" for n, r in ranks.items()))
    columns = shown_in(ranks)
    tabs = st.tabs(["Text", *(f"Why here: {data.display_name(s)}" for s in columns)])
    with tabs[0]:
        body = text.normalize_space(doc.text)
        show_all = len(body) <= DIALOG_CHARS or st.toggle(f"Show all {len(body):,} characters", key=f"all_{docid}")
        shown, cut = (body, False) if show_all else text.truncate(body, DIALOG_CHARS)
        st.markdown(cards.highlighted_md(shown, query))
        if cut:
            st.caption(f"Showing the first {len(shown):,} of {len(body):,} characters.")
        with st.expander("Plain text (as stored)"):
            st.text(doc.text)
    for tab, spec in zip(tabs[1:], columns):
        with tab:
            why_here(ds_name, spec, query, docid)


def open_document(docid: str, grade: int | None, ranks: dict[str, str]) -> None:
    st.session_state["_open_doc"] = (docid, grade, ranks)


def shown_in(ranks: dict[str, str]) -> list[str]:
    """The system specs of the view whose column shows the document (``ranks``: display name -> "#rank" or
    "not in top N"; only ranked columns count)."""
    specs = state.view().get("systems") or []
    return [s for s in specs if str(ranks.get(data.display_name(s), "")).startswith("#")]


def _view_qid() -> tuple[str | None, str | None]:
    """(qid, split) of the judged query on view; (None, None) for a typed query (whose document has no rank in
    the judged query's run: attaching one would explain the typed query with another query's score)."""
    v = state.view()
    if v["mode"] == "free":
        return None, None
    return v.get("qid"), v.get("split")


@st.cache_resource(max_entries=128, show_spinner=False)
def _explain(
    ds_name: str, data_dir_text: str, root: str, spec: str, query: str, docid: str, qid: str | None, split: str | None
) -> Any:
    from retrieval.explain import explain_document

    run = None
    if qid is not None and split is not None:
        lookup = data.run_lookup(ds_name, split, spec)
        run = lookup.run if lookup is not None else None
    return explain_document(data.dataset(ds_name), data.system_info(spec)[0], query, docid, cache=data.cache(), run=run, qid=qid)


@st.cache_resource(max_entries=128, show_spinner=False)
def _bm25_spans(
    ds_name: str, data_dir_text: str, root: str, spec: str, query: str, docid: str, qid: str | None, split: str | None
) -> list:
    from retrieval.explain.bm25 import bm25_highlights

    return bm25_highlights(data.dataset(ds_name), _explain(ds_name, data_dir_text, root, spec, query, docid, qid, split))


def why_here(ds_name: str, spec: str, query: str, docid: str) -> None:
    """One system's explanation of the document, or why there is none."""
    from retrieval.errors import RetrievalError

    if spec in state.uploads():
        st.info("An uploaded run: there is no model here to explain its scores.")
        return
    system, available, message = data.system_info(spec)
    if system is None or not available:
        st.warning(f"Cannot explain: the model is not here. {message}", icon=":material/block:")
        return
    qid, split = _view_qid()
    args = (ds_name, str(data.data_dir() or ""), data.cache_root(), spec, query, docid, qid, split)
    family = getattr(system, "family", "")
    label = {"bm25": "Reading Lucene's explanation…", "dense": "Encoding the document's sentences…"}.get(
        family, "Scoring the document with each word left out…"
    )
    try:
        with st.spinner(label, show_time=True):
            expl = _explain(*args)
            spans = _bm25_spans(*args) if family == "bm25" else None
    except (RetrievalError, NotImplementedError) as exc:
        st.warning(f"Cannot explain {data.name_md(spec)} here: {data.esc(exc, joiners=False)}")
        return
    doc = data.dataset(ds_name).corpus[docid]
    if family == "bm25":
        bm25_view(expl, spans, doc)
    elif family == "dense":
        dense_view(expl, doc)
    else:
        saliency_view(expl, doc)


def highlighted(doc, spans, top: int | None = None, negative: bool = False, legend: str | None = None) -> None:
    scale = max((abs(s.weight) for s in spans), default=0.0)  # one scale for title and text
    title = display.weighted_markdown(doc.title, display.spans_in(spans, "title", top), scale=scale)
    body = display.weighted_markdown(doc.text, display.spans_in(spans, "text", top), limit=DIALOG_CHARS, scale=scale)
    if title:
        st.markdown(f"**{title}**")
    st.markdown(body + (" …" if len(doc.text) > DIALOG_CHARS else ""))
    st.caption("Highlight: " + (legend or display.legend_markdown(negative)))


def bm25_view(expl, spans, doc) -> None:
    table = display.bm25_table(expl)
    run = f"; the run's score {expl.run_score:.4f} (rank {expl.rank})" if expl.run_score is not None else ""
    st.markdown(f"**BM25 score {expl.total:.4f}** = sum of the term parts below (Lucene: {expl.lucene_score:.4f}{run}).")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "tf": NUMBER(format="%g", help="term frequency in the field"),
            "df": NUMBER(help="documents holding the term"),
            "idf": NUMBER(format="%.3f", help="ln(1 + (N - df + 0.5) / (df + 0.5))"),
            "norm": NUMBER(
                format="%.3f",
                help=f"length normalisation 1 - b + b·dl/avgdl (k1={expl.params.get('k1', 0.9):g}, b={expl.params.get('b', 0.4):g})",
            ),
            "part": NUMBER(format="%.4f", help="idf · tf / (tf + k1·norm) · boost: this term's share of the score"),
            "share": NUMBER(format="percent"),
        },
    )
    st.caption("Terms as Lucene analyses them (stemmed, stop words removed); terms the document lacks have part 0.")
    highlighted(doc, spans)


def dense_view(expl, doc) -> None:
    sim = "dot product" if expl.similarity == "dot" else "cosine"
    st.markdown(
        f"**{sim} {expl.score:.4f}** between the query and the whole document ({data.esc(expl.model)}); "
        f"its {min(TOP_SENTENCES, len(expl.sentences))} closest sentences to the query are highlighted."
    )
    st.dataframe(
        display.sentence_table(expl, TOP_SENTENCES),
        hide_index=True,
        width="stretch",
        column_config={
            "rank": NUMBER(width="small"),
            "cosine": NUMBER(format="%.4f", width="small"),
            "field": st.column_config.TextColumn(width="small"),
            "sentence": st.column_config.TextColumn(width="large"),
        },
    )
    best = display.by_rank([sc.span for sc in expl.sentences[:TOP_SENTENCES]])
    highlighted(doc, best, legend=display.rank_legend(len(best)) + " sentence to the query (by cosine)")


def saliency_view(sal, doc) -> None:
    from retrieval.explain.saliency import LEGEND

    st.markdown(
        f"**Score {sal.base_score:.4f}** · method: **{sal.method}** (each word left out in turn; a word's value is the score drop)."
    )
    st.caption(LEGEND)
    st.dataframe(display.top_words(sal, 10), hide_index=True, width="stretch", column_config={"saliency": NUMBER(format="%+.4f")})
    highlighted(doc, sal.words, negative=True)
