"""Compare: one query, 2 to 4 systems side by side."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # AppTest runs a page file directly
    sys.path.insert(0, _ROOT)

import streamlit as st

from pages import _shared as sh
from retrieval import columns, runner, stats, text
from retrieval.errors import DataFormatError, RetrievalError
from retrieval.run import Run

BADGE_MD = {
    "relevant": ":green-badge[:material/check_circle: {label}]",
    "not_relevant": ":gray-badge[:material/block: {label}]",
    "unjudged": ":orange-badge[:material/help: {label}]",
}
SNIPPET_CHARS = 320
DIALOG_CHARS = 4000


def card_key(spec: str, docid: str) -> str:
    """A widget-safe key (also a CSS class ``st-key-...``) for one document card."""
    return "card-" + "".join(c if c.isalnum() else "_" for c in f"{spec}-{docid}")


@functools.lru_cache(maxsize=8192)
def card_text_md(title: str, body: str, query: str, chars: int) -> tuple[str, str]:
    """(title, snippet) Markdown for one card; memoised, as a card's text only depends on these."""
    terms = text.query_terms(query)
    title_md = text.to_markdown(text.highlight(text.normalize_space(title), terms)) or "*(no title)*"
    return title_md, text.to_markdown(text.snippet(body, terms, chars).spans)


def badge_md(badge: columns.Badge) -> str:
    return BADGE_MD[badge.kind].format(label=badge.label)


# ---- the document dialog ------------------------------------------------------------------------
@st.dialog("Document", width="large")
def show_document(ds_name: str, docid: str, query: str, grade: int | None, ranks: dict[str, str]) -> None:
    ds = sh.dataset(ds_name)
    doc = ds.corpus.get(docid)
    if doc is None:
        st.error(f"Document {sh.esc(docid)} is not in {sh.esc(ds_name)}'s corpus.")
        return
    terms = text.query_terms(query)
    st.markdown(f"**{text.to_markdown(text.highlight(doc.title, terms)) or '(no title)'}**")
    st.markdown(f"{badge_md(columns.relevance_badge(grade))}  · document {text.escape_markdown(docid)}")
    if ranks:
        st.caption(" · ".join(f"{text.escape_markdown(n)}: {r}" for n, r in ranks.items()))
    body = text.normalize_space(doc.text)
    show_all = len(body) <= DIALOG_CHARS or st.toggle(f"Show all {len(body):,} characters", key=f"all_{docid}")
    shown, cut = (body, False) if show_all else text.truncate(body, DIALOG_CHARS)
    st.markdown(text.to_markdown(text.highlight(shown, terms)))
    if cut:
        st.caption(f"Showing the first {len(shown):,} of {len(body):,} characters.")
    with st.expander("Plain text (as stored)"):
        st.text(doc.text)


def open_document(docid: str, grade: int | None, ranks: dict[str, str]) -> None:
    st.session_state["_open_doc"] = (docid, grade, ranks)


# ---- sidebar ----------------------------------------------------------------------------------------
def sidebar_systems(ds_name: str, split: str, v: dict) -> list[str]:
    options = sh.system_options(ds_name)
    wanted = v["systems"] or sh.default_systems(ds_name, split)
    unknown = [s for s in wanted if s not in options]
    for s in unknown:
        if s.startswith(sh.UPLOAD_PREFIX):
            st.sidebar.warning(f"{sh.esc(s[len(sh.UPLOAD_PREFIX):])} was an uploaded run, not in this session: upload it again.")
        else:
            options.append(s)  # unknown specs still get a column that says why they are unavailable
    chosen = [s for s in wanted if s in options][: sh.MAX_SYSTEMS]
    sh.bind("w_systems", "systems", chosen)
    chosen = st.sidebar.multiselect(
        "Systems (2 to 4)",
        options,
        key="w_systems",
        max_selections=sh.MAX_SYSTEMS,
        format_func=lambda s: sh.display_name(s) + ("" if sh.system_info(s)[1] or s.startswith(sh.UPLOAD_PREFIX) else " — not available"),
        on_change=sh.on_widget_change,
        args=("w_systems", "systems"),
    )
    sh.remember(systems=chosen)
    return chosen


