"""Data & runs' judgements: where they are kept, how many per dataset and judge, export (TREC qrels, CSV) and
import of a qrels file as another judge's judgements (``retrieval.judgements``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from pages import _cached as data
from pages import _judging as judging
from pages import _state as state


def section() -> None:
    st.subheader("Judgements")
    opened, why = judging.store()
    if opened is None:
        st.warning(f"The judgements database cannot be opened: {data.esc(why, joiners=False)} Browsing works; judging is off.")
        return
    st.caption(
        f"Kept in {data.esc(opened.where, joiners=False)}"
        + (f" · read-only: {data.esc(opened.read_only_reason, joiners=False)}" if opened.read_only else "")
        + ". Set RETRIEVAL_DB_URL=postgresql://... to share one database in a lab."
    )
    summary = opened.summary()
    if summary.empty:
        st.info("No judgements yet: judge documents in Compare (open a row, or focus it and press a grade).")
    else:
        st.dataframe(summary, hide_index=True, width="stretch")
    names = data.local_datasets()
    if not names:
        return
    v = state.view()
    c1, c2, c3 = st.columns([2, 1, 2])
    ds_name = c1.selectbox("Dataset", names, index=names.index(v["dataset"]) if v["dataset"] in names else 0, key="w_j_ds")
    splits = data.dataset(ds_name).splits
    split = c2.selectbox("Split", splits, index=splits.index(v["split"]) if v["split"] in splits else 0, key="w_j_split")
    j = judging.judgements(ds_name, split)
    judges = j.judges()
    who = c3.selectbox("Judge", ["all judges (majority)", *judges], key="w_j_judge")
    judge = None if who.startswith("all judges") else who
    stem = f"judgements-{ds_name}-{split}" + (f"-{judge}" if judge else "")
    e1, e2, e3 = st.columns(3)
    e1.download_button(
        "TREC qrels (with header)",
        data=lambda: j.export_trec(judge)[0],
        file_name=f"{stem}.qrels",
        mime="text/plain",
        icon=":material/download:",
        on_click="ignore",
        key="w_j_trec",
        help="qid 0 docid grade, after '#' lines saying who, when and which version of the dataset",
    )
    e2.download_button(
        "TREC qrels (plain)",
        data=lambda: j.export_trec(judge, header=False)[0],
        file_name=f"{stem}.plain.qrels",
        mime="text/plain",
        icon=":material/download:",
        on_click="ignore",
        key="w_j_plain",
        help="Without the header: what trec_eval, pytrec_eval and ir_measures read",
    )
    e3.download_button(
        "CSV (every judgement, notes included)",
        data=lambda: j.export_csv(judge),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/table_view:",
        on_click="ignore",
        key="w_j_csv",
    )
    import_form(ds_name, split, j)


def import_form(ds_name: str, split: str, j) -> None:
    off = judging.off_reason()
    with st.form("w_j_import", border=True):
        st.markdown(f"**Import a qrels file as a judge's judgements** ({data.esc(ds_name)} / {data.esc(split)})")
        upload = st.file_uploader("TREC or BEIR qrels file", key="w_j_file")
        judge = st.text_input("Judge name for these judgements", key="w_j_as", placeholder="e.g. trec-assessors")
        go = st.form_submit_button("Import", disabled=bool(off))
        if off:
            st.caption(data.esc(off))
    if not go:
        return
    if upload is None or not judge.strip():
        st.error("Choose a file and give the judge's name.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            report = j.import_qrels(path, judge=judge.strip())
        except Exception as exc:  # noqa: BLE001 - a bad line names file and line; shown here, nothing imported
            st.error(f"Nothing imported: {data.esc(exc, joiners=False)}")
            return
    st.success(data.esc(report.describe(), joiners=False))
