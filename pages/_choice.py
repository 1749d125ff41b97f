"""The page's native form controls, each drawn by a small script in the page: a ``<select>`` (the sidebar's dataset
and split), a row of radio buttons (Compare's documents per column, view, query mode) and a checkbox drawn as a
switch (the toggles that open a panel: size ladder, upload, most contrasting).

They replace ``st.selectbox``, ``st.segmented_control`` and ``st.toggle``, whose widgets the browser built again on
every page switch: the two selectboxes were ~33 ms of the renderer's CPU per switch to Compare at 100 documents per
column, and the six segmented controls and toggles ~37 ms more (p50 260 -> 223 ms, renderer CPU 323 -> 270 ms per
switch; each measured with and without them, issue 12). One ``st.components.v2`` element per control (no iframe),
rebuilt only when its label or options change (a new value alone is set in place, so the focus stays); text is set
with ``textContent``, never as HTML. A pick comes back to Python as a trigger value, and a value that is not an
option is ignored. Native selects, radios and checkboxes are what keyboards and screen readers know: a radio group
is named by its label, so ``get_by_role("radiogroup", name=...)`` finds it as it found Streamlit's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import streamlit as st

from pages import _element
from view import asset

STYLE_ID = "rk-choice-style"
CHOICE_CSS = asset.read("choice.css")

CHOICE_JS = asset.read("choice.js")

_CHOICE = _element.component("rk_choice", CHOICE_JS, {STYLE_ID: CHOICE_CSS})


def select(
    label: str,
    options: Sequence[str],
    value: str,
    key: str,
    on_pick: Callable[[str], None],
    where=None,
    fmt: Callable[[str], str] = str,
    hide_label: bool = False,
) -> None:
    """A select of ``options`` (shown as ``fmt(option)``) labelled ``label`` (for screen readers only with
    ``hide_label``), showing ``value``, in ``where``; a pick calls ``on_pick(option)`` before the rerun it causes
    (a value that is not an option is ignored)."""
    data = {"kind": "select", "label": label, "options": [[o, fmt(o)] for o in options], "value": value, "hide": hide_label}
    with where if where is not None else nullcontext():
        _CHOICE(data=data, key=key, on_pick_change=lambda: _on_pick(key, {o: o for o in options}, on_pick))


def segmented(
    label: str,
    options: Sequence[Any],
    value: Any,
    key: str,
    on_pick: Callable[[Any], None],
    fmt: Callable[[Any], str] = str,
    where=None,
) -> None:
    """A row of radio buttons labelled ``label``, one per option (shown as ``fmt(option)``), ``value`` checked, in
    ``where`` (a container; the current one when None). A pick calls ``on_pick(option)`` before the rerun it causes
    (options travel as text; a text that names no option is ignored)."""
    by_text = {str(o): o for o in options}
    data = {"kind": "segmented", "label": label, "options": [[str(o), fmt(o)] for o in options], "value": str(value)}
    with where if where is not None else nullcontext():
        _CHOICE(data=data, key=key, on_pick_change=lambda: _on_pick(key, by_text, on_pick))


def toggle(label: str, key: str, help: str | None = None, where=None) -> bool:
    """A switch labelled ``label`` (``help`` as its tooltip) in ``where``; whether it is on (off at first, kept for
    the session)."""
    on = bool(st.session_state.get(state_key(key)))
    data = {"kind": "toggle", "label": label, "value": on, "help": help or ""}
    with where if where is not None else nullcontext():
        _CHOICE(data=data, key=key, on_set_change=lambda: _on_set(key))
    return on


def state_key(key: str) -> str:
    """Where :func:`toggle` ``key`` keeps whether it is on."""
    return f"_on_{key}"


def _on_pick(key: str, by_text: dict[str, Any], on_pick: Callable[[Any], None]) -> None:
    value = _element.trigger_value(key, "pick")
    if isinstance(value, str) and value in by_text:
        on_pick(by_text[value])


def _on_set(key: str) -> None:
    value = _element.trigger_value(key, "set")
    if isinstance(value, bool):
        st.session_state[state_key(key)] = value
