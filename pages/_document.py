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
def show_document(ds_name: str, docid: str, query: str, grade: int | None, ranks: dict[str, str], why: bool = False) -> None:
    doc = data.dataset(ds_name).corpus.get(docid)
    if doc is None:
        st.error(f"Document {data.esc(docid)} is not in {data.esc(ds_name)}'s corpus.")
        return
    st.markdown(f"**{cards.highlighted_md(doc.title, query) or '(no title)'}**")
    st.markdown(f"{cards.grade_md(grade)}  · document {text.escape_markdown(docid)}")
    if ranks:
        st.caption(" · ".join(f"{data.name_md(s)}: {r}" for s, r in ranks.items()))
    judge_here(ds_name, docid)
    columns = shown_in(ranks)
    names = ["Text", *(f"Why here: {data.display_name(s)}" for s in columns)]
    # Lazy: only the open tab runs (an explanation can take seconds, a reranker's occlusion minutes on a CPU). The
    # column the document was opened from comes first, open.
    clicked = next(iter(ranks), None) if why else None
    default = names[1 + columns.index(clicked)] if clicked in columns else names[0]
    tabs = st.tabs(names, default=default, on_change="rerun", key=f"doc_tabs_{docid}")
    if tabs[0].open:
        text_tab(tabs[0], doc, query, docid)
    for tab, spec in zip(tabs[1:], columns):
        if tab.open:
            with tab:
                why_here(ds_name, spec, query, docid)


def text_tab(tab, doc, query: str, docid: str) -> None:
    with tab:
        body = text.normalize_space(doc.text)
        show_all = len(body) <= DIALOG_CHARS or st.toggle(f"Show all {len(body):,} characters", key=f"all_{docid}")
        shown, cut = (body, False) if show_all else text.truncate(body, DIALOG_CHARS)
        st.markdown(cards.highlighted_md(shown, query))
        if cut:
            st.caption(f"Showing the first {len(shown):,} of {len(body):,} characters.")
        with st.expander("Plain text (as stored)"):
            st.text(doc.text)


def judge_here(ds_name: str, docid: str) -> None:
    """The dialog's judging: this judge's value for the query on view, one button per grade, can't tell, clear,
    and a note; the other judges' values beside it."""
    from pages import _judging as judging
    from view.judging import grade_word, value_text

    qid, split = _view_qid()
    if qid is None:
        return
    why = judging.off_reason() or ("" if judging.judge() else "Give your name in the sidebar to judge.")
    if why:
        st.caption(data.esc(why, joiners=False))
        return
    items = judging.for_query(ds_name, split, qid).get(docid, [])
    me = judging.judge()
    mine = next((i for i in items if i.judge == me), None)
    scale = judging.scale(ds_name, split)
    current = None if mine is None else ("cant" if mine.cant_tell else str(mine.grade))
    values = [*map(str, scale), "cant"] + (["clear"] if current is not None else [])
    cols = st.columns(len(values) + 2, vertical_alignment="bottom")
    note = cols[-2].text_input(
        "Note", mine.note if mine is not None and mine.note else "", key=f"dlg_note_{docid}", max_chars=500
    )
    for col, value in zip(cols, values):
        label = {"cant": "can't tell", "clear": "clear"}.get(value) or f"{value} {grade_word(int(value), scale)}"
        col.button(
            label,
            key=f"dlg_j_{docid}_{value}",
            type="primary" if value == current else "secondary",
            on_click=judging.write,
            args=(ds_name, split, qid, docid, value, note),
        )
    others = [i for i in items if i is not mine]
    if others:
        st.caption("Judged here by " + "; ".join(f"{data.esc(i.judge)}: {data.esc(value_text(i))}" for i in others))
    judging.said()


def open_document(docid: str, grade: int | None, ranks: dict[str, str], why: bool = False) -> None:
    """Open the dialog on ``docid``: on its text, or (``why``) on the explanation of the first column of ``ranks``."""
    st.session_state["_open_doc"] = (docid, grade, ranks, why)


