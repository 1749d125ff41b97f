"""Compare's queue: any query list of the app (``view.queues``) stepped through with buttons and keys.

The bar above the board says which list, where in it ("12 of 67"), and steps with Previous / Next, or the keys
``j`` / ``k`` and the left and right arrows (not while typing in a box, and not on a focused row, where the keys
judge). The queue is in the URL (``queue=``), so a link reopens it; the lists are computed from the runs,
evaluations and judgements that are there (kept per dataset, split, systems and qrels).
"""

from __future__ import annotations

import streamlit as st

from pages import _cached as data
from pages import _choice, _element, _nav
from pages import _judging as judging
from pages import _state as state
from retrieval.errors import RetrievalError
from view import asset, queues

_BAR = _element.component("rk_queue", asset.read("queue.js"), {"rk-queue-style": asset.read("queue.css")})
KEY = "queue_bar"


def qids(ds_name: str, split: str, queue: queues.Queue, systems: list[str]) -> list[str]:
    """The queue's queries, in order (the systems the view shows, for the lists that use them)."""
    ready = [s for s in systems if data.has_run(ds_name, split, s)]
    if queue.kind in queues.PAIRED:
        if not (data.has_run(ds_name, split, queue.a) and data.has_run(ds_name, split, queue.b)):
            return []
        return _paired(ds_name, split, queue.kind, queue.a, queue.b, _token(ds_name, split, [queue.a, queue.b]))
    if queue.kind in ("zero", "variance"):
        return _over_systems(ds_name, split, queue.kind, tuple(ready), _token(ds_name, split, ready)) if len(ready) >= 1 else []
    j = judging.judgements(ds_name, split)
    if j is None:
        return []
    if queue.kind == "notes":  # one small read each time: notes write no history event, so no version to key on
        return list(j.noted_queries())
    if queue.kind == "list":
        try:
            return list(j.read_list(queue.name).qids)
        except RetrievalError:  # a list deleted meanwhile: an empty queue, which the bar says
            return []
    return list(_judged_list(ds_name, split, queue.text(), tuple(ready), j.version(), _token(ds_name, split, ready)))


@st.cache_data(max_entries=32, show_spinner="Finding the queries…")
def _judged_list(ds_name: str, split: str, text: str, systems: tuple, version: tuple, token: tuple) -> tuple[str, ...]:
    """The lists the judgements change (kept until one is written: ``version``)."""
    queue, j = queues.parse(text), judging.judgements(ds_name, split)
    runs = {s: data.run_lookup(ds_name, split, s).run for s in systems}
    if not runs:
        return ()
    if queue.kind == "unjudged":
        return tuple(j.most_unjudged(runs)["qid"].astype(str).tolist())
    return tuple(dict.fromkeys(j.queue(runs)["qid"].astype(str).tolist()))  # "judge": each query at its first hole


def _token(ds_name: str, split: str, specs: list[str]) -> tuple:
    """What identifies the runs' content (so a rebuilt run is not served from an old list)."""
    return tuple(
        str(data.run_lookup(ds_name, split, s).run.metadata.get("cache_entry") or id(data.run_lookup(ds_name, split, s)))
        for s in specs
    )


@st.cache_data(max_entries=32, show_spinner="Finding the queries…")
def _paired(ds_name: str, split: str, kind: str, a: str, b: str, token: tuple) -> list[str]:
    if kind == "lost":
        from retrieval import stats

        cmp = stats.compare_pair(data.evaluation(ds_name, split, a), data.evaluation(ds_name, split, b), with_tests=False)
        lost = cmp.largest("a", 10_000)
        return [str(q) for q in lost.index]
    from retrieval import agreement

    frame = agreement.agreement_frame(
        data.run_lookup(ds_name, split, a).run, data.run_lookup(ds_name, split, b).run, data.dataset(ds_name).qrels(split).qids
    )
    return agreement.most_disagreeing(frame, len(frame))["qid"].astype(str).tolist()


