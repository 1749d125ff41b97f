"""First start on a machine with no dataset: the default one is downloaded in the background, with a progress bar.

The download is a job of the app's one job service (``pages/_builds.py``, ``retrieval.jobs.dataset_job``:
``retrieval.download.download_beir``, md5 checked, extracted atomically) into the cache's ``datasets/`` folder,
where ``open_dataset`` looks. The page polls it while it runs and reruns the whole app once the dataset is there (the
BM25 column is then built on the spot, as always). One message at a time: while it downloads, what is happening;
after a failure, only the failure, with "Try again" (and no more polling). The URL and checksum are the catalogue's;
``BEIR_DOWNLOAD_URL`` (a template with ``{name}``) and ``BEIR_DOWNLOAD_MD5`` point it at a mirror.
"""

from __future__ import annotations

import streamlit as st

from pages import _builds as builds
from pages import _cached as data


def _arrived() -> None:
    st.session_state[builds.FIRST_START] = True  # the columns then build their missing runs on their own


def landing(name: str) -> None:
    """The landing page with no data: download ``name`` with a progress bar, then show the app."""
    job = builds.dataset_download(name) or builds.download_dataset(name)
    if job is None:
        st.error(f"No BEIR dataset here, and {data.esc(name)} cannot be downloaded. Set BEIR_DATA_DIR to a folder holding one.")
        return
    if job.running:
        st.info(
            f"No BEIR dataset here yet: downloading {data.esc(name)} (md5 checked) into the cache. "
            "The page fills in when it is there."
        )
    elif job.error:
        st.caption(
            f"No BEIR dataset here yet. Set BEIR_DATA_DIR to a folder holding {data.esc(name)}/ (corpus.jsonl, "
            "queries.jsonl, qrels/), or try the download again."
        )
    builds.show(job, lambda: builds.download_dataset(name), f"download_{name}", on_done=_arrived)


def download_form(names: list[str]) -> None:
    """Download a BEIR dataset into the cache, with its progress (the app's one job service)."""
    if not names:
        return
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.selectbox("Download a dataset (md5 checked, into the cache)", names, key="w_dl_name")
    job = builds.dataset_download(name)
    if job is None:
        c2.button("Download", icon=":material/download:", key="w_dl_go", on_click=builds.download_dataset, args=(name,))
    elif builds.settled(job):
        st.success(f"{data.esc(name)} is here: pick it in the sidebar.")
    else:
        builds.show(job, lambda: builds.download_dataset(name), f"dl_{name}")
