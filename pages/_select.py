"""The sidebar's dataset and split pickers: a native ``<select>`` each, drawn by a small script in the page.

They replace ``st.selectbox``, whose widget (a searchable menu) the browser builds again on every page switch: the
two of them were ~33 ms of the renderer's CPU per switch to Compare at 100 documents per column (measured with and
without them, issue 12). A native select is also what a keyboard or a screen reader knows best. One
``st.components.v2`` element (no iframe), redrawn only when its label, options or value change; text is set with
``textContent``, never as HTML. A pick comes back to Python as a trigger value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from pages import _element

STYLE_ID = "rk-sel-style"
SELECT_CSS = """
.rk-sel{margin-bottom:0.25rem}
.rk-sel label{display:block;font-size:0.875rem;margin-bottom:0.25rem;color:rgb(49,51,63)}
.rk-sel select{width:100%;height:2.5rem;padding:0 0.5rem;border:1px solid rgba(49,51,63,.2);border-radius:0.5rem;
  background:#f0f2f6;font:inherit;font-size:0.875rem;color:rgb(49,51,63);cursor:pointer}
.rk-sel select:focus{outline:none;border-color:#ff4b4b}
"""

SELECT_JS = r"""
let seq = 0;
export default function ({ data, parentElement: root, setTriggerValue }) {
  __STYLE__;
  root.__trigger = setTriggerValue;  // the latest mount's, used by the listener below
  const sig = JSON.stringify([data.label, data.options, data.value]);
  if (root.__sig === sig) return;
  root.__sig = sig;
  if (!root.__select) {
    const box = document.createElement("div"), label = document.createElement("label"), select = document.createElement("select");
    box.className = "rk-sel";
    select.id = label.htmlFor = "rk-sel-" + ++seq;
    select.addEventListener("change", () => root.__trigger("pick", select.value));
    box.append(label, select);
    root.replaceChildren(box);
    Object.assign(root, { __label: label, __select: select });
  }
  root.__label.textContent = data.label;
  root.__select.replaceChildren(...data.options.map(([value, text]) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }));
  root.__select.value = data.value;
}
"""

_SELECT = _element.component("rk_select", SELECT_JS, {STYLE_ID: SELECT_CSS})


def select(label: str, options: Sequence[str], value: str, key: str, on_pick: Callable[[str], None]) -> None:
    """Mount a select of ``options`` showing ``value`` in the sidebar; a pick calls ``on_pick(option)`` before the
    rerun it causes (a value that is not an option is ignored)."""
    data = {"label": label, "options": [[o, o] for o in options], "value": value}
    with st.sidebar:
        _SELECT(data=data, key=key, on_pick_change=lambda: _on_pick(key, options, on_pick))


def _on_pick(key: str, options: Sequence[str], on_pick: Callable[[str], None]) -> None:
    value = _element.trigger_value(key, "pick")
    if isinstance(value, str) and value in options:
        on_pick(value)
