"""Every number carries its command: the ``python -m retrieval run ...`` line behind a run, copyable.

``reproduce_block(ds_name, split, spec)`` is what a page calls under a run's numbers (Compare, per
column; Data & runs, per cached run). The command comes from ``retrieval.reproduce``: for a cached run
with the dtype and model revision recorded in its cache key, otherwise from today's defaults.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _cached as data
from pages import _state as state
from view import cards


# A resource, not data: st.cache_data would hand every caller a fresh (unpickled) copy of the frame, and Compare asks
# once per column on every click. Callers must not modify what they get.
@st.cache_resource(ttl=30, show_spinner=False)
def _commands(root: str, data_dir_text: str) -> tuple[pd.DataFrame, dict[tuple[str, str, str], tuple[str, str]]]:
    from retrieval.reproduce import cached_run_commands

    rows = cached_run_commands(data.get_cache(root), data_dir=data_dir_text or None)
    latest = {}  # (dataset, split, system) -> (command, notes) of its last row in the frame ("": no command)
    for ds_name, split, spec, command, notes in rows[["dataset", "split", "system", "command", "notes"]].itertuples(index=False):
        latest[ds_name, split, spec] = (str(command or ""), str(notes or ""))
    return rows, latest


def forget() -> None:
    """Work the commands out again on the next call (a run was built)."""
    _commands.clear()


def _current() -> tuple[pd.DataFrame, dict[tuple[str, str, str], tuple[str, str]]]:
    return _commands(data.cache_root(), str(data.data_dir() or ""))


def cached_commands() -> pd.DataFrame:
    """One row per cached run: ``dataset, split, system, created, command, notes, path`` (shared: do not modify)."""
    return _current()[0]


def command_for(ds_name: str, split: str, spec: str) -> tuple[str | None, str]:
    """``(command or None, notes)`` for ``spec``'s run on ``ds_name``/``split``."""
    if spec in state.uploads():
        return None, "An uploaded run: it was made elsewhere, so no command here rebuilds it."
    command, notes = _current()[1].get((ds_name, split, spec), ("", ""))
    if command:
        return command, notes
    from retrieval.errors import RetrievalError
    from retrieval.reproduce import command_for_system

    system = data.system_info(spec)[0]
    if system is None:
        return None, f"{spec} is not a system this project makes."
    try:
        rep = command_for_system(system, ds_name, split, data_dir=str(data.data_dir()) if data.data_dir() else None)
    except RetrievalError as exc:
        return None, str(exc)
    return rep.command, "; ".join(rep.notes)


def reproduce_block(ds_name: str, split: str, spec: str, *, expanded: bool = False) -> None:
    """The copyable command (``st.code``) that rebuilds the run and prints its metrics, with its notes."""
    command, notes = command_for(ds_name, split, spec)
    with st.expander("Reproduce", icon=":material/terminal:", expanded=expanded):
        if command:
            st.code(command, language="bash", wrap_lines=True)
            st.caption(cards.REPRODUCE_NOTE + (f" {data.esc(notes, joiners=False)}" if notes else ""))
        else:
            st.caption(data.esc(notes, joiners=False))
