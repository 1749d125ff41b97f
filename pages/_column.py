"""One Compare column: its header, its rows (compact or cards), the relevant documents it missed, its command.

Every column is drawn from one :class:`Board` (the query, the columns' runs, the baseline, the users' judgements
of the query and the qrels the metrics use), built once per rerun of the board.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import streamlit as st

from pages import _builds as builds
from pages import _cached as data
from pages import _judging as judging
from pages import _repro, _rows
from pages import _state as state
from pages._document import open_document
from view import cards, columns, text
from view.judging import RowJudging, column_attrs


@dataclass
class Board:
    """What every column of one view shares."""

    ds_name: str
    split: str
    qid: str
    query: str
    k: int
    lookups: dict
    judged: dict | None  # the query's official qrels (None for a typed query)
    live: bool
    compact: bool
    baseline: str | None  # the column every other one is measured against
    items: dict = field(default_factory=dict)  # users' judgements of the query: {docid: [Judgement]}
    mode: str = "official"  # the qrels metrics use: official, merged or mine
    scale: tuple = (0, 1)
    off: str = ""  # why this session cannot judge ("" when it can)
    later: list = field(default_factory=list)

    @property
    def graded(self) -> bool:
        return max(self.scale) > 1

    def row_judging(self, docid: str) -> RowJudging | None:
        if self.live:
            return None
        me = judging.judge()
        items = self.items.get(docid, [])
        mine = next((i for i in items if i.judge == me), None) if me else None
        draft = judging.draft(self.ds_name, self.split, self.qid, docid)
        return RowJudging(self.scale, mine, tuple(i for i in items if i is not mine), self.off, draft)

    def metric_values(self, spec: str) -> tuple[dict, dict | None]:
        """``(official values, values with the view's qrels or None)`` of ``spec`` for the query."""
        ev = data.evaluation(self.ds_name, self.split, spec)
        official = ev.query(self.qid) if ev is not None else {}
        return official, judging.query_metrics(self.ds_name, self.split, spec, self.qid, self.items, self.mode)


def make_board(ds_name, split, systems, qid, query, k, lookups, judged, live, compact, v) -> Board:
    """What the columns share: the baseline (the view's, else the first column), the users' judgements of the query
    and the qrels the metrics use."""
    baseline = v["baseline"] if v["baseline"] in systems else systems[0]
    if live:
        return Board(ds_name, split, qid, query, k, lookups, judged, live, compact, baseline)
    return Board(
        ds_name,
        split,
        qid,
        query,
        k,
        lookups,
        judged,
        live,
        compact,
        baseline,
        items=judging.for_query(ds_name, split, qid),
        mode=v["qrels"] if judging.judgements(ds_name, split) is not None else "official",  # no store: official
        scale=judging.scale(ds_name, split),
        off=judging.off_reason() or ("" if judging.judge() else "Give your name in the sidebar to judge."),
    )


def render_safely(spec: str, board: Board) -> None:
    """:func:`render_column`, where an error of one system stays in its column as one line (the other columns
    are drawn; the traceback goes to the server's log, never to the page)."""
    import logging

    from retrieval.errors import RetrievalError

    try:
        render_column(spec, board)
    except st.errors.FragmentHandledException:
        raise  # Streamlit's own signal from a fragment inside the column
    except RetrievalError as exc:
        st.error(
            f"{data.esc(data.display_name(spec))}: {data.esc(str(exc).splitlines()[0], joiners=False)}", icon=":material/error:"
        )
    except Exception as exc:  # noqa: BLE001 - one column's failure must not take the board down
        logging.getLogger("retrieval.app").exception("column %s failed", spec)
        first = (str(exc).splitlines() or [""])[0][:200]
        st.error(f"{data.esc(data.display_name(spec))} failed here ({type(exc).__name__}: {data.esc(first, joiners=False)}).")


def render_column(spec: str, board: Board) -> None:
    c = data.choice(spec)
    lookup = board.lookups.get(spec)
    if lookup is None or not board.compact:  # a column without a run: a smaller heading, its lines take the room
        st.markdown(f"{'####' if lookup is not None else '#####'} {text.escape_markdown(c.name)}")
    published = data.published_line(spec, board.ds_name) if not board.live else ""
    if lookup is None:
        if published:
            st.caption(data.esc(published, joiners=False))
        if not c.available:
            missing_line(c, board)
        elif board.live:
            st.caption(f"{data.esc(c.name)} cannot run a typed query here (see above).")
        else:
            build_button(spec, board.ds_name, board.split)
        return
    others = {s: lk for s, lk in board.lookups.items() if s != spec and lk is not None}
    column = columns.query_column(lookup, board.qid, board.k, board.judged, others)
    caption = f"{c.family} · {len(lookup.ranks(board.qid)):,} retrieved"
    imported = lookup.run.metadata.get("imported")
    if imported:
        caption += f" · {imported}"
    if published:
        caption += f" · {published}"
    if board.compact:
        return compact_column(c, board, column, caption)
    corpus = data.dataset(board.ds_name).corpus
    st.caption(caption)
    if not board.live:  # filled after every column's rows: a first evaluation (seconds) must not hold back the rankings
        board.later.append((st.empty(), spec))
    if not column.docs:
        st.info(empty_reason(board))
    for doc in column.docs:
        d = corpus.get(doc.docid)
        with st.container(border=True, key=cards.card_key(spec, doc.docid)):
            st.markdown(
                cards.card_md(
                    doc,
                    d.title if d else "",
                    d.text if d else "(document not in this corpus)",
                    board.query,
                    cards.snippet_chars(len(board.lookups)),
                    badges=not board.live,
                )
            )
            if doc.others:
                st.caption(f"Other columns: {cards.ranks_md({data.display_name(o.system): o.label for o in doc.others})}")
            b1, b2 = st.columns([1, 4], vertical_alignment="center")
            b1.button(
                "Open",
                key=f"open_{spec}_{doc.docid}",
                icon=":material/open_in_full:",
                type="tertiary",
                help="Show the whole document",
                on_click=_open_row,
                args=(spec, doc),
            )
            if not board.live:
                with b2:
                    judge_buttons(board, doc.docid, f"{spec}_{doc.docid}")
    if column.missed:
        with st.expander(f"Relevant documents missed ({len(column.missed)} not in the top {board.k})"):
            for m in column.missed:
                d = corpus.get(m.docid)
                st.markdown(cards.missed_md(m, d.title if d else "", column.depth))
    if not board.live:
        _repro.reproduce_block(board.ds_name, board.split, spec)


def missing_line(c, board: Board) -> None:
    """A system that cannot run here, in one short line with how to fill its column (the reason in its tooltip)."""
    system = c.system
    if system is not None and system.needs_weights:
        text = (
            f"Weights not here: fetch them on Data & runs, or import a run made elsewhere "
            f"(`python -m retrieval import-run FILE --dataset {board.ds_name} --as {c.spec}`)."
        )
    else:
        text = "Not available here."
    st.caption(f":material/block: {text}", help=c.message or None)


def judge_buttons(board: Board, docid: str, key: str) -> None:
    """The card view's and the document dialog's judging: this judge's value, one button per grade, can't tell,
    clear (Streamlit buttons; the compact rows draw their own bar)."""
    rj = board.row_judging(docid)
    if rj is None:
        return
    if rj.off:
        st.caption(data.esc(rj.off))
        return
    current = None if rj.mine is None else ("cant" if rj.mine.cant_tell else str(rj.mine.grade))
    values = [*map(str, board.scale), "cant"] + (["clear"] if current is not None else [])
    labels = {"cant": "can't tell", "clear": "clear"}
    cols = st.columns(len(values), gap="small")
    for col, value in zip(cols, values):
        col.button(
            labels.get(value, value),
            key=f"j_{key}_{value}",
            type="primary" if value == current else "secondary",
            help=f"Your judgement: {labels.get(value, value)}",
            on_click=judging.write,
            args=(board.ds_name, board.split, board.qid, docid, value),
        )


def empty_reason(board: Board) -> str:
    """Why a column with a run shows no document for this query."""
    if board.live:
        return "This system returned nothing for the typed query."
    return f"This system returned nothing for query {board.qid} (its run has no row for it)."


def compact_column(c, board: Board, column, caption: str) -> None:
    """A ready column of the compact view as one element (pages/_rows.py): header, metrics, rows, missed, command."""
    spec = c.spec
    corpus = data.dataset(board.ds_name).corpus
    names = {s: data.display_name(s) for s in board.lookups}
    view = _rows.view_id(board.ds_name, board.qid, board.query)
    full = _rows.full_docs(view, spec)
    against = board.baseline if board.baseline != spec else None
    rows = [
        cards.compact_row_html(
            doc,
            *cards.doc_fields(corpus, doc.docid),
            board.query,
            names,
            against,
            badges=not board.live,
            full=doc.docid in full,
            judging=board.row_judging(doc.docid),
            graded=board.graded,
        )
        for doc in column.docs
    ]
    slot = (
        f'<div class="rk-col">{_rows.ROWS_SLOT}</div>' if rows else f'<p class="rk-meta">{html.escape(empty_reason(board))}</p>'
    )
    metrics = missed = reproduce = ""
    if not board.live:
        official, chosen = board.metric_values(spec)
        base = None
        if against is not None and board.lookups.get(against) is not None:
            base_official, base_chosen = board.metric_values(against)
            base = base_chosen if chosen is not None else base_official
        metrics = cards.metrics_html(
            official,
            data.MEASURES,
            data.metrics_help(),
            changed=chosen,
            qrels=board.mode,
            baseline=base,
            baseline_name=names.get(against, ""),
        )
        titles = {m.docid: cards.doc_fields(corpus, m.docid)[0] for m in column.missed}
        missed = cards.missed_html(column.missed, titles, column.depth, board.k, board.graded)
        command, notes = _repro.command_for(board.ds_name, board.split, spec)
        imported = board.lookups[spec].run.metadata.get("imported")
        if imported:  # the run shown was made elsewhere: the command builds one here, it did not make this one
            notes = f"This run was {imported}. The command builds the system's own run here. {notes}".strip()
        reproduce = cards.reproduce_html(command, notes)
    role = "" if board.live or len(board.lookups) < 2 else ("baseline" if spec == board.baseline else "other")
    attrs = column_attrs(board.scale, not board.live and not board.off)
    if len(board.lookups) >= 3:  # narrow columns: titles on up to two lines (at least ~60 characters at 1500 px)
        attrs["narrow"] = "1"
    body = cards.board_column_html(spec, c.name, caption, metrics, slot, missed, reproduce, role=role, attrs=attrs)
    by_id = {doc.docid: doc for doc in column.docs}
    _rows.show(
        spec,
        view,
        body,
        rows,
        lambda d: _open_row(spec, by_id.get(d), why=True),
        on_judge=lambda docid, value, note: _judge_row(board, docid, value, note),
        on_base=lambda: state.remember(baseline=spec),
    )


def _judge_row(board: Board, docid: str, value: str, note: str | None) -> None:
    """A judgement from a compact row: a grade, "cant", "clear", or "" (a note saved with the current value)."""
    if value == "":
        rj = board.row_judging(docid)
        if rj is None or rj.mine is None:
            st.session_state[judging.SAID] = ("warning", "Judge the document first: a note goes with a judgement.")
            return
        value = "cant" if rj.mine.cant_tell else str(rj.mine.grade)
    judging.write(board.ds_name, board.split, board.qid, docid, value, note)


def build_button(spec: str, ds_name: str, split: str) -> None:
    """A missing run: its build's progress if one runs (started on its own on a first start), else a button that
    starts it in the background; the page and the other columns never wait for it."""
    job = builds.job(ds_name, split, spec)
    if job is None and builds.first_start():
        job = builds.start(ds_name, split, spec)
    if job is not None:
        return builds.show(job, lambda: builds.start(ds_name, split, spec), f"{ds_name}_{split}_{spec}")
    if judging.read_only():
        return st.caption(f"No run of this system on {data.esc(ds_name)} here. {data.esc(judging.read_only())}")
    eta, how = builds.estimate(ds_name, split, spec)
    said = f"about {text.format_seconds(eta)} ({how})" if eta is not None else (how or "unknown")
    system = data.choice(spec).system
    stop = "" if said.endswith(("…", ".")) else "."  # "measuring on a few documents…" ends its own sentence
    st.info(
        f"No cached run of this system on {data.esc(ds_name)} ({data.esc(split)}) yet. Estimated build time: {data.esc(said)}{stop}"
        + (builds.choice_hint(system) if system is not None else "")
    )
    st.button(
        "Build the run now",
        key=f"build_{spec}",
        icon=":material/play_arrow:",
        help="Builds in the background: the page stays usable and this column shows the progress",
        on_click=builds.start,
        args=(ds_name, split, spec),
    )


def _open_row(spec: str, doc, why: bool = False) -> None:
    """A card's Open (the text) or a row's "Why here?" (``why``: this column's explanation): the document's dialog,
    with its ranks in every column, by spec."""
    if doc is not None:
        open_document(doc.docid, doc.badge.grade, {spec: f"#{doc.rank}", **{o.system: o.label for o in doc.others}}, why)
