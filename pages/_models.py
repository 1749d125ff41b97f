"""Data & runs' models: each model with its size on disk and availability; fetch one from the Hugging
Face hub with a progress bar, or point at a local folder for this session (``retrieval.neural.weights``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from pages import _builds as builds
from pages import _cached as data
from pages import _state as state
from retrieval.neural import registry
from view import choices, tables

FOLDERS = "_model_paths"


def session_folders() -> dict[str, str]:
    """Local model folders the user gave in this session, by system spec (passed as ``model_path``)."""
    return st.session_state.setdefault(FOLDERS, {})


def _weighs(spec: str) -> bool:
    system = data.choice(spec).system
    return system is not None and system.needs_weights


def models_frame() -> pd.DataFrame:
    def describe(spec: str) -> tuple[str, str, bool, str]:
        folder = session_folders().get(spec)
        if folder:
            from retrieval.systems import parse_system

            ok, message = parse_system(spec, model_path=folder).availability()
            return data.display_name(spec), data.family(spec), ok, message
        system, ok, message = data.system_info(spec)
        return data.display_name(spec), data.family(spec) if system is not None else "", ok, message

    specs = [s for s in data.system_options() if s not in state.uploads()]
    frame = tables.models_table(specs, describe, registry.params_for_spec)
    sizes = [
        (data.model_disk(s, session_folders().get(s)) if _weighs(s) else (None, "no weights (Lucene index in the cache)"))
        for s in specs
    ]
    frame.insert(5, "on disk (MB)", [tables.disk_cell(mb, where) for mb, where in sizes])  # after "available here"
    frame.insert(6, "where", [w for _, w in sizes])
    return frame


def models_section() -> None:
    st.subheader("Models")
    said = st.session_state.pop("_model_said", None)
    if said:
        st.success(said)
    frame = models_frame()
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={  # as wide as header and longest cell: no header or "n/a: why" is cut
            col: st.column_config.TextColumn(alignment="right", width=tables.fit_width(frame[col], col))
            for col in ("parameters (M)", "on disk (MB)")
        },
    )
    neural = [s for s in choices.registry_specs()]
    fetch, folder = st.columns(2)
    with fetch, st.container(border=True):
        st.markdown("**Fetch from the Hugging Face hub**")
        missing = [s for s in neural if not data.choice(s).available]  # first the models not on this machine
        spec = st.selectbox(
            "Model",
            missing + [s for s in neural if s not in missing],
            format_func=lambda s: f"{data.display_name(s)} ({s})",
            key="w_m_fetch",
        )
        st.caption(
            "Safetensors only (pickle files are never downloaded), resumable, each file checked against the hub's checksum."
        )
        job = builds.model_fetch(spec)
        if job is not None and not builds.settled(job):
            builds.show(job, lambda: builds.fetch_model(spec), f"fetch_{spec}")
        elif job is not None:
            st.success(f"Fetched {data.esc(job.name)}: every file matches the hub's checksum.")
        else:
            st.button("Fetch", icon=":material/download:", key="w_m_go", on_click=builds.fetch_model, args=(spec,))
    with folder, st.container(border=True):
        st.markdown("**Use a local model folder (this session)**")
        spec_f = st.selectbox("For model", neural, format_func=lambda s: f"{data.display_name(s)} ({s})", key="w_m_for")
        path = st.text_input("Folder (config.json + *.safetensors)", key="w_m_path", placeholder="/path/to/model")
        if st.button("Use this folder", icon=":material/folder_open:", key="w_m_use") and path.strip():
            use_folder(spec_f, path.strip())
        for s, p in session_folders().items():
            st.caption(f"{data.name_md(s)}: `{p}` (builds on this page use it as model_path)")


def use_folder(spec: str, path: str) -> None:
    from retrieval.neural.weights import folder_problem

    problem = folder_problem(Path(path).expanduser())
    if problem:
        st.error(f"Not a usable model folder: {data.esc(problem, joiners=False)}")
        return
    session_folders()[spec] = str(Path(path).expanduser())
    data.forget_models()
    st.session_state["_model_said"] = f"{data.name_md(spec)} now uses `{path}` in this session."
    state.rerun()  # the table above shows the folder at once
