"""Data & runs' models: each model with its size on disk and availability; fetch one from the Hugging
Face hub with a progress bar, or point at a local folder for this session (``retrieval.neural.weights``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from pages import _cached as data
from pages import _state as state
from retrieval.neural import registry
from view import choices, tables, text

FOLDERS = "_model_paths"


def session_folders() -> dict[str, str]:
    """Local model folders the user gave in this session, by system spec (passed as ``model_path``)."""
    return st.session_state.setdefault(FOLDERS, {})


@st.cache_data(ttl=60, show_spinner=False)
def _disk(spec: str, folder: str | None) -> tuple[float | None, str]:
    from retrieval.neural import registry, weights

    size, where = weights.disk_size(registry.lookup(spec), model_path=folder)
    return (None if size is None else size / 1024 / 1024), where


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
        (_disk(s, session_folders().get(s)) if ":" in s else (None, "no weights (Lucene index in the cache)")) for s in specs
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
        spec = st.selectbox("Model", neural, format_func=lambda s: f"{data.display_name(s)} ({s})", key="w_m_fetch")
        st.caption(
            "Safetensors only (pickle files are never downloaded), resumable, each file checked against the hub's checksum."
        )
        if st.button("Fetch", icon=":material/download:", key="w_m_go"):
            fetch_with_progress(spec)
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
    _disk.clear()
    st.session_state["_model_said"] = f"{data.name_md(spec)} now uses `{path}` in this session."
    state.rerun()  # the table above shows the folder at once


def fetch_with_progress(spec: str) -> None:
    """Download in a worker thread; the page polls it and shows bytes and speed."""
    from retrieval.neural import registry, weights

    info = registry.lookup(spec)
    box: dict = {"done": 0, "total": None}

    def work() -> None:
        try:
            box["source"] = weights.fetch_model(info, progress=lambda d, t: box.update(done=d, total=t))
        except Exception as exc:  # shown to the user below
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    started = time.time()
    worker.start()
    bar = st.progress(0.0, text=f"Asking the hub for {info.hf_id}…")
    while worker.is_alive():
        done, total = box["done"], box["total"]
        mb = done / 1024 / 1024
        rate = mb / max(time.time() - started, 1e-6)
        if total:
            bar.progress(
                min(1.0, done / total), text=f"{info.hf_id}: {mb:,.1f} of {total / 1024 / 1024:,.1f} MB ({rate:,.1f} MB/s)"
            )
        elif done:
            bar.progress(0.0, text=f"{info.hf_id}: {mb:,.1f} MB ({rate:,.1f} MB/s)")
        worker.join(0.25)
    bar.empty()
    if "error" in box:
        st.error(f"Fetching {data.esc(info.hf_id)} failed: {data.esc(box['error'], joiners=False)}")
        return
    _disk.clear()
    data._system_info.cache_clear()  # availability is memoised per process: the model is here now
    st.success(
        f"Fetched {data.esc(info.hf_id)} into {data.esc(box['source'].path, joiners=False)}; every file matches the hub's checksum."
    )


def run_with_progress(ds_name: str, split: str, spec: str, eta: float | None, folder: str | None = None) -> None:
    """Build in a worker thread; the page polls it and shows elapsed time and a coarse ETA."""
    result: dict = {}

    def work() -> None:
        try:
            if folder:
                from retrieval.runner import get_run
                from retrieval.systems import parse_system

                get_run(data.dataset(ds_name), split, parse_system(spec, model_path=folder), cache=data.cache(), progress=False)
            else:
                data.build_run(ds_name, split, spec)
        except Exception as exc:  # shown to the user below
            result["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    started = time.time()
    worker.start()
    bar = st.progress(0.0, text="Starting…")
    while worker.is_alive():
        elapsed = time.time() - started
        if eta:
            frac = min(0.97, elapsed / eta)
            left = max(0.0, eta - elapsed)
            bar.progress(
                frac,
                text=f"Building {data.display_name(spec)} on {ds_name}: {text.format_seconds(elapsed)} elapsed, about {text.format_seconds(left)} left",
            )
        else:
            # No earlier build to scale from: report time honestly instead of inventing a fraction.
            bar.progress(
                0.0,
                text=f"Building {data.display_name(spec)} on {ds_name}: {text.format_seconds(elapsed)} elapsed (first build here, no estimate)",
            )
        worker.join(0.5)
    if "error" in result:
        bar.empty()
        st.error(f"Building {data.esc(spec)} failed: {data.esc(result['error'], joiners=False)}")
        return
    bar.progress(1.0, text=f"Done in {text.format_seconds(time.time() - started)}.")
    st.success(f"Cached {data.name_md(spec)} on {data.esc(ds_name)} ({data.esc(split)}).")
