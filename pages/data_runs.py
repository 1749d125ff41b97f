"""Data & runs: what datasets, models and cached runs are here; build missing runs; export runs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages import _builds as builds
from pages import _cached as data
from pages import _firststart as firststart
from pages import _judgements_io, _models, _nav, _repro, _upload
from pages import _judging as judging
from pages import _sidebar as sidebar
from pages import _state as state
from retrieval.beir import dataset_table
from view import text


def datasets_section() -> None:
    st.subheader("Datasets")
    ddir = data.data_dir()
    frame = dataset_table(ddir, Path(data.cache_root()), data.local_datasets()).drop(columns=["task"])
    frame = frame.sort_values("status", key=lambda s: ~s.str.startswith("here"), kind="stable")  # local copies first
    st.caption(
        f"Data folder: `{ddir or 'unset'}` (environment variable BEIR_DATA_DIR). 'here' = a local copy exists (listed "
        "first); 'downloadable' = `python -m retrieval download <name>` fetches it (needs internet)."
    )
    st.dataframe(frame, hide_index=True, width="stretch", column_config=_counts("documents", "test queries"))
    firststart.download_form(frame[frame["status"] == "downloadable"].sort_values("documents")["dataset"].tolist())  # small first


def _counts(*names: str) -> dict:
    """Counts with the reader's thousands separators (8,841,823 documents, not 8841823)."""
    return {n: st.column_config.NumberColumn(format="localized") for n in names}


def runs_section() -> None:
    st.subheader("Cached runs")
    imported = data.imported_runs()
    if len(imported):
        st.caption("Imported runs (computed elsewhere, kept as a system's run; a run built here wins over one):")
        st.dataframe(imported.drop(columns=["path"]), hide_index=True, width="stretch", key="w_d_imported")
    runs = data.cached_runs()
    if runs.empty:
        st.info(f"No cached runs in {data.cache_root()} yet.")
        return
    commands = _repro.cached_commands().set_index("path")["command"] if not _repro.cached_commands().empty else {}
    view = runs.drop(columns=["path"]).assign(
        entry=[Path(p).name[:12] for p in runs["path"]],
        command=[  # a run newer than the kept list of commands gets its command worked out here
            commands.get(p) or (_repro.command_for(str(d), str(sp), str(s))[0] or "")
            for p, d, sp, s in zip(runs["path"], runs["dataset"], runs["split"], runs["system"])
        ],
    )
    event = st.dataframe(
        view,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="w_d_runs",
        column_config={
            **_counts("queries", "rows"),
            "build_seconds": st.column_config.NumberColumn("build (s)", format="%.1f"),
            "command": st.column_config.TextColumn("command (reproduces the run and its metrics)", width="large"),
        },
    )
    rows = getattr(getattr(event, "selection", None), "rows", [])
    if not rows:
        st.caption("Select a run to copy its command or export it.")
        return
    row = runs.iloc[rows[0]]
    _repro.reproduce_block(str(row["dataset"]), str(row["split"]), str(row["system"]), expanded=True)
    export_run(str(row["dataset"]), str(row["split"]), str(row["system"]))


def export_run(ds_name: str, split: str, spec: str) -> None:
    if ds_name not in data.local_datasets():
        st.warning(f"{data.esc(ds_name)} is not here, so its run cannot be loaded for export.")
        return
    lookup = data.run_lookup(ds_name, split, spec)
    if lookup is None:
        st.warning("This run is no longer in the cache.")
        return
    run = lookup.run
    stem = f"{ds_name}-{split}-{spec}".replace(":", "_").replace("/", "_")
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download run (TREC)",
        data=lambda: run.to_trec(spec),
        file_name=f"{stem}.trec",
        mime="text/plain",
        icon=":material/download:",
        on_click="ignore",
        key=f"dl_trec_{stem}",
    )
    c2.download_button(
        "Download per-query metrics (CSV)",
        data=lambda: judging.evaluation(ds_name, split, spec, state.view()["qrels"]).to_csv(),
        file_name=f"{stem}-metrics.csv",
        mime="text/csv",
        icon=":material/table_view:",
        on_click="ignore",
        key=f"dl_csv_{stem}",
    )
    ev = data.evaluation(ds_name, split, spec)
    if ev is not None:
        line = " · ".join(f"{m} {val:.4f}" for m, val in ev.mean.items()) + f" over {ev.n_queries} queries (official qrels)"
        mode = state.view()["qrels"]
        other = judging.evaluation(ds_name, split, spec, mode) if mode != "official" else None
        if other is not None:
            line += f"; with {mode} qrels: " + " · ".join(f"{m} {val:.4f}" for m, val in other.mean.items())
        st.caption(line)