def sidebar_upload() -> None:
    with st.sidebar.expander("Add a TREC run file"):
        st.caption("Six columns: `qid Q0 docid rank score tag`. Ranks in the file are ignored; ties are broken by docid, as trec_eval does.")
        up = st.file_uploader("TREC run", key="w_upload", label_visibility="collapsed")
        if up is not None and st.session_state.get("_last_upload") != (up.name, up.size):
            name = Path(up.name).stem or "run"
            try:
                raw = up.getvalue().decode("utf-8-sig")
                run = Run.parse_trec(raw, source=up.name, name=name)
            except UnicodeDecodeError as exc:
                st.error(f"{sh.esc(up.name)} is not UTF-8 text ({sh.esc(exc.reason)}).")
                return
            except DataFormatError as exc:
                where = f"{exc.path}, line {exc.line}" if exc.line else exc.path
                st.error(f"Could not read {sh.esc(where, joiners=False)}: {sh.esc(exc.reason, joiners=False)}")
                return
            spec = sh.add_upload(name, run)
            st.session_state["_last_upload"] = (up.name, up.size)
            current = sh.view()["systems"] or []
            if spec not in current and len(current) < sh.MAX_SYSTEMS:
                sh.remember(systems=[*current, spec])
            st.success(f"Added {sh.esc(name)}: {len(run.qids):,} queries, {len(run):,} results.")
            st.rerun()


# ---- query choice --------------------------------------------------------------------------------------
def pick_query(ds_name: str, split: str, systems: list[str], v: dict) -> str | None:
    ds = sh.dataset(ds_name)
    qids = ds.qrels(split).qids
    qid = v["qid"] if v["qid"] in ds.queries else None
    if v["qid"] and qid is None:
        st.warning(f"Query {sh.esc(v['qid'])} is not in {sh.esc(ds_name)}; pick another.")
    if qid is not None and qid not in set(qids):
        st.info(f"Query {sh.esc(qid)} has no judgements in the {sh.esc(split)} split; badges will say unjudged.")
    if qid is None:
        qid = qids[0]
    options = qids if qid in set(qids) else [qid, *qids]
    sh.bind("w_qid", "qid", qid)
    c1, c2, c3 = st.columns([6, 1, 2], vertical_alignment="bottom")
    with c1:
        qid = st.selectbox(
            "Query (type to search by text or id)",
            options,
            key="w_qid",
            format_func=lambda q: f"{q} · {ds.queries.get(q, '')[:140]}",
            on_change=sh.on_widget_change,
            args=("w_qid", "qid"),
        )
    with c2:
        if st.button("Random", icon=":material/casino:", width="stretch"):
            sh.remember(qid=sh.random_qid(qids))
            st.rerun()
    with c3:
        contrasting_popover(ds_name, split, systems)
    sh.remember(qid=qid)
    return qid


def contrasting_popover(ds_name: str, split: str, systems: list[str]) -> None:
    with st.popover("Most contrasting", icon=":material/compare_arrows:", width="stretch"):
        ready = [s for s in systems if sh.has_run(ds_name, split, s)]
        if len(ready) < 2:
            st.caption("Needs two systems with runs.")
            return
        a = st.selectbox("System A", ready, index=0, format_func=sh.display_name, key="w_ca")
        b = st.selectbox("System B", ready, index=1, format_func=sh.display_name, key="w_cb")
        if a == b:
            st.caption("Pick two different systems.")
            return
        cmp = stats.compare_pair(sh.evaluation(ds_name, split, a), sh.evaluation(ds_name, split, b), names=(a, b), with_tests=False)
        top = cmp.contrasting(12)
        queries = sh.dataset(ds_name).queries
        st.caption(f"Largest nDCG@10 differences between {sh.name_md(a)} (A) and {sh.name_md(b)} (B).")
        for qid, row in top.iterrows():
            label = f"{row['diff']:+.3f} · {sh.esc(qid)} · {sh.esc(queries.get(qid, '')[:60])}"
            if st.button(label, key=f"contrast_{a}_{b}_{qid}", width="stretch"):
                sh.remember(qid=str(qid))
                st.rerun()


