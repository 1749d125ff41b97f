"""Token-budget batches: length-sorted items cut so that a batch's padded size stays under a budget.

A batch padded to its longest member costs ``rows x width`` tokens of compute. Cutting length-sorted input by a
budget on that product (rather than by a fixed number of rows) keeps the work per batch about constant: many
short items in one batch, few long ones in another, with little padding in either.
"""

from __future__ import annotations

from collections.abc import Sequence


def token_batches(lengths: Sequence[int], order: Sequence[int], *, max_tokens: int, max_rows: int) -> list[list[int]]:
    """``order`` (indices into ``lengths``, longest first) cut into consecutive batches.

    A batch holds at most ``max_rows`` items and at most ``max_tokens`` padded tokens (its row count times the
    length of its first, longest member); an item longer than the budget still gets a batch of its own.
    """
    if max_rows < 1 or max_tokens < 1:
        raise ValueError(f"max_rows and max_tokens must be >= 1 (got {max_rows}, {max_tokens})")
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        n = max(1, int(lengths[i]))
        w = max(width, n)
        if current and (len(current) + 1 > max_rows or (len(current) + 1) * w > max_tokens):
            batches.append(current)
            current, w = [], n
        current.append(i)
        width = w
    if current:
        batches.append(current)
    return batches
