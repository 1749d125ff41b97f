"""Published BEIR nDCG@10 numbers and the paper's figure, as data for the model-size chart.

The facts live in ``retrieval/data/`` (copied from the team's shared reference folder, every row
with its source):

* ``published_ndcg.csv``: one published nDCG@10 per (dataset, model), with family, parameters
  (millions, empty when unknown), source and notes.
* ``figure_digitized_beir_avg.csv``: BEIR-average nDCG@10 per model size *read off the pixels* of
  Rosa et al. 2022's own figure (about +-0.002). These are estimates, never table values, and
  are always labelled :data:`FIGURE_LABEL`.

Points are plain frames with the columns of :data:`POINT_COLUMNS`; :mod:`retrieval.charts` draws them.
"""

from __future__ import annotations

import functools
import io
import math
from importlib import resources
from typing import Iterable, Mapping, Sequence

import pandas as pd

PUBLISHED_FILE = "published_ndcg.csv"
FIGURE_FILE = "figure_digitized_beir_avg.csv"
FIGURE_LABEL = "read from the paper's figure (approx. ±0.002)"
POINT_COLUMNS = ("label", "family", "params_millions", "ndcg_at_10", "kind", "source", "notes")
KINDS = ("published", "measured", FIGURE_LABEL)
FAMILY_ORDER = ("bm25", "dense", "reranker", "sparse", "late-interaction", "external")


def _read_csv(name: str) -> pd.DataFrame:
    text = resources.files("retrieval.data").joinpath(name).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


@functools.lru_cache(maxsize=1)
def published() -> pd.DataFrame:
    """All published rows: dataset, model, family, params_millions, ndcg_at_10, source, notes."""
    frame = _read_csv(PUBLISHED_FILE)
    frame["params_millions"] = pd.to_numeric(frame["params_millions"], errors="coerce")
    frame["notes"] = frame["notes"].fillna("")
    return frame


@functools.lru_cache(maxsize=1)
def figure_points() -> pd.DataFrame:
    """The digitized figure, with each row's full source (the file writes "same" for repeats)."""
    frame = _read_csv(FIGURE_FILE)
    sources = frame["source"].where(frame["source"].str.strip().str.lower() != "same")
    frame["source"] = sources.groupby(frame["figure_version"]).ffill()
    frame["notes"] = frame["notes"].fillna("")
    return frame


def published_datasets() -> list[str]:
    return sorted(published()["dataset"].unique())


def figure_versions() -> list[str]:
    return list(dict.fromkeys(figure_points()["figure_version"]))


def _points(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[list(POINT_COLUMNS)].reset_index(drop=True)


def dataset_points(dataset: str) -> pd.DataFrame:
    """Published points for one dataset (models without a parameter count included; they plot as rules
    only when they are BM25)."""
    rows = published()[published()["dataset"] == dataset]
    return _points(rows.rename(columns={"model": "label"}).assign(kind="published"))


def default_average_datasets(min_datasets: int = 12) -> list[str]:
    """Datasets shared by every model that has a parameter count and at least ``min_datasets`` published
    datasets, plus BM25: a data-driven default for the BEIR-average view."""
    pub = published()
    per_model = pub.groupby("model")["dataset"].apply(set)
    sized = set(pub.loc[pub["params_millions"].notna(), "model"])
    wide = [m for m in per_model.index if m in sized and len(per_model[m]) >= min_datasets]
    if not wide:
        return published_datasets()
    return sorted(set.intersection(*(per_model[m] for m in wide)))


def average_points(datasets: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean published nDCG@10 over ``datasets`` for every model that has all of them.

    Returns ``(points, left_out)``: ``left_out`` lists the models missing some of the datasets
    (``model``, ``missing``), which are not averaged rather than averaged over fewer datasets.
    """
    datasets = sorted(set(datasets))
    if not datasets:
        raise ValueError("choose at least one dataset to average over")
    pub = published()
    rows = pub[pub["dataset"].isin(datasets)]
    points, left_out = [], []
    for model, group in rows.groupby("model", sort=True):
        have = set(group["dataset"])
        if have != set(datasets):
            left_out.append({"model": model, "missing": ", ".join(sorted(set(datasets) - have))})
            continue
        first = group.iloc[0]
        sources = "; ".join(dict.fromkeys(group["source"]))
        points.append(
            {
                "label": model,
                "family": first["family"],
                "params_millions": first["params_millions"],
                "ndcg_at_10": float(group["ndcg_at_10"].mean()),
                "kind": "published",
                "source": f"mean over {len(datasets)} datasets of: {sources}",
                "notes": f"average of published per-dataset values over {', '.join(datasets)}",
            }
        )
    missing_models = set(pub["model"]) - set(rows["model"])
    left_out += [{"model": m, "missing": "all"} for m in sorted(missing_models)]
    return pd.DataFrame(points, columns=list(POINT_COLUMNS)), pd.DataFrame(left_out, columns=["model", "missing"])


def figure_frame(version: str | None = None) -> pd.DataFrame:
    """The paper's figure points (one version) as chart points, labelled as read from the figure.

    The x position is the nominal parameter count (the digitized x is kept in the notes).
    """
    fig = figure_points()
    version = version or figure_versions()[0]
    rows = fig[fig["figure_version"] == version]
    if rows.empty:
        raise ValueError(f"no figure version {version!r}; have {', '.join(figure_versions())}")
    out = pd.DataFrame(
        {
            "label": rows["series"] + " [figure]",
            "family": rows["family"],
            "params_millions": rows["nominal_params_millions"],
            "ndcg_at_10": rows["beir_avg_ndcg_at_10_digitized"],
            "kind": FIGURE_LABEL,
            "source": rows["source"] + f" (figure {version})",
            "notes": [
                f"{n}; digitized x = {x:g}M" if not (isinstance(x, float) and math.isnan(x)) else n
                for n, x in zip(rows["notes"], rows["x_params_digitized_millions"])
            ],
        }
    )
    return _points(out)


def measured_points(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Chart points for the user's own runs.

    Each row: ``label``, ``family``, ``params_millions`` (None if unknown), ``ndcg_at_10``, ``source``
    (e.g. the cache entry) and optionally ``notes``.
    """
    out = [
        {
            "label": f"{r['label']} (measured)",
            "family": r.get("family") or "external",
            "params_millions": r.get("params_millions"),
            "ndcg_at_10": float(r["ndcg_at_10"]),
            "kind": "measured",
            "source": r.get("source", "measured here"),
            "notes": r.get("notes", ""),
        }
        for r in rows
    ]
    frame = pd.DataFrame(out, columns=list(POINT_COLUMNS))
    frame["params_millions"] = pd.to_numeric(frame["params_millions"], errors="coerce")
    return frame
