"""Where a chart's text labels go: computed in Python from the data and the chart's scales, before the spec is
built, so that no label covers a point, a line, a rule or another label.

Geometry is in pixels of the plot area (x right, y down). A label's box is estimated from its text: each line's
characters times the font size times each character's advance width in Source Sans (the font Streamlit draws chart
text in), rounded up to 0.05 em (measured once in Chromium; a character not in the table counts 1 em); one line
``GLYPH_PX`` high, every further one ``LINE_PX`` more (Vega draws the first line at the text's y, the others below). Kerning only narrows text, so this bounds the drawn width from above; the browser test measures
the drawn labels against it.

Labels are anchored in data coordinates and offset in pixels, so the same spec drawn wider moves them against
the lines (a line leaving a label's point flattens as the plot widens and may run into it): each label is placed
clear of everything at every plot width it is placed for (the chart's width and a wider one, :func:`place`). The
height is fixed by the chart (Vega-Lite ``fit-x``: only the width follows the page).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

FONT_PX = 12
# Source Sans advance widths (em), rounded up to 0.05, by character.
_EM_GROUPS = {
    0.20: " ",
    0.25: "',.:;ij|·",
    0.30: "!Ifl",
    0.35: "()-/[\\]rt{}",
    0.45: '"*?sxz',
    0.50: "0123456789#$+<=>FJLY^_cekvy~−",
    0.55: "AESTVXZ`aghnou",
    0.60: "BCKPRbdpq",
    0.65: "&DGNU",
    0.70: "HOQ",
    0.75: "Mw",
    0.80: "W",
    0.85: "%@m",
    0.95: "…",
}
CHAR_EM = {ch: em for em, chars in _EM_GROUPS.items() for ch in chars}
# Text drawn in another font (an image made outside the browser, in the default sans-serif, Liberation Sans or
# DejaVu Sans) is at most this much wider than in Source Sans (1.22 measured on these labels in Chromium).
OTHER_FONT = 1.25
LINE_PX = 15  # from one line's baseline to the next (the text mark's lineHeight)
GLYPH_PX = 16  # the height of one line of 12 px Source Sans as drawn (its box in the browser)
# The plot area at a 1000 px wide window: Streamlit's main column is 540 px there, the y axis takes about 70.
MIN_PLOT_WIDTH = 440

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (pixels, y down)


def text_size(text: str, font_px: float = FONT_PX) -> tuple[float, float]:
    """(width, height) in pixels of ``text`` (lines split at ``\\n``): see the module's note."""
    lines = text.split("\n")
    return max(sum(map(char_em, line)) for line in lines) * font_px, GLYPH_PX + (len(lines) - 1) * LINE_PX


def char_em(ch: str) -> float:
    """A character's advance width in font sizes (see the module's note)."""
    return CHAR_EM.get(ch, 1.0)


def radius(size: float, stroke: float = 0.0) -> float:
    """Pixel radius of a Vega point mark of area ``size`` (square pixels), half its stroke included."""
    return math.sqrt(size / math.pi) + stroke / 2


@dataclass(frozen=True)
class Plot:
    """The plot area's scales: log x over ``x_domain``, linear y over ``y_domain``."""

    width: float
    height: float
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]

    def px(self, x: float) -> float:
        lo, hi = (math.log10(v) for v in self.x_domain)
        return (math.log10(x) - lo) / (hi - lo) * self.width

    def py(self, y: float) -> float:
        lo, hi = self.y_domain
        return (1.0 - (y - lo) / (hi - lo)) * self.height

    def x_value(self, px: float) -> float:
        lo, hi = (math.log10(v) for v in self.x_domain)
        return 10 ** (lo + px / self.width * (hi - lo))

    def y_value(self, py: float) -> float:
        lo, hi = self.y_domain
        return lo + (1.0 - py / self.height) * (hi - lo)


