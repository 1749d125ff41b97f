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

STYLE_ID = "rk-choice-style"
CHOICE_CSS = """
.rk-sel{margin-bottom:0.25rem}
.rk-sel label{display:block;font-size:0.875rem;margin-bottom:0.25rem;color:rgb(49,51,63)}
.rk-sel select{width:100%;height:2.5rem;padding:0 0.5rem;border:1px solid rgba(49,51,63,.2);border-radius:0.5rem;
  background:#f0f2f6;font:inherit;font-size:0.875rem;color:rgb(49,51,63);cursor:pointer}
.rk-sel select:focus{outline:none;border-color:#ff4b4b}
.rk-seg-l{font-size:0.875rem;margin-bottom:0.25rem;color:rgb(49,51,63)}
.rk-seg-o{display:flex;flex-wrap:wrap}
.rk-seg-o label{position:relative;display:inline-flex;align-items:center;min-height:2.5rem;padding:0 0.75rem;
  border:1px solid rgba(49,51,63,.2);margin-left:-1px;background:#fff;font-size:0.875rem;color:rgb(49,51,63);cursor:pointer}
.rk-seg-o label:first-child{margin-left:0;border-radius:0.5rem 0 0 0.5rem}
.rk-seg-o label:last-child{border-radius:0 0.5rem 0.5rem 0}
.rk-seg-o label:has(input:checked){z-index:1;border-color:#ff4b4b;color:#ff4b4b;background:rgba(255,75,75,.08)}
.rk-seg-o label:has(input:focus-visible){z-index:1;box-shadow:0 0 0 0.2rem rgba(255,75,75,.5)}
.rk-seg-o input{position:absolute;inset:0;margin:0;opacity:0;cursor:pointer}
.rk-tog{display:inline-flex;align-items:center;gap:0.5rem;min-height:2.5rem;font-size:0.875rem;color:rgb(49,51,63);cursor:pointer}
.rk-tog input{appearance:none;position:relative;flex:none;width:2rem;height:1.125rem;margin:0;border-radius:1rem;
  background:rgba(49,51,63,.25);cursor:pointer;transition:background .15s}
.rk-tog input::before{content:"";position:absolute;top:0.125rem;left:0.125rem;width:0.875rem;height:0.875rem;
  border-radius:50%;background:#fff;transition:transform .15s}
.rk-tog input:checked{background:#ff4b4b}
.rk-tog input:checked::before{transform:translateX(0.875rem)}
.rk-tog input:focus-visible{outline:none;box-shadow:0 0 0 0.2rem rgba(255,75,75,.5)}
"""

CHOICE_JS = r"""
let seq = 0;
function segmented(root, data) {
  const id = "rk-seg-" + ++seq, group = document.createElement("div"), label = document.createElement("div"), row = document.createElement("div");
  group.className = "rk-seg";
  group.setAttribute("role", "radiogroup");
  group.setAttribute("aria-labelledby", id);
  label.className = "rk-seg-l";
  label.id = id;
  label.textContent = data.label;
  row.className = "rk-seg-o";
  for (const [value, text] of data.options) {
    const option = document.createElement("label"), input = document.createElement("input"), span = document.createElement("span");
    input.type = "radio";
    input.name = id;
    input.value = value;
    input.checked = value === data.value;
    input.addEventListener("change", () => { if (input.checked) root.__trigger("pick", value); });
    span.textContent = text;
    option.append(input, span);
    row.append(option);
  }
  group.append(label, row);
  return group;
}
function select(root, data) {
  const box = document.createElement("div"), label = document.createElement("label"), menu = document.createElement("select");
  box.className = "rk-sel";
  menu.id = label.htmlFor = "rk-sel-" + ++seq;
  label.textContent = data.label;
  menu.addEventListener("change", () => root.__trigger("pick", menu.value));
  menu.append(...data.options.map(([value, text]) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }));
  box.append(label, menu);
  return box;
}
function toggle(root, data) {
  const box = document.createElement("label"), input = document.createElement("input"), span = document.createElement("span");
  box.className = "rk-tog";
  if (data.help) box.title = data.help;
  input.type = "checkbox";
  input.setAttribute("role", "switch");
  input.checked = data.value;
  input.addEventListener("change", () => root.__trigger("set", input.checked));
  span.textContent = data.label;
  box.append(input, span);
  return box;
}
export default function ({ data, parentElement: root, setTriggerValue }) {
  __STYLE__;
  root.__trigger = setTriggerValue;  // the latest mount's, used by the listeners
  const { value, ...shape } = data, sig = JSON.stringify(shape);
  if (root.__sig !== sig) {
    root.__sig = sig;
    root.replaceChildren({ select, segmented, toggle }[data.kind](root, data));
  }
  // A new value alone is set in place: the focused control keeps the focus (arrow keys go on from it).
  // (Streamlit calls this only when the data changed: a local pick the server did not take is not undone.)
  for (const menu of root.querySelectorAll("select")) menu.value = value;
  for (const input of root.querySelectorAll("input")) input.checked = input.type === "checkbox" ? value : input.value === value;
}
"""

_CHOICE = _element.component("rk_choice", CHOICE_JS, {STYLE_ID: CHOICE_CSS})


def select(label: str, options: Sequence[str], value: str, key: str, on_pick: Callable[[str], None], where=None) -> None:
    """A select of ``options`` labelled ``label``, showing ``value``, in ``where``; a pick calls ``on_pick(option)``
    before the rerun it causes (a value that is not an option is ignored)."""
    data = {"kind": "select", "label": label, "options": [[o, o] for o in options], "value": value}
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
