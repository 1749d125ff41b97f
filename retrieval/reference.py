"""Published BEIR nDCG@10 numbers and the paper's figure, as data for the model-size chart.

The facts live in ``retrieval/data/`` (copied from the team's shared reference folder, every row
with its source):

* ``published_ndcg.csv``: one published nDCG@10 per (dataset, model), with family, parameters
  (millions, empty when unknown), source and notes.
* ``figure_digitized_beir_avg.csv``: BEIR-average nDCG@10 per model size *read off the pixels* of
  Rosa et al. 2022's own figure (about +-0.002). These are estimates, never table values, and
  are always labelled :data:`FIGURE_LABEL`.

Points are plain frames with the columns of :data:`POINT_COLUMNS`; the chart is a pure
``DataFrame -> chart`` function that fails soft with a message.
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
MODELS_FILE = "models.csv"
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


# ---- the model registry (written by the neural module) and measured runs ------------------------


def registry() -> pd.DataFrame | None:
    """``retrieval/data/models.csv`` if present (columns include id, family, hf_id, params_millions)."""
    try:
        frame = _read_csv(MODELS_FILE)
    except (FileNotFoundError, OSError):
        return None
    if "params_millions" in frame.columns:
        frame["params_millions"] = pd.to_numeric(frame["params_millions"], errors="coerce")
    return frame


def params_for_spec(spec: str, models: pd.DataFrame | None) -> float | None:
    """The parameter count (millions) of a system spec, looked up in the registry by id.

    Tries the registry's ``spec`` column, then ``id`` against the whole spec, the part after ``:`` and ``-``-joined forms (``monot5:base`` ->
    ``monot5-base``), then ``hf_id`` endings. ``None`` when unknown.
    """
    if models is None or models.empty or "params_millions" not in models.columns:
        return None
    if "spec" in models.columns:
        hit = models[models["spec"].astype(str).str.lower() == spec.lower()]
        if not hit.empty and pd.notna(hit["params_millions"].iloc[0]):
            return float(hit["params_millions"].iloc[0])
    head, _, tail = spec.partition(":")
    candidates = [spec, tail, f"{head}-{tail}", f"{head}:{tail}"] if tail else [spec]
    ids = models["id"].astype(str).str.lower() if "id" in models.columns else pd.Series([], dtype=str)
    for cand in [c.lower() for c in candidates if c]:
        hit = models[ids == cand]
        if not hit.empty and pd.notna(hit["params_millions"].iloc[0]):
            return float(hit["params_millions"].iloc[0])
    if tail and "hf_id" in models.columns:
        hf = models["hf_id"].astype(str).str.lower()
        hit = models[hf.str.endswith("/" + tail.lower()) | (hf == tail.lower())]
        if not hit.empty and pd.notna(hit["params_millions"].iloc[0]):
            return float(hit["params_millions"].iloc[0])
    return None


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


def split_points(points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(dots, rules, unplotted)``: sized points, BM25 rules, and non-BM25 rows without a size."""
    sized = points["params_millions"].notna() & (points["params_millions"] > 0)
    is_rule = ~sized & (points["family"] == "bm25")
    return points[sized].reset_index(drop=True), points[is_rule].reset_index(drop=True), points[~sized & ~is_rule].reset_index(drop=True)


def model_size_chart(points: pd.DataFrame, title: str = "", height: int = 460):
    """nDCG@10 against parameters (log x), one colour per family, BM25 as horizontal rules.

    Returns ``(chart, message)``; ``chart`` is None when nothing can be plotted, and ``message``
    says why (or notes rows left out for lack of a parameter count).
    """
    import altair as alt

    missing = set(POINT_COLUMNS) - set(points.columns)
    if missing:
        return None, f"Cannot draw the chart: the points lack {', '.join(sorted(missing))}."
    points = points.dropna(subset=["ndcg_at_10"])
    dots, rules, unplotted = split_points(points)
    if dots.empty and rules.empty:
        return None, "Nothing to plot: no model here has both a parameter count and an nDCG@10."
    message = ""
    if not unplotted.empty:
        message = f"{len(unplotted)} published rows have no parameter count and are listed below the chart, not plotted."
    families = [f for f in FAMILY_ORDER if f in set(points["family"])] + sorted(set(points["family"]) - set(FAMILY_ORDER))
    palette = {"bm25": "#444444", "dense": "#1f77b4", "reranker": "#d62728", "sparse": "#2ca02c", "late-interaction": "#9467bd", "external": "#8c564b"}
    color = alt.Color(
        "family:N", title="family", scale=alt.Scale(domain=families, range=[palette.get(f, "#17becf") for f in families])
    )
    shape = alt.Shape(
        "kind:N",
        title="source kind",
        scale=alt.Scale(domain=list(KINDS), range=["circle", "diamond", "triangle-up"]),
        legend=alt.Legend(labelLimit=360),
    )
    tooltip = [
        alt.Tooltip("label:N", title="model"),
        alt.Tooltip("family:N"),
        alt.Tooltip("params_millions:Q", title="parameters (M)", format=",.1f"),
        alt.Tooltip("ndcg_at_10:Q", title="nDCG@10", format=".4f"),
        alt.Tooltip("kind:N", title="kind"),
        alt.Tooltip("source:N", title="source"),
        alt.Tooltip("notes:N", title="notes"),
    ]
    y = alt.Y("ndcg_at_10:Q", title="nDCG@10", scale=alt.Scale(zero=False))
    layers = []
    x = alt.X("params_millions:Q", title="parameters (millions, log scale)", scale=alt.Scale(type="log"))
    # Measured points go on top, larger and outlined, so they stay visible over a published twin.
    for part, size, stroke in ((dots[dots["kind"] != "measured"], 90, 0), (dots[dots["kind"] == "measured"], 220, 2)):
        if part.empty:
            continue
        layers.append(
            alt.Chart(part)
            .mark_point(size=size, filled=True, opacity=0.85, stroke="#111111", strokeWidth=stroke)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=tooltip)
        )
    # BM25 rules: solid when published, dashed when measured, dotted when read from the figure (a
    # fixed dash per layer, so no second legend merges into the shape legend).
    for kind, dash in zip(KINDS, ([1, 0], [6, 3], [2, 2])):
        part = rules[rules["kind"] == kind]
        if not part.empty:
            layers.append(alt.Chart(part).mark_rule(strokeWidth=2, opacity=0.7, strokeDash=dash).encode(y=y, color=color, tooltip=tooltip))
    chart = alt.layer(*layers).properties(height=height)
    if title:
        chart = chart.properties(title=title)
    return chart.interactive(bind_y=False), message