@dataclass
class Marks:
    """What labels must keep clear of, in pixels: points (x, y, radius), line segments, horizontal rules (y)."""

    points: list[tuple[float, float, float]] = field(default_factory=list)
    segments: list[tuple[float, float, float, float]] = field(default_factory=list)
    rules: list[float] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)

    def hit(self, box: Box, skip_point: tuple[float, float] | None = None) -> bool:
        if any(boxes_overlap(box, b) for b in self.boxes):
            return True
        if any(box[1] - 2 <= y <= box[3] + 2 for y in self.rules):
            return True
        for x, y, r in self.points:
            if skip_point is not None and abs(x - skip_point[0]) < 0.01 and abs(y - skip_point[1]) < 0.01:
                continue
            if box_hits_circle(box, x, y, r + 1):
                return True
        return any(box_hits_segment(grow(box, 1.5), s) for s in self.segments)


def grow(box: Box, by: float) -> Box:
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


def boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def box_hits_circle(box: Box, x: float, y: float, r: float) -> bool:
    nx, ny = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
    return (nx - x) ** 2 + (ny - y) ** 2 < r * r


def box_hits_segment(box: Box, seg: tuple[float, float, float, float]) -> bool:
    """Whether the segment crosses the box (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = seg
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


@dataclass(frozen=True)
class Label:
    """One label to place: ``key`` names what it labels; ``texts`` are its variants (one line, then wrapped);
    ``anchors`` are (x, y, radius) data points it may sit beside, best first; ``rule`` marks a horizontal line's
    label (``anchors`` then holds one (None, y, 0): it may sit anywhere along the line)."""

    key: str
    texts: tuple[str, ...]
    anchors: tuple[tuple[float | None, float, float], ...]
    rule: bool = False


@dataclass(frozen=True)
class Placed:
    key: str
    text: str
    x: float  # data x of the anchor (the text's left, right or centre edge, by ``align``)
    y: float  # data y of the middle of the text's first line (Vega puts further lines below it)
    align: str  # "left" | "right" | "center"
    dx: float  # pixel offset from ``x``
    boxes: tuple[Box, ...]  # pixels, in each plot it was placed for


# A candidate spot: (align, dx, x offset of the box's left edge from the anchor, y offset of its top), pixels.
Spot = tuple[str, float, float, float]


def _around_point(r: float, w: float, h: float) -> Iterable[Spot]:
    """Spots beside a point: right, left, above and below (corners too), nearest first."""
    g, v = r + 4, r + 2
    yield "left", g, g, -h / 2  # east
    yield "left", 2, 2, -v - h  # north-east
    yield "left", 2, 2, v  # south-east
    yield "right", -g, -g - w, -h / 2  # west
    yield "right", -2, -2 - w, -v - h  # north-west
    yield "right", -2, -2 - w, v  # south-west
    yield "center", 0, -w / 2, -v - h  # north
    yield "center", 0, -w / 2, v  # south


def _near_point(r: float, w: float, h: float) -> Iterable[Spot]:
    """Spots a little away from a point, right or left of it, a line or two above or below (tried only when no spot
    beside any of a label's points is free)."""
    g = r + 4
    for shift in (1, -1, 2, -2):
        top = -h / 2 + shift * (h / 2 + 10)
        yield "left", g, g, top
        yield "right", -g, -g - w, top


def _along_rule(plot: Plot, w: float, h: float) -> Iterable[tuple[float, Spot]]:
    """Spots along a horizontal rule, just above or below it: (data x of the anchor, spot)."""
    for frac in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        x0 = 4 + frac * plot.width
        if x0 + w > plot.width - 2:
            break
        for top in (-3 - h, 3):
            yield plot.x_value(x0), ("left", 0.0, 0.0, top)
    for top in (-3 - h, 3):  # right-aligned at the right edge
        yield plot.x_domain[1], ("right", -4.0, -4.0 - w, top)


def _inside(plot: Plot, box: Box) -> bool:
    return box[0] >= 0 and box[1] >= 0 and box[2] <= plot.width and box[3] <= plot.height


def _fits(ax: float, ay: float, spot: Spot, w: float, h: float, plots: Sequence[Plot], marks: Sequence[Marks], own: bool):
    """The spot's box in every plot, or None where it leaves one or hits something there."""
    boxes = []
    for plot, taken in zip(plots, marks):
        px, py = plot.px(ax), plot.py(ay)
        box = (px + spot[2], py + spot[3], px + spot[2] + w, py + spot[3] + h)
        if not _inside(plot, box) or taken.hit(box, skip_point=(px, py) if own else None):
            return None
        boxes.append(box)
    return tuple(boxes)


def _try(label: Label, plots: Sequence[Plot], marks: Sequence[Marks], scale: float) -> Placed | None:
    first = plots[0]
    for ring in (_around_point, _near_point):
        for text in label.texts:
            w, h = text_size(text)
            w *= scale
            if label.rule:
                if ring is _near_point:
                    break
                spots = [((x, label.anchors[0][1]), spot) for x, spot in _along_rule(first, w, h)]
            else:
                spots = [((ax, ay), spot) for ax, ay, r in label.anchors for spot in ring(r, w, h)]
            for (ax, ay), spot in spots:
                boxes = _fits(ax, ay, spot, w, h, plots, marks, own=not label.rule)
                if boxes is not None:
                    y_first = first.y_value(first.py(ay) + spot[3] + GLYPH_PX / 2)
                    return Placed(label.key, text, ax, y_first, spot[0], spot[1], boxes)
    return None


def place(
    labels: Sequence[Label], plots: Plot | Sequence[Plot], marks: Marks | Sequence[Marks], rounds: int = 4, scale: float = 1.0
) -> tuple[list[Placed], list[str]]:
    """Greedy placement in the given order, each label clear of everything in every one of ``plots`` (the same chart
    at several widths, with its ``marks`` at each); labels that find no free spot are tried first in the next round
    (up to ``rounds``), and the round with the fewest failures wins. ``scale`` widens every text (another font than
    Source Sans: :data:`OTHER_FONT`). Returns ``(placed, keys of labels not placed)``."""
    plots = [plots] if isinstance(plots, Plot) else list(plots)
    marks = [marks] if isinstance(marks, Marks) else list(marks)
    order = list(labels)
    best: tuple[list[Placed], list[str]] | None = None
    for _ in range(max(1, rounds)):
        taken = [Marks(m.points, m.segments, m.rules, list(m.boxes)) for m in marks]
        placed, failed = [], []
        for label in order:
            spot = _try(label, plots, taken, scale)
            if spot is None:
                failed.append(label.key)
                continue
            placed.append(spot)
            for t, box in zip(taken, spot.boxes):
                t.boxes.append(box)
        if best is None or len(failed) < len(best[1]):
            best = (placed, failed)
        if not failed:
            break
        order = [lb for lb in order if lb.key in failed] + [lb for lb in order if lb.key not in failed]
    assert best is not None
    return best


def variants(text: str) -> tuple[str, ...]:
    """``text`` on one line, then on fewer or more lines: its name, then its parenthesised source and setup broken at
    ", " into lines of about 28 characters, then one part a line, then with a long name broken too."""
    return tuple(dict.fromkeys((text, wrapped(text), wrapped(text, 1), wrapped(text, 1, 20))))


def wrapped(text: str, width_chars: int = 28, name_chars: int = 0) -> str:
    """``text`` on several lines: the name (broken at spaces into lines of about ``name_chars`` characters when that
    is given), then its parenthesised source and setup broken at ", " into lines of about ``width_chars``."""
    head, sep, tail = text.partition(" (")
    if len(text) <= width_chars and not name_chars:
        return text
    lines = _fill(head.split(" "), name_chars, " ") if name_chars else [head]
    if sep:
        parts = ("(" + tail).split(", ")
        lines += _fill([p + ("," if i < len(parts) - 1 else "") for i, p in enumerate(parts)], width_chars, " ")
    return "\n".join(lines)


def _fill(words: list[str], width: int, sep: str) -> list[str]:
    lines, current = [], ""
    for word in words:
        if current and len(current) + len(sep) + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current}{sep}{word}" if current else word
    return [*lines, current] if current else lines