def shown_in(ranks: dict[str, str]) -> list[str]:
    """The columns (canonical specs, in the view's order) that rank the document (``ranks``: spec -> "#rank" or
    "not in top N"; only ranked columns count)."""
    specs = [data.canonical(s) for s in state.view().get("systems") or []]
    return [s for s in specs if str(ranks.get(s, "")).startswith("#")]


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
    system = data.choice(spec).system
    run, inputs = None, ()
    if qid is not None and split is not None:
        lookup = data.run_lookup(ds_name, split, spec)
        run = lookup.run if lookup is not None else None
        found = [data.run_lookup(ds_name, split, s.spec) for s in system.inputs]
        inputs = tuple(lk.run for lk in found if lk is not None)
    return system.explain(data.dataset(ds_name), query, docid, cache=data.cache(), run=run, qid=qid, input_runs=inputs)


def why_here(ds_name: str, spec: str, query: str, docid: str) -> None:
    """One system's explanation of the document, or why there is none."""
    from retrieval.errors import RetrievalError

    if spec in state.uploads():
        st.info("An uploaded run: there is no model here to explain its scores.")
        return
    c = data.choice(spec)
    if c.system is None or not c.available:
        st.warning(f"Cannot explain: the model is not here. {c.message}", icon=":material/block:")
        return
    qid, split = _view_qid()
    args = (ds_name, str(data.data_dir() or ""), data.cache_root(), c.spec, query, docid, qid, split)
    try:
        with st.spinner(c.system.explain_label, show_time=True):
            expl = _explain(*args)
    except (RetrievalError, NotImplementedError) as exc:
        st.warning(f"Cannot explain {data.esc(c.name)} here: {data.esc(exc, joiners=False)}")
        return
    doc = data.dataset(ds_name).corpus[docid]
    VIEWS[type(expl).__name__](expl, doc, ds_name)


def highlighted(doc, spans, top: int | None = None, negative: bool = False, legend: str | None = None) -> None:
    scale = max((abs(s.weight) for s in spans), default=0.0)  # one scale for title and text
    title = display.weighted_markdown(doc.title, display.spans_in(spans, "title", top), scale=scale)
    body = display.weighted_markdown(doc.text, display.spans_in(spans, "text", top), limit=DIALOG_CHARS, scale=scale)
    if title:
        st.markdown(f"**{title}**")
    st.markdown(body + (" …" if len(doc.text) > DIALOG_CHARS else ""))
    st.caption("Highlight: " + (legend or display.legend_markdown(negative)))


def bm25_view(expl, doc, ds_name: str) -> None:
    spans = _bm25_spans(ds_name, expl.system, expl.query, expl.docid, expl)
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


@st.cache_resource(max_entries=128, show_spinner=False)
def _bm25_spans(ds_name: str, spec: str, query: str, docid: str, _expl) -> list:
    """The document's words that counted, weighted by their terms' parts (kept per system, query and document;
    the explanation itself is not hashed)."""
    from retrieval.explain.bm25 import bm25_highlights

    return bm25_highlights(data.dataset(ds_name), _expl)


def dense_view(expl, doc, ds_name: str) -> None:
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


def saliency_view(sal, doc, ds_name: str) -> None:
    from retrieval.explain.saliency import LEGEND

    st.markdown(
        f"**Score {sal.base_score:.4f}** · method: **{sal.method}** (each word left out in turn; a word's value is the score drop)."
    )
    st.caption(LEGEND)
    st.dataframe(display.top_words(sal, 10), hide_index=True, width="stretch", column_config={"saliency": NUMBER(format="%+.4f")})
    highlighted(doc, sal.words, negative=True)


def fusion_view(expl, doc, ds_name: str) -> None:
    rule = f"1 / ({expl.setting.removeprefix('k=')} + rank)" if expl.method == "rrf" else "its normalised score"
    st.markdown(
        f"**Fused score {expl.total:.4f}**: the document was {data.esc(expl.summary())}. Each fused run adds {data.esc(rule)}."
    )
    st.dataframe(
        expl.frame(),
        hide_index=True,
        width="stretch",
        column_config={
            "rank": NUMBER(format="%d"),
            "score": NUMBER(format="%.4f"),
            "part": NUMBER(format="%.5f"),
            "share": NUMBER(format="percent"),
        },
    )


# How each kind of explanation is drawn, by the explanation's type (what each system's ``explain`` returns).
VIEWS = {
    "BM25Explanation": bm25_view,
    "DenseExplanation": dense_view,
    "Saliency": saliency_view,
    "FusionExplanation": fusion_view,
}
