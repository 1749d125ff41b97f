"""Compare's query picker: a search box over the split's queries (by id or text), drawn by a small script in the page.

It replaces ``st.selectbox``, which cost the browser about 45 ms of CPU on every rerun of the rankings (Random, a
system added or removed; measured with and without it) and sent every option again each time: 29 KB for
SciFact's 300 test queries, about 1 MB for a split of 10,000.

Two ``st.components.v2`` elements, no iframe:
- ``rk_query_options`` holds the options (``[[qid, text], ...]``) and draws nothing. Its data is the same on every
  rerun of a split, so Streamlit's message cache sends it once and afterwards only a reference to it.
- ``rk_query`` is the box: it shows the current query, and typing filters the options (every word must appear in
  the id or the text; an exact id, then ids that start with what was typed, come first), 100 at a time. Arrow
  keys move, Enter or a click picks, Escape gives the box back its query. It is an ARIA combobox with a listbox.

A pick comes back to Python as a trigger value; text is set with ``textContent``, never as HTML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from pages import _element

LABEL_CHARS = 140  # of a query's text in the list and the box

OPTIONS_JS = r"""
export default function ({ data }) {
  (window.__rkQueries = window.__rkQueries || {})[data.id] = data.options;
}
"""

STYLE_ID = "rk-q-style"
PICKER_CSS = """
.rk-q{position:relative}
.rk-q-label{display:block;font-size:0.875rem;margin-bottom:0.25rem;color:rgb(49,51,63)}
.rk-q-box input{width:100%;box-sizing:border-box;height:2.5rem;padding:0 0.75rem;border:1px solid transparent;
  border-radius:0.5rem;background:#f0f2f6;font:inherit;font-size:0.875rem;color:rgb(49,51,63);
  text-overflow:ellipsis}
