"""Compare's systems picker: the chosen systems as chips, and a search box to add one, drawn by a small script in the
page.

It replaces ``st.multiselect``, the heaviest element on Compare for the browser: without it the page came up about
34 ms sooner after a page switch (Failure cases -> Compare, 12 clicks each, interleaved), and it was drawn again on
every rerun of the rankings. One ``st.components.v2`` element (no iframe); ARIA: the box is a combobox with a
listbox, each chip's remove button says what it removes. Typing filters the systems not chosen yet (every word in
the name or the spec); arrow keys move, Enter or a click adds, Backspace in the empty box removes the last chip,
Escape closes the list. At ``max`` systems the box is disabled and says so. A change comes back to Python as the
new list (a trigger value); names are set with ``textContent``, never as HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pages import _element, _query
from view import asset

KEY = "systems_picker"

SYSTEMS_CSS = asset.read("systems.css")

SYSTEMS_JS = _query.LISTBOX_JS + asset.read("systems.js")

# The list's look is the query picker's (its style may not be in the page yet: free-text mode has no query picker).
_PICKER = _element.component("rk_systems", SYSTEMS_JS, {_query.STYLE_ID: _query.PICKER_CSS, "rk-sys-style": SYSTEMS_CSS})


def picker_data(
    title: str, options: Sequence[str], chosen: Sequence[str], label: Callable[[str], str], off: Sequence[str], most: int
) -> dict:
    """The element's data: ``options`` as ``[spec, label]`` pairs, the ``chosen`` specs, those ``off`` (not available
    here: drawn grey), the most that can be chosen, and a signature of it all."""
    data = {"title": title, "options": [[s, label(s)] for s in options], "chosen": list(chosen), "off": list(off), "max": most}
    data["sig"] = _element.signature(data)
    return data


def picker(
    title: str,
    options: Sequence[str],
    chosen: Sequence[str],
    label: Callable[[str], str],
    off: Sequence[str],
    most: int,
    on_change: Callable[[list[str]], None],
) -> None:
    """Mount the picker; a change calls ``on_change(the new list)`` (known options only, no repeats, at most
    ``most``) before the rerun it causes."""
    _PICKER(
        data=picker_data(title, options, chosen, label, off, most),
        key=KEY,
        on_change_change=lambda: _on_change(list(options), most, on_change),
    )


def _on_change(options: list[str], most: int, on_change: Callable[[list[str]], None]) -> None:
    value = _element.trigger_value(KEY, "change")
    if not isinstance(value, list):
        return
    known = set(options)
    chosen = list(dict.fromkeys(v for v in value if isinstance(v, str) and v in known))[:most]
    on_change(chosen)