# ---- columns ----------------------------------------------------------------------------------------------
def metrics_md(ev, qid: str) -> str:
    values = ev.query(qid) if ev is not None else {}
    if not values:
        return "*not evaluated for this query*"
    return " · ".join(f"{m} **{values[m]:.3f}**" for m in sh.MEASURES if m in values)


def render_column(spec: str, ds_name: str, split: str, qid: str, query: str, k: int, lookups: dict, judged: dict | None, live: bool) -> None:
    system, available, message = sh.system_info(spec) if not spec.startswith(sh.UPLOAD_PREFIX) else (None, True, "")
    st.markdown(f"#### {text.escape_markdown(sh.display_name(spec))}")
    fam = sh.family(spec)
    lookup = lookups.get(spec)
    if lookup is None:
        if not available:
            st.warning(message or "This system is not available here.", icon=":material/block:")
        elif not live:
            build_button(spec, ds_name, split)
        return
    st.caption(f"{fam} · {len(lookup.ranks(qid)):,} retrieved")
    if not live:
        ev = sh.evaluation(ds_name, split, spec)
        st.markdown(metrics_md(ev, qid), help="Per-query values from ir_measures (retrieval.evaluate). " + "; ".join(f"{m}: {sh.measure_help(m)}" for m in sh.MEASURES))
    others = {s: lk for s, lk in lookups.items() if s != spec and lk is not None}
    column = columns.query_column(lookup, qid, k, judged, others)
    ds = sh.dataset(ds_name)
    snippet_chars = SNIPPET_CHARS if len(lookups) <= 2 else SNIPPET_CHARS * 2 // 3
    if not column.docs:
        st.info("No results for this query.")
    for doc in column.docs:
        d = ds.corpus.get(doc.docid)
        title = d.title if d else ""
        body = d.text if d else "(document not in this corpus)"
        with st.container(border=True, key=card_key(spec, doc.docid)):
            head = f"**#{doc.rank}** · doc {text.escape_markdown(doc.docid)} · score {doc.score:.4f}" + (f" · {badge_md(doc.badge)}" if not live else "")
            title_md, snip = card_text_md(title, body, query, snippet_chars)
            st.markdown(f"{head}\n\n**{title_md}**\n\n{snip}")
            ranks = {sh.display_name(o.system): o.label for o in doc.others}
            other = " · ".join(f"{text.escape_markdown(n)} {r}" for n, r in ranks.items())
            if other:
                st.caption(f"Other columns: {other}")
            st.button(
                "Open",
                key=f"open_{spec}_{doc.docid}",
                icon=":material/open_in_full:",
                type="tertiary",
                help="Show the whole document",
                on_click=open_document,
                args=(doc.docid, doc.badge.grade, {sh.display_name(spec): f"#{doc.rank}", **ranks}),
            )
    if column.missed:
        with st.expander(f"Relevant documents missed ({len(column.missed)} not in the top {k})"):
            for m in column.missed:
                d = ds.corpus.get(m.docid)
                where = f"#{m.rank}" if m.rank is not None else f"not in top {column.depth}"
                title = text.escape_markdown(text.truncate(d.title, 90)[0]) if d and d.title else ""
                st.markdown(f"{badge_md(columns.relevance_badge(m.grade))} doc {text.escape_markdown(m.docid)} · {where}" + (f" · {title}" if title else ""))


def build_button(spec: str, ds_name: str, split: str) -> None:
    eta = runner.estimate_build_seconds(sh.cached_runs(), spec, len(sh.dataset(ds_name).corpus), {n: i.corpus_docs for n, i in sh.catalogue().items()})
    st.info(f"No cached run of this system on {sh.esc(ds_name)} ({sh.esc(split)}) yet. Estimated build time: {text.format_seconds(eta)}.")
    if st.button("Build the run now", key=f"build_{spec}", icon=":material/play_arrow:"):
        with st.spinner(f"Building {sh.name_md(spec)} on {sh.esc(ds_name)}…", show_time=True):
            try:
                sh.build_run(ds_name, split, spec)
            except RetrievalError as exc:
                st.error(sh.esc(exc, joiners=False))
                return
        st.rerun()