.rk-q-box input:focus{outline:none;border-color:#ff4b4b}
.rk-q-drop{position:absolute;z-index:1000;left:0;right:0;top:100%;margin-top:0.25rem;background:#fff;
  border-radius:0.5rem;box-shadow:0 4px 16px rgba(0,0,0,.16);font-size:0.875rem}
.rk-q-list{list-style:none;margin:0;padding:0.25rem 0;max-height:18rem;overflow-y:auto}
.rk-q-list:empty{display:none}
.rk-q-list li{padding:0.35rem 0.75rem;cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.rk-q-list li[aria-selected="true"]{background:#f0f2f6}
.rk-q-list li.rk-q-current{font-weight:600}
.rk-q-more{margin:0;padding:0.35rem 0.75rem;color:rgba(49,51,63,.6);font-style:italic}
.rk-q-more:empty{display:none}
"""

# The active option of a listbox (this picker's and the systems picker's, pages/_systems.py): aria-selected, in view,
# and the box's aria-activedescendant; ``st`` holds the box (``input``), the list (``ul``) and ``active``.
LISTBOX_JS = r"""
function activate(st, i) {
  const items = st.ul.querySelectorAll('[role="option"]');
  if (st.active >= 0 && items[st.active]) items[st.active].setAttribute("aria-selected", "false");
  st.active = Math.max(-1, Math.min(i, items.length - 1));
  if (st.active >= 0) {
    items[st.active].setAttribute("aria-selected", "true");
    items[st.active].scrollIntoView({block: "nearest"});
    st.input.setAttribute("aria-activedescendant", items[st.active].id);
  } else st.input.removeAttribute("aria-activedescendant");
}
"""

PICKER_JS = (
    LISTBOX_JS
    + r"""
const SHOW = 100;
let seq = 0;
const label = o => o[0] + " · " + o[1];

function matches(options, typed) {
  const words = typed.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return options;
  const t = typed.trim().toLowerCase(), exact = [], prefix = [], rest = [];
  for (const o of options) {
    const id = o[0].toLowerCase(), hay = id + " " + o[1].toLowerCase();
    if (!words.every(w => hay.includes(w))) continue;
    (id === t ? exact : id.startsWith(t) ? prefix : rest).push(o);
  }
  return exact.concat(prefix, rest);
}

function build(root) {
  __STYLE__;
  const n = ++seq, list = "rk-q-list-" + n, box = "rk-q-input-" + n;
  root.innerHTML =
    '<div class="rk-q"><label class="rk-q-label"></label><div class="rk-q-box"><input type="text" role="combobox" ' +
    'aria-autocomplete="list" aria-expanded="false" autocomplete="off" spellcheck="false"></div>' +
    '<div class="rk-q-drop" hidden><ul class="rk-q-list" role="listbox"></ul>' +
    '<p class="rk-q-more" role="status" aria-live="polite"></p></div></div>';
  const input = root.querySelector("input"), ul = root.querySelector("ul");
  const drop = root.querySelector(".rk-q-drop"), more = root.querySelector(".rk-q-more");
  input.id = box; ul.id = list; input.setAttribute("aria-controls", list);
  root.querySelector("label").htmlFor = box;
  ul.setAttribute("aria-label", "Queries");
  const st = root.__st = {input, ul, shown: [], active: -1, open: false};

  const options = () => (window.__rkQueries || {})[root.__data.id] || [];
  const setActive = i => activate(st, i);
  const show = typed => {
    const all = matches(options(), typed);
    st.shown = all.slice(0, SHOW);
    ul.textContent = "";
    st.shown.forEach((o, i) => {
      const li = document.createElement("li");
      li.id = list + "-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
      li.dataset.i = i; li.textContent = label(o);
      if (o[0] === root.__data.qid) li.classList.add("rk-q-current");
      ul.appendChild(li);
    });
    // outside the listbox (it holds options only), announced to screen readers
    more.textContent = all.length > SHOW ? `${all.length - SHOW} more: type to narrow` : all.length ? "" : "No query matches";
    st.active = -1; setActive(typed ? 0 : st.shown.findIndex(o => o[0] === root.__data.qid));
    drop.hidden = false; st.open = true; input.setAttribute("aria-expanded", "true");
  };
  const close = () => {
    drop.hidden = true; st.open = false; input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const restore = () => { close(); input.value = root.__data.label; };
  const pick = o => {
    root.__data = Object.assign({}, root.__data, {label: label(o)});  // shown until the rerun brings it back
    close(); input.value = label(o); input.blur();
    if (o[0] !== root.__data.qid) root.__trigger("pick", o[0]);
  };
  input.addEventListener("focus", () => { input.select(); show(""); });
  input.addEventListener("input", () => show(input.value));
  input.addEventListener("blur", restore);
  input.addEventListener("keydown", e => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!st.open) show("");
      setActive(st.active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && st.open && st.shown[st.active]) {
      e.preventDefault(); pick(st.shown[st.active]);
    } else if (e.key === "Escape") { e.preventDefault(); restore(); input.blur(); }
  });
  drop.addEventListener("mousedown", e => e.preventDefault());  // keep the focus (and the list) until the click
  ul.addEventListener("click", e => {
    const li = e.target.closest('[role="option"]');
    if (li) pick(st.shown[+li.dataset.i]);
  });
}

export default function ({ data, parentElement: root, setTriggerValue }) {
  root.__trigger = setTriggerValue;
  root.__data = data;
  if (!root.__st) build(root);
  const st = root.__st;
  root.querySelector("label").textContent = data.title;
  if (document.activeElement !== st.input) st.input.value = data.label;
}
"""
)


_OPTIONS = st.components.v2.component("rk_query_options", js=OPTIONS_JS, isolate_styles=False)
_PICKER = _element.component("rk_query", PICKER_JS, {STYLE_ID: PICKER_CSS})

KEY = "query_picker"
OPTIONS_KEY = "query_options"
HIDDEN_CSS = f".st-key-{OPTIONS_KEY}{{display:none}}"  # the options element draws nothing: no gap for it either


def options_data(options: Sequence[str], queries: Mapping[str, str]) -> dict:
    """The options element's data: ``[[qid, text], ...]`` and an id that changes when they do."""
    pairs = [[q, _text(q, queries)] for q in options]
    digest = hashlib.blake2s("\x1f".join(f"{q}\x1e{t}" for q, t in pairs).encode("utf-8"), digest_size=8).hexdigest()
    return {"id": digest, "options": pairs}


def label(qid: str, queries: Mapping[str, str]) -> str:
    """What the box shows for ``qid`` (the list's items read the same, joined in the page)."""
    return f"{qid} · {_text(qid, queries)}"


def _text(qid: str, queries: Mapping[str, str]) -> str:
    return " ".join(queries.get(qid, "").split())[:LABEL_CHARS]


def picker(title: str, options: Sequence[str], queries: Mapping[str, str], current: str, on_pick: Callable[[str], None]) -> None:
    """Mount the picker showing ``current``; a pick calls ``on_pick(qid)`` before the rerun it causes."""
    opts = _options(tuple(options), queries)
    _OPTIONS(data=opts, key=OPTIONS_KEY)
    _PICKER(
        data={"id": opts["id"], "qid": current, "label": label(current, queries), "title": title},
        key=KEY,
        on_pick_change=lambda: _on_pick(on_pick),
    )


def _options(options: tuple[str, ...], queries: Mapping[str, str]) -> dict:
    """:func:`options_data`, kept while the split's options stay the same (a rerun changes only the query)."""
    kept = st.session_state.get("_query_options")
    if kept is None or kept[0] != options or kept[1] is not queries:
        kept = (options, queries, options_data(options, queries))
        st.session_state["_query_options"] = kept
    return kept[2]


def _on_pick(on_pick: Callable[[str], None]) -> None:
    value = _element.trigger_value(KEY, "pick")
    if isinstance(value, str):
        on_pick(value)


HEADER_STYLE_ID = "rk-qh-style"
HEADER_CSS = """
.rk-qh{margin:0 0 0.25rem;font-size:1rem;line-height:1.6;color:rgb(49,51,63);overflow-wrap:anywhere}
.rk-qh-c{font-size:0.875rem;line-height:1.6;color:rgba(49,51,63,.6)}
"""
HEADER_JS = r"""
export default function ({ data, parentElement: root }) {
  __STYLE__;
  const sig = JSON.stringify(data);
  if (root.__sig === sig) return;
  root.__sig = sig;
  const line = document.createElement("p"), name = document.createElement("strong"), caption = document.createElement("div");
  line.className = "rk-qh";
  name.textContent = data.label;
  line.append(name, " " + data.text);
  caption.className = "rk-qh-c";
  caption.textContent = data.caption;
  root.replaceChildren(line, caption);
}
"""
_HEADER = _element.component("rk_qhead", HEADER_JS, {HEADER_STYLE_ID: HEADER_CSS})
HEADER_KEY = "query_header"


def header(where, label: str, text: str, caption: str) -> None:
    """The line above the columns: ``label`` in bold, the query's ``text``, and a caption under it, as text.

    One page element instead of a Markdown element and a caption, which the browser parsed and drew again on every
    Random click: Chromium used 251 -> 233 ms of CPU per Random click with it (24 clicks each, interleaved; issue
    12)."""
    with where:
        _HEADER(data={"label": label, "text": text, "caption": caption}, key=HEADER_KEY)