def build_section() -> None:
    st.subheader("Build a run")
    names = data.local_datasets()
    if not names:
        st.info("No dataset is here to build runs on.")
        return
    c1, c2, c3 = st.columns([2, 1, 3])
    ds_name = c1.selectbox(
        "Dataset", names, index=names.index(state.DEFAULT_DATASET) if state.DEFAULT_DATASET in names else 0, key="w_b_ds"
    )
    splits = data.dataset(ds_name).splits
    split = c2.selectbox(
        "Split", splits, index=splits.index(state.DEFAULT_SPLIT) if state.DEFAULT_SPLIT in splits else 0, key="w_b_split"
    )
    specs = [s for s in data.system_options(ds_name) if s not in state.uploads()]
    spec = c3.selectbox("System", specs, format_func=lambda s: f"{data.display_name(s)} ({s})", key="w_b_spec")
    folder = _models.session_folders().get(spec)
    system = data.system_for(spec, folder)
    if system is not None and system.build_choices():
        spec = builds.pick_choices(system, "w_b_")
        system = data.system_for(spec, folder)
    ok, message = system.availability() if system is not None else (False, data.choice(spec).message)
    if folder:
        st.caption(f"Uses the local folder `{folder}` (model_path) given above.")
    job = builds.job(ds_name, split, spec, folder)
    if job is not None and not builds.settled(job):
        return builds.show(job, lambda: builds.start(ds_name, split, spec, folder), f"b_{ds_name}_{split}_{spec}")
    if job is not None:
        took = text.format_seconds(job.elapsed())
        st.success(f"Cached {data.name_md(spec)} on {data.esc(ds_name)} ({data.esc(split)}): built here in {took}.")
        return
    if data.has_run(ds_name, split, spec) and not folder:
        st.success(f"{data.name_md(spec)} on {data.esc(ds_name)} ({data.esc(split)}) is already cached.")
        return
    if not ok:
        st.warning(message or "Not available here.")
        return
    if judging.read_only():
        return st.info(judging.read_only())
    eta, how = builds.estimate(ds_name, split, spec)
    said = f"about {text.format_seconds(eta)} ({how})" if eta is not None else (how or "unknown")
    st.caption(f"Estimated time: {said}. Models not yet on this machine are downloaded first when there is internet.")
    st.button(
        "Build",
        type="primary",
        icon=":material/play_arrow:",
        key="w_b_go",
        on_click=builds.start,
        args=(ds_name, split, spec, folder),
    )


def main() -> None:
    st.title("Data & runs")
    builds.settle_all()
    sidebar.judging_controls(state.view())
    sidebar.footer()
    datasets_section()
    _models.models_section()
    runs_section()
    build_section()
    _judgements_io.section()
    upload_section()


def upload_section() -> None:
    st.subheader("Upload a run")
    names = data.local_datasets()
    if not names:
        return st.info("No dataset is here to upload a run for.")
    v = state.view()
    ds_name = st.selectbox(
        "For the dataset (its query and document ids are checked)",
        names,
        index=names.index(v["dataset"]) if v["dataset"] in names else 0,
        key="w_u_ds",
    )
    _upload.upload_form(ds_name)


_nav.enter()
main()
