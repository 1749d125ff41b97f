"""Model series: size ladders from the model registry and the gain per tenfold parameters.

A *series* is one model trained the same way at several sizes (monoT5 small/base/large/3B, GTR
base/large/XL/XXL, ...). It is data: the ``series`` column of ``retrieval/data/models.csv`` for the
systems this app can run, and the ``series`` / ``base_series`` columns of the published-numbers file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .neural import registry


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def size_ladder(series_name: str) -> list[str]:
    """System specs of one registry series in parameter order (``"monoT5"`` ->
    ``["monot5:small", "monot5:base", "monot5:large", "monot5:3b"]``); case-insensitive; ``[]`` when
    the registry has no such series."""
    rows = [m for m in registry.models() if m.series and _key(m.series) == _key(series_name)]
    return [m.spec for m in sorted(rows, key=lambda m: (m.params_millions, m.spec))]


def ladders() -> dict[str, list[str]]:
    """``{series: specs in parameter order}`` for every registry series with at least two sizes."""
    names = dict.fromkeys(m.series for m in registry.models() if m.series)
    out = {name: size_ladder(name) for name in names}
    return {name: specs for name, specs in out.items() if len(specs) >= 2}


# BM25 systems of this app and the published row they reproduce (Pyserini's 2CR conditions).
BM25_PUBLISHED = {
    "bm25-flat": "BM25 flat (Pyserini/Anserini, title+text in one field)",
    "bm25-multifield": "BM25 multifield (Pyserini/Anserini, title & text fields)",
}


def series_of_spec(spec: str) -> tuple[str, str]:
    """``(series, published_model)`` of a system spec: the registry series (``"BM25"`` for BM25) and the
    model's name in the published-numbers file (``""`` when none)."""
    base = spec.partition("?")[0]
    if base in BM25_PUBLISHED:
        return "BM25", BM25_PUBLISHED[base]
    prefix, _, name = base.partition(":")
    info = registry.find(name, prefix) if name else None
    return (info.series, info.published_model) if info is not None else ("", "")


def gain_per_tenfold(points: pd.DataFrame, group: str = "series") -> pd.DataFrame:
    """Per series with at least two sizes: the least-squares slope of the score on log10(parameters),
    i.e. the score gained per tenfold increase in parameters.

    ``points`` has ``params_millions``, ``score`` and the ``group`` column. Returns columns ``series``,
    ``gain_per_10x``, ``points`` (how many points the fit rests on), ``smallest_m``, ``largest_m``,
    sorted by gain (largest first).
    """
    cols = ["series", "gain_per_10x", "points", "smallest_m", "largest_m"]
    if points.empty:
        return pd.DataFrame(columns=cols)
    sized = points[points["params_millions"].notna() & (points["params_millions"] > 0) & points["score"].notna()]
    rows = []
    for name, g in sized.groupby(group, sort=True):
        x = np.log10(g["params_millions"].astype(float).to_numpy())
        if len(g) < 2 or np.ptp(x) == 0:
            continue
        slope = float(np.polyfit(x, g["score"].astype(float).to_numpy(), 1)[0])
        rows.append(
            {
                "series": name,
                "gain_per_10x": slope,
                "points": len(g),
                "smallest_m": float(10 ** x.min()),
                "largest_m": float(10 ** x.max()),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("gain_per_10x", ascending=False, ignore_index=True)
