"""Users' judgements in a row: the user badge beside the official one, and the judging bar of an opened row.

A user label never hides the official one: the official badge (filled) stays where it is, the user badge
(outlined, blue) comes after it, and a user grade that disagrees with the official one is drawn in red with "≠"
and says so in its tooltip. "Can't tell" is a "?" in the outline; a judgement made on another version of the
dataset is struck through (stale: never used in metrics). Everything from data is escaped here (judge names and
notes are text).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

GRADE_WORDS = {0: "not relevant", 1: "relevant", 2: "highly relevant", 3: "perfectly relevant"}


@dataclass(frozen=True)
class RowJudging:
    """What a row shows of the users' judgements: the scale, this judge's judgement (or None), the other judges'
    current ones, and whether this judge can judge here (else ``off`` says why)."""

    scale: tuple[int, ...]
    mine: Any = None
    others: tuple[Any, ...] = field(default_factory=tuple)
    off: str = ""
    draft: str | None = None  # a note typed but not saved (a failed or refused write): shown in the note box


def grade_word(grade: int, scale: Sequence[int]) -> str:
    """``1`` -> ``"relevant"`` (on a 0/1 scale); negative grades are "not relevant (-1)"."""
    if grade < 0:
        return f"not relevant ({grade})"
    if max(scale) <= 1:
        return GRADE_WORDS[min(grade, 1)]
    return GRADE_WORDS.get(grade, f"grade {grade}")


def value_text(item: Any) -> str:
    return "can't tell" if item.cant_tell else str(item.grade)


def _disagrees(item: Any, official: int | None) -> bool:
    return official is not None and not item.cant_tell and item.grade != official


def user_badge_html(rj: RowJudging | None, official: int | None) -> str:
    """The user badge of a row's summary ("" when nobody judged it): this judge's value, else the other judges'
    (their count in the tooltip)."""
    if rj is None or (rj.mine is None and not rj.others):
        return ""
    shown = rj.mine if rj.mine is not None else rj.others[0]
    esc = html.escape
    tips = [
        f"{'you' if rj.mine is not None and i is rj.mine else esc(i.judge)}: {value_text(i)}"
        + (f" ({esc(i.note)})" if i.note else "")
        + (" - made on another version of the dataset, not used" if i.stale else "")
        for i in ([rj.mine] if rj.mine is not None else []) + list(rj.others)
    ]
    cls = ["rk-ub"]
    if rj.mine is None:
        cls.append("rk-oth")
    if shown.stale:
        cls.append("rk-stale")
    text = "?" if shown.cant_tell else str(shown.grade)
    if _disagrees(shown, official):
        cls.append("rk-dis")
        text = f"≠{text}"
        tips.append(f"the official qrels say {official}: official wins in merged metrics")
    elif official is None and not shown.cant_tell:
        tips.append("the official qrels do not judge it")
    more = f"+{len(rj.others)}" if rj.mine is not None and rj.others else ""
    return f'<span class="{" ".join(cls)}" title="{esc("; ".join(tips), quote=True)}">{esc(text)}{more}</span>'


def column_attrs(scale: Sequence[int], on: bool) -> dict[str, str]:
    """The ``data-*`` attributes of a column that can be judged (the page's script reads them to build an opened
    row's judging bar and to take grade keys): ``judge`` on/off, the ``scale`` and each grade's ``words``."""
    return {
        "judge": "on" if on else "off",
        "scale": ",".join(map(str, scale)),
        "words": "|".join(grade_word(g, scale) for g in scale),
    }


def judge_bar_html(docid: str, rj: RowJudging | None) -> str:
    """An opened row's judging bar, as the seed the page's script fills when the row is first opened
    (view/assets/rows.js ``fillBar``): one button per grade of the column's scale (keys: the digits), "Can't tell"
    (u), "Clear" (x) once judged, a short note (n). The seed holds what the script cannot know: this judge's value
    (``data-mine``) and note (``data-note``), and the other judges' values as text. (Built here for every row, the
    bar was about half of a row's elements and bytes, at 100 rows per column, for the few rows anyone opens.)"""
    if rj is None:
        return ""
    esc = html.escape
    if rj.off:
        return f'<div class="rk-judge rk-off">{esc(rj.off)}</div>'
    current = None if rj.mine is None else ("cant" if rj.mine.cant_tell else str(rj.mine.grade))
    note = rj.draft if rj.draft is not None else (rj.mine.note or "" if rj.mine is not None else "")
    seed = (f' data-mine="{current}"' if current is not None else "") + (f' data-note="{esc(note, quote=True)}"' if note else "")
    others = "".join(
        f'<span class="rk-who">{esc(i.judge)}: {esc(value_text(i))}{" · " + esc(i.note) if i.note else ""}'
        f"{' (stale)' if i.stale else ''}</span>"
        for i in rj.others
    )
    return f'<div class="rk-judge" data-docid="{esc(docid, quote=True)}"{seed}>{others}</div>'