def ensure_runs(ds_name: str, split: str, systems: list[str]) -> dict:
    """Runs of the chosen systems; BM25 runs are built on the spot (seconds), others on request."""
    lookups = {}
    for spec in systems:
        lookup = sh.run_lookup(ds_name, split, spec)
        if lookup is None and sh.family(spec) == "bm25" and sh.system_info(spec)[1]:
            with st.spinner(f"Building the {sh.name_md(spec)} run on {sh.esc(ds_name)} (first time only)…", show_time=True):
                try:
                    sh.build_run(ds_name, split, spec)
                    lookup = sh.run_lookup(ds_name, split, spec)
                except RetrievalError as exc:
                    st.error(f"{sh.name_md(spec)}: {sh.esc(exc, joiners=False)}")
        lookups[spec] = lookup
    return lookups


def live_lookups(ds_name: str, systems: list[str], query: str) -> dict:
    lookups = {}
    for spec in systems:
        if spec.startswith(sh.UPLOAD_PREFIX):
            continue
        system, ok, message = sh.system_info(spec)
        if not ok:
            lookups[spec] = None
            continue
        try:
            with st.spinner(f"Running {sh.name_md(spec)}…"):
                lookups[spec] = sh.live_lookup(ds_name, spec, query)
        except (RetrievalError, NotImplementedError) as exc:
            st.warning(f"{sh.name_md(spec)} cannot run a typed query here: {sh.esc(exc, joiners=False)}")
            lookups[spec] = None
    return lookups


# ---- page -------------------------------------------------------------------------------------------------------
def main() -> None:
    st.title("Compare")
    v = sh.view()
    ds_name, split = sh.pick_dataset_and_split(v)
    if not ds_name or not split:
        sh.sidebar_footer()
        return
    systems = sidebar_systems(ds_name, split, v)
    k = st.sidebar.select_slider("Documents per column", options=[5, 10, 20, 50, 100], value=10, key="w_k")
    mode = st.sidebar.segmented_control("Query", ["Judged query", "Free text"], default="Judged query", key="w_mode") or "Judged query"
    sidebar_upload()
    sh.sidebar_footer()
    if len(systems) < 1:
        st.info("Choose 2 to 4 systems in the sidebar.")
        return
    ds = sh.dataset(ds_name)
    if mode == "Free text":
        query = st.text_input("Type a query (runs the chosen systems live; no judgements, so no metrics or badges)", key="w_live")
        if not query.strip():
            return
        qid, judged = "live", None
        lookups = live_lookups(ds_name, systems, query)
    else:
        lookups = ensure_runs(ds_name, split, systems)
        qid = pick_query(ds_name, split, systems, v)
        if qid is None:
            return
        query = ds.queries.get(qid, "")
        judged = ds.qrels(split).for_query(qid)
        rel = sum(1 for g in judged.values() if g > 0)
        st.markdown(f"**Query {text.escape_markdown(qid)}:** {text.escape_markdown(query)}")
        st.caption(f"{len(judged)} judged document{'s' if len(judged) != 1 else ''}, {rel} relevant · {sh.esc(ds_name)} / {sh.esc(split)} · ranks use the run contract's tie rule (score, then docid descending)")
    if len(systems) < 2:
        st.caption("Add a second system in the sidebar to compare.")
    cols = st.columns(len(systems), gap="medium")
    for col, spec in zip(cols, systems):
        with col:
            render_column(spec, ds_name, split, qid, query, k, lookups, judged, live=mode == "Free text")
    opened = st.session_state.pop("_open_doc", None)
    if opened:
        show_document(ds_name, opened[0], query, opened[1], opened[2])


sh.ensure_navigation()
main()
