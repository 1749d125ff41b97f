"""Compare's controls: dataset and split pickers bound to the view, the footer, the systems and documents-per-column
pickers (drawn above the columns), the size ladder, view and mode, uploads."""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import _cached as data
from pages import _choice, _systems
from pages import _state as state
from retrieval.errors import RetrievalError
from retrieval.series import ladders
from view import choices


def pick_dataset_and_split(v: dict[str, Any]) -> tuple[str | None, str | None]:
    """Sidebar dataset and split pickers bound to the view; returns (dataset, split) or Nones."""
    names = data.local_datasets()
    if not names:
        st.sidebar.error(
            "No BEIR dataset found. Set BEIR_DATA_DIR to a folder holding e.g. scifact/ "
            f"(now: {data.data_dir() or 'unset'}) or download one from the Data & runs page."
        )
        return None, None
    default = state.DEFAULT_DATASET if state.DEFAULT_DATASET in names else names[0]
    ds_name = v["dataset"] if v["dataset"] in names else default
    if v["dataset"] not in names:
        st.sidebar.warning(f"Dataset {data.esc(v['dataset'])} is not here; showing {data.esc(ds_name)}.")
    _choice.select("Dataset", names, ds_name, "w_dataset", lambda name: state.remember(dataset=name), st.sidebar)
    try:
        splits = data.dataset(ds_name).splits
    except RetrievalError as exc:
        st.sidebar.error(data.esc(exc, joiners=False))
        return None, None
    if not splits:
        st.sidebar.error(f"{ds_name} has no qrels/*.tsv, so there is nothing to evaluate.")
        return ds_name, None
    split = v["split"] if v["split"] in splits else (state.DEFAULT_SPLIT if state.DEFAULT_SPLIT in splits else splits[0])
    _choice.select("Split", splits, split, "w_split", lambda name: state.remember(split=name), st.sidebar)
    state.remember(dataset=ds_name, split=split)
    return ds_name, split


def footer() -> None:
    st.sidebar.caption(f"Data folder (BEIR_DATA_DIR): `{data.data_dir() or 'unset'}`  \nCache: `{data.cache_root()}`")


def resolve_systems(ds_name: str, split: str, v: dict) -> tuple[list[str], list[str], list[str]]:
    """``(chosen, options, gone)`` for the view: what :func:`systems_picker` will show, known before it is drawn (so
    the rankings can come first)."""
    wanted = [data.canonical(s) for s in v["systems"] or ()] or data.default_systems(ds_name, split)
    return choices.resolve_systems(list(dict.fromkeys(wanted)), data.system_options(ds_name), state.MAX_COLUMNS)


def systems_picker(chosen: list[str], options: list[str], gone: list[str]) -> None:
    """The systems picker (pages/_systems.py; Compare draws it above the columns, inside the rankings fragment, so
    that adding or removing a system reruns only that part of the page), after :func:`resolve_systems`."""
    for name in gone:
        st.warning(f"{data.esc(name)} was an uploaded run, not in this session: upload it again.")
    _systems.picker(
        "Systems (2 to 4)",
        options,
        chosen,
        data.display_name,
        [s for s in options if not data.system_info(s)[1]],
        state.MAX_SYSTEMS,
        lambda new: state.remember(systems=new),
    )
    state.remember(systems=chosen)


def size_ladder() -> None:
    """One click opens one column per size of a model series, for the same query (issue 9, point 9).

    Behind a toggle, as the upload form (:func:`upload`): an expander's content is drawn and sent on every run,
    even while closed, and the two expanders took about 35 ms of every switch to Compare in the browser."""
    if not _choice.toggle("Size ladder", "w_ladder", help="One column per size of a model series", where=st.sidebar):
        return
    with st.sidebar.container(border=True):
        st.caption(
            "One column per size of a series, same query, each with the nDCG@10 papers report for it on this dataset. "
            "A reranker's first stage stays as the left column. A size whose weights are missing says how to fill it."
        )
        for series, specs in ladders().items():
            sizes = [s.split(":", 1)[-1] for s in specs]
            first = data.choice(specs[0]).system
            lead = [first.first_stage.spec] if first is not None and first.first_stage is not None else []
            st.button(
                f"{series}: {' · '.join(sizes)}",
                key=f"ladder_{series}",
                width="stretch",
                on_click=state.remember,
                kwargs={"systems": (lead + specs)[: state.MAX_COLUMNS], "baseline": (lead + specs)[0]},
            )


def upload(ds_name: str) -> None:
    """The TREC run upload of Data & runs (size limit, spinner, unknown ids reported), in the sidebar behind a
    toggle (see :func:`size_ladder`); a new run reruns the page so its column shows at once."""
    from pages import _upload

    if _choice.toggle("Add a TREC run file", "w_upload_open", where=st.sidebar):
        with st.sidebar.container(border=True):
            _upload.upload_form(ds_name, key="w_upload", rerun=True)


def resolve_view(v: dict) -> tuple[bool, bool]:
    """``(compact, live)`` of the view: what :func:`view_widgets` will show, known before it is drawn."""
    return v["view"] == "compact", v["mode"] == "free"


def k_picker(where, v: dict) -> None:
    """Documents per column (carried by the URL), in ``where`` (beside the query above Compare's columns, inside
    the board fragment: a change reruns the columns alone)."""
    _choice.segmented("Documents per column", state.K_OPTIONS, v["k"], "w_k", lambda k: state.remember(k=k), where=where)
    state.remember(k=v["k"])


def view_widgets(v: dict) -> None:
    """Compact or card view, judged query or free text (both carried by the URL), in the sidebar, after
    :func:`resolve_view`."""
    _choice.segmented(
        "View", state.VIEWS, v["view"], "w_view", lambda view: state.remember(view=view), str.capitalize, st.sidebar
    )
    _choice.segmented(
        "Query",
        state.MODES,
        v["mode"],
        "w_mode",
        lambda mode: state.remember(mode=mode),
        {"judged": "Judged query", "free": "Free text"}.get,
        st.sidebar,
    )
    state.remember(view=v["view"], mode=v["mode"])


QRELS_LABELS = {"official": "Official", "merged": "Merged", "mine": "Ours only"}
QRELS_HELP = (
    "Merged: the official qrels plus the judgements made here where the official qrels have none (official wins "
    "on conflict; several judges: the grade most gave). Ours only: the judgements made here alone."
)


def judging_controls(v: dict) -> None:
    """Who judges and which judgements the metrics use (official qrels, official + the users' judgements where
    the official qrels have none, or the users' alone), in the sidebar; the choice is carried by the URL."""
    from pages import _judging

    _choice.segmented(
        "Metrics use", state.QRELS, v["qrels"], "w_qrels", lambda q: state.remember(qrels=q), QRELS_LABELS.get, st.sidebar
    )
    if v["qrels"] != "official":
        st.sidebar.caption(QRELS_HELP)
    state.remember(qrels=v["qrels"])
    _judging.name_box(st.sidebar)
