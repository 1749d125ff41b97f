"""First start on a machine with no dataset: the default one is downloaded in the background, with a progress bar.

The download runs in a thread (``retrieval.download.download_beir``: md5 checked, extracted atomically)
into the cache's ``datasets/`` folder, where ``open_dataset`` looks. The page polls the job with
``st.fragment(run_every=...)``, so nothing blocks, and reruns the whole app once the dataset is there
(the BM25 column is then built on the spot, as always). The URL and checksum are the catalogue's;
``BEIR_DOWNLOAD_URL`` (a template with ``{name}``) and ``BEIR_DOWNLOAD_MD5`` point it at a mirror.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from pages import _cached as data
from pages._builds import FIRST_START
from view import text


@dataclass
class Download:
    name: str
    url: str
    root: Path
    total: int | None = None
    error: str = ""
    done: bool = False
    started: float = field(default_factory=time.monotonic)

    def fetched(self) -> int:
        """Bytes on disk so far (the partial file while it downloads)."""
        folder = self.root / "_downloads"
        return sum(p.stat().st_size for p in folder.glob(f"{self.name}.zip*") if p.is_file()) if folder.is_dir() else 0


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, Download]:
    return {}


def _fetch(job: Download, md5: str | None) -> None:
    from retrieval.download import download_beir

    try:
        try:
            with urllib.request.urlopen(urllib.request.Request(job.url, method="HEAD"), timeout=10) as resp:  # noqa: S310
                job.total = int(resp.headers.get("Content-Length") or 0) or None
        except Exception:  # a server without HEAD: the bar shows bytes only
            pass
        download_beir(job.name, job.url, md5, job.root, progress=False)
        job.done = True
    except Exception as exc:  # shown on the page; a later visit tries again
        job.error = f"{type(exc).__name__}: {exc}"


def start(name: str) -> Download | None:
    """The running (or finished) download of ``name``, started if there is none; None if it cannot be downloaded."""
    from retrieval.beir import dataset_info

    info = dataset_info(name)
    if info is None or not info.downloadable:
        return None
    url = os.environ.get("BEIR_DOWNLOAD_URL", "").format(name=name) or info.url
    md5 = os.environ.get("BEIR_DOWNLOAD_MD5") or (info.md5 if url == info.url else None)
    root = Path(data.cache_root()) / "datasets"
    jobs = _jobs()
    job = jobs.get(f"{root}/{name}")
    if job is None or job.error:
        job = jobs[f"{root}/{name}"] = Download(name, url, root)
        threading.Thread(target=_fetch, args=(job, md5), daemon=True, name=f"download-{name}").start()
    return job


def landing(name: str) -> None:
    """The landing page with no data: download ``name`` with a progress bar, then show the app."""
    job = start(name)
    if job is None:
        st.error(f"No BEIR dataset here, and {data.esc(name)} cannot be downloaded. Set BEIR_DATA_DIR to a folder holding one.")
        return
    st.info(
        f"No BEIR dataset here yet: downloading {data.esc(name)} (md5 checked) into the cache. The page fills in when it is there."
    )
    progress(job)


@st.fragment(run_every=0.5)
def progress(job: Download) -> None:
    if job.error:
        st.error(f"The download of {data.esc(job.name)} failed: {data.esc(job.error, joiners=False)}")
        return
    if job.done:
        data.forget_datasets()
        st.session_state[FIRST_START] = True  # the columns then build their missing runs on their own (pages/_builds.py)
        st.rerun(scope="app")
    got, total = job.fetched(), job.total
    elapsed = time.monotonic() - job.started
    if total:
        frac = min(got / total, 1.0)
        eta = elapsed * (1 - frac) / frac if frac > 0 else None
        label = f"{got / 1e6:.1f} of {total / 1e6:.1f} MB · about {text.format_seconds(eta)} left"
    else:
        frac, label = 0.0, f"{got / 1e6:.1f} MB"
    st.progress(frac, text=f"Downloading {job.name}: {label}")