@st.cache_data(max_entries=32, show_spinner="Finding the queries…")
def _over_systems(ds_name: str, split: str, kind: str, systems: tuple, token: tuple) -> list[str]:
    evals = {s: data.evaluation(ds_name, split, s) for s in systems}
    if kind == "zero":
        from retrieval import failures

        return [str(q) for q in failures.all_zero_queries(evals)]
    from retrieval import stats

    return [str(q) for q in stats.highest_variance(evals).index] if len(systems) >= 2 else []


# ---- the bar ----------------------------------------------------------------------------------------
def bar(ds_name: str, split: str, systems: list[str], qid: str, v: dict) -> None:
    """The queue bar, when the view has a queue (else nothing)."""
    queue = queues.parse(v.get("queue"))
    if queue is None:
        return
    listed = qids(ds_name, split, queue, systems)
    at = queues.position(listed, qid)
    names = {s: data.display_name(s) for s in {queue.a, queue.b} if s}
    where = f"{at + 1} of {len(listed)}" if at is not None else (f"not in it ({len(listed)} queries)" if listed else "empty")
    state.remember(queue=queue.text())
    _BAR(
        data={"title": queue.title(names), "where": where, "first": at == 0, "last": at is not None and at == len(listed) - 1},
        key=KEY,
        on_step_change=lambda: _on_step(listed, qid),
    )


def _on_step(listed: list[str], qid: str) -> None:
    by = _element.trigger_value(KEY, "step")
    if by == "close":
        state.remember(queue=None)
        return
    if by in ("next", "prev"):
        new = queues.step(listed, qid, 1 if by == "next" else -1)
        if new is not None:
            state.remember(qid=new)


def step_button(ds_name: str, split: str, systems: list[str], queue, qids: list[str], key: str) -> None:
    """Open a list of this page as Compare's queue (next / previous by button and by keys), at its first query."""
    if qids:
        params = {**_nav.compare_params(ds_name, split, systems), "qid": qids[0], "queue": queue.text()}
        st.button(
            "Step through these in Compare", key=key, icon=":material/playlist_play:", on_click=_nav.goto_compare, args=(params,)
        )


def open_queue(queue: queues.Queue, first: str | None) -> None:
    """Open ``queue`` in the view, at ``first`` (a widget's callback)."""
    state.remember(queue=queue.text(), **({"qid": first} if first else {}))


def picker(ds_name: str, split: str, systems: list[str], qid: str, v: dict, where) -> None:
    """A select that opens one of the lists over the shown systems as the queue."""
    options = {"": "Step through a list…"}
    ready = [s for s in systems if data.has_run(ds_name, split, s)]
    if len(ready) >= 2:
        a, b = ready[0], ready[1]
        options[queues.Queue("lost", a, b).text()] = f"{data.display_name(b)} loses to {data.display_name(a)}"
        options[queues.Queue("rbo", a, b).text()] = "Most disagreeing rankings (first two columns)"
        options["variance"] = "Highest variance across the columns"
    if ready:
        options["zero"] = "Every column scores 0"
    if judging.judgements(ds_name, split) is not None:
        options.update(unjudged="Most unjudged documents", judge="Judging queue", notes="Queries with a note")
        j = judging.judgements(ds_name, split)
        options.update({queues.Queue("list", name=n).text(): f"List: {n}" for n in j.lists()})
    current = v.get("queue") or ""
    if current not in options:
        options[current] = queues.parse(current).title({}) if queues.parse(current) else ""

    def chosen(text: str) -> None:
        queue = queues.parse(text)
        if queue is None:
            state.remember(queue=None)
            return
        listed = qids(ds_name, split, queue, systems)
        open_queue(queue, listed[0] if listed else None)

    _choice.select("Queue", list(options), current, "w_queue", chosen, where=where, fmt=options.get, hide_label=True)
