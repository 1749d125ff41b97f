"""The value every explainer returns for highlighting: weighted character spans of a document's fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WeightedSpan:
    """``document.<field>[start:end]`` carries ``weight`` (its meaning depends on the explainer).

    ``field`` is ``"title"`` or ``"text"`` of the BEIR document; offsets are Python string indices into
    that field's text exactly as loaded (so ``doc.text[span.start:span.end]`` is the highlighted piece);
    ``label`` says what the weight belongs to (an analysed term, a word, a sentence's rank).
    """

    field: str
    start: int
    end: int
    weight: float
    label: str = ""

    def text_of(self, title: str, text: str) -> str:
        return (title if self.field == "title" else text)[self.start : self.end]
