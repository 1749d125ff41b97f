"""Published retrieval numbers and Rosa et al. 2022's figure, as data for the model-size charts.

The facts live in ``retrieval/data/``, every row with its source:

* ``published_ndcg.csv``: one published BEIR nDCG@10 per (dataset, model). The first seven columns of
  the rows that came from the team's shared reference file are that file's rows unchanged; later rows
  were added from further papers (Sun et al. 2023, Dai et al. 2022). Extra columns: ``series`` (one
  line on the chart: one model, one source, one setup), ``base_series`` (the model series that sets the
  colour, shared by rows of different setups), ``setup`` (first stage, depth), ``kind``, ``citation``
  (short), ``reference`` and ``url`` (what a user sees), ``caveat`` (a row with a caveat is listed, not
  plotted). ``source`` and ``notes`` are the gatherers' provenance notes, never shown.
* ``msmarco_mrr10.csv``: published MS MARCO dev MRR@10, same columns with ``mrr_at_10``.
* ``rosa2022_figure.csv``: both panels of Rosa et al. 2022 Fig. 1, values *read off the image*
  (about +-0.002; :data:`FIGURE_KIND`), never table values.

Every file is validated on load; a malformed row raises :class:`~retrieval.errors.DataFormatError`
naming the file and line. Points are frames with :data:`POINT_COLUMNS`; :mod:`view.charts` draws them.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

import pandas as pd

from .errors import DataFormatError

PUBLISHED_FILE = "published_ndcg.csv"
MSMARCO_FILE = "msmarco_mrr10.csv"
FIGURE_FILE = "rosa2022_figure.csv"
FIGURE_KIND = "read off the paper's figure (±0.002)"
MEASURED_KIND = "measured here"
KINDS = ("published", MEASURED_KIND, FIGURE_KIND)
FAMILIES = ("bm25", "dense", "reranker", "sparse", "late-interaction", "external")
FAMILY_ORDER = FAMILIES
POINT_COLUMNS = (
    "label",
    "series",
    "base_series",
    "family",
    "params_millions",
    "score",
    "metric",
    "kind",
    "datasets",
    "setup",
    "citation",
    "reference",
    "url",
    "published_value",
    "difference",
)
# The published series closest to each line of Rosa et al.'s figure, for the paper view's
# "same chart from the published table" (BM25: the paper reranks Pyserini BM25 flat).
PAPER_SERIES = (
    "monoT5 (Rosa et al. 2022, BM25 top-1000)",
    "MiniLM cross-encoder (BEIR paper, BM25 top-100)",
    "GTR (MTEB)",
    "SGPT msmarco (MTEB)",
    "BM25 flat (Pyserini)",
)
_TEXT_REQUIRED = ("model", "family", "series", "base_series", "setup", "kind", "citation", "reference", "url")


def _read_rows(name: str, score_col: str, text: str | None = None, extra_required: Sequence[str] = ()) -> pd.DataFrame:
    """Read and validate one published-numbers CSV (``text`` overrides the shipped file, for tests)."""
    where = f"retrieval/data/{name}"
    if text is None:
        text = resources.files("retrieval.data").joinpath(name).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    required = (*extra_required, *_TEXT_REQUIRED, "params_millions", score_col)
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise DataFormatError(where, 1, f"missing column(s) {', '.join(missing)}")
    rows, seen, params_of = [], {}, {}
    for row in reader:
        line = reader.line_num

        def bad(msg: str, line: int = line) -> DataFormatError:
            return DataFormatError(where, line, msg)

        if None in row or any(v is None for v in row.values()):
            raise bad("wrong number of columns")
        for col in (*extra_required, *_TEXT_REQUIRED):
            if not row[col].strip():
                raise bad(f"empty {col!r}: every row needs it (a number without its source is not shown)")
        if row["family"] not in FAMILIES:
            raise bad(f"family {row['family']!r} is not one of {', '.join(FAMILIES)}")
        if not row["url"].startswith(("http://", "https://")):
            raise bad(f"url {row['url']!r} is not a link")
        try:
            score = float(row[score_col])
            params = float(row["params_millions"]) if row["params_millions"].strip() else math.nan
        except ValueError as exc:
            raise bad(f"not a number ({exc})") from None
        if not 0.0 <= score <= 1.0:
            raise bad(f"{score_col} {score} is outside [0, 1] (write 0.345, not 34.5)")
        if not math.isnan(params) and params <= 0:
            raise bad(f"params_millions {params} must be positive or empty")
        if row["family"] == "bm25" and not math.isnan(params):
            raise bad("a BM25 row has no parameter count (it is drawn as a horizontal line)")
        key = (row.get("dataset", ""), row.get("panel", ""), row.get("figure_version", ""), row["model"])
        if key in seen:
            raise bad(f"{row['model']!r} listed twice for the same dataset (first on line {seen[key]})")
        seen[key] = line
        if row["model"] in params_of and not _same(params_of[row["model"]], params):
            raise bad(f"{row['model']!r} has a different parameter count than on an earlier line")
        params_of[row["model"]] = params
        rows.append({**row, score_col: score, "params_millions": params, "_line": line})
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise DataFormatError(where, None, "no rows")
    # A model drawn on a line needs its size: a series with sized rows may not have an unsized one.
    for series, g in frame[frame["family"] != "bm25"].groupby("series"):
        if g["params_millions"].notna().any() and g["params_millions"].isna().any():
            line = int(g.loc[g["params_millions"].isna(), "_line"].iloc[0])
            raise DataFormatError(where, line, f"series {series!r} has sized rows but this row has no params_millions")
    for col in ("caveat", "setup"):
        if col in frame:
            frame[col] = frame[col].fillna("")
    return frame.drop(columns="_line")


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def parse_published(text: str) -> pd.DataFrame:
    return _read_rows(PUBLISHED_FILE, "ndcg_at_10", text, extra_required=("dataset", "source"))


@functools.lru_cache(maxsize=1)
def published() -> pd.DataFrame:
    """Every published BEIR row (including rows with a caveat, which are listed but never plotted)."""
    return _read_rows(PUBLISHED_FILE, "ndcg_at_10", extra_required=("dataset", "source"))


def plottable() -> pd.DataFrame:
    pub = published()
    return pub[pub["caveat"].str.strip() == ""]


def caveats() -> pd.DataFrame:
    """Rows kept in the file but not plotted, with the reason (shown under the chart)."""
    pub = published()
    return pub.loc[pub["caveat"].str.strip() != "", ["dataset", "model", "ndcg_at_10", "citation", "caveat"]].reset_index(
        drop=True
    )


@functools.lru_cache(maxsize=1)
def msmarco() -> pd.DataFrame:
    return _read_rows(MSMARCO_FILE, "mrr_at_10", extra_required=("source",))


@functools.lru_cache(maxsize=1)
def figure() -> pd.DataFrame:
    return _read_rows(FIGURE_FILE, "score", extra_required=("panel", "figure_version", "source"))


def published_datasets() -> list[str]:
    return sorted(plottable()["dataset"].unique())


def figure_versions() -> list[str]:
    return list(dict.fromkeys(figure()["figure_version"]))


def all_base_series() -> list[str]:
    """Every colour group in the data (for one colour per model series on every chart)."""
    from .neural import registry

    names = [
        *published()["base_series"],
        *msmarco()["base_series"],
        *figure()["base_series"],
        *(m.series for m in registry.models()),
    ]
    return sorted({n for n in names if n}, key=str.lower)


def multi_size_series() -> list[str]:
    """Model series (colour groups) that have at least two sizes somewhere in the data."""
    frames = [published(), msmarco(), figure()]
    rows = pd.concat([f[["base_series", "params_millions"]] for f in frames])
    counts = rows.dropna().groupby("base_series")["params_millions"].nunique()
    return sorted(counts[counts >= 2].index, key=str.lower)


def _points(frame: pd.DataFrame, score_col: str, metric: str, kind: str, datasets: str | pd.Series) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "label": frame["model"],
            "series": frame["series"],
            "base_series": frame["base_series"],
            "family": frame["family"],
            "params_millions": frame["params_millions"].astype(float),
            "score": frame[score_col].astype(float),
            "metric": metric,
            "kind": kind,
            "datasets": datasets,
            "setup": frame.get("setup", ""),
            "citation": frame["citation"],
            "reference": frame["reference"],
            "url": frame["url"],
            "published_value": math.nan,
            "difference": math.nan,
        }
    )
    return out[list(POINT_COLUMNS)].reset_index(drop=True)


def dataset_points(dataset: str) -> pd.DataFrame:
    """Published nDCG@10 points for one dataset (rows with a caveat left out)."""
    rows = plottable()[plottable()["dataset"] == dataset]
    return _points(rows, "ndcg_at_10", "nDCG@10", "published", dataset)


def grid_points(datasets: Sequence[str] | None = None) -> pd.DataFrame:
    """Points for the small multiples: one per (dataset, model); ``datasets`` holds the one dataset."""
    rows = plottable()
    if datasets is not None:
        rows = rows[rows["dataset"].isin(list(datasets))]
    return _points(rows, "ndcg_at_10", "nDCG@10", "published", rows["dataset"])


def default_average_datasets(min_datasets: int = 12) -> list[str]:
    """Datasets shared by every sized model with at least ``min_datasets`` published datasets."""
    pub = plottable()
    per_model = pub.groupby("model")["dataset"].apply(set)
    sized = set(pub.loc[pub["params_millions"].notna(), "model"])
    wide = [m for m in per_model.index if m in sized and len(per_model[m]) >= min_datasets]
    if not wide:
        return published_datasets()
    return sorted(set.intersection(*(per_model[m] for m in wide)))


def common_datasets(series: Sequence[str]) -> list[str]:
    """Datasets on which every model of every one of ``series`` is published."""
    pub = plottable()
    rows = pub[pub["series"].isin(list(series))]
    if rows.empty:
        return []
    return sorted(set.intersection(*(set(g["dataset"]) for _, g in rows.groupby("model"))))


def average_label(datasets: Sequence[str]) -> str:
    return f"mean over {len(datasets)} datasets: {', '.join(sorted(datasets))}"


def average_points(datasets: Sequence[str], series: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean published nDCG@10 over ``datasets`` for every model (of ``series``, if given) that has all of them.

    Returns ``(points, left_out)``. Every point carries the same ``datasets`` text (one average set per
    chart); ``left_out`` (``series``, ``model``, ``missing``) lists the models lacking some of the
    datasets, which are left out rather than averaged over fewer.
    """
    datasets = sorted(set(datasets))
    if not datasets:
        raise ValueError("choose at least one dataset to average over")
    pub = plottable()
    if series is not None:
        pub = pub[pub["series"].isin(list(series))]
    rows = pub[pub["dataset"].isin(datasets)]
    kept, left_out = [], []
    for model, group in pub.groupby("model", sort=True):
        have = set(group["dataset"]) & set(datasets)
        if have != set(datasets):
            missing = sorted(set(datasets) - have)
            left_out.append(
                {"series": group["series"].iloc[0], "model": model, "missing": "all" if not have else ", ".join(missing)}
            )
            continue
        g = rows[rows["model"] == model]
        first = g.iloc[0]
        kept.append(
            {
                **first.to_dict(),
                "ndcg_at_10": float(g["ndcg_at_10"].mean()),
                "citation": "; ".join(dict.fromkeys(g["citation"])),
                "reference": "; ".join(dict.fromkeys(g["reference"])),
                "url": " ".join(dict.fromkeys(g["url"])),
            }
        )
    frame = pd.DataFrame(kept, columns=list(pub.columns))
    points = (
        _points(frame, "ndcg_at_10", "nDCG@10", "published", average_label(datasets))
        if kept
        else pd.DataFrame(columns=list(POINT_COLUMNS))
    )
    return points, pd.DataFrame(left_out, columns=["series", "model", "missing"])


def figure_points(panel: str = "beir", version: str | None = None) -> pd.DataFrame:
    """One panel of Rosa et al. 2022 Fig. 1 (``"msmarco"``: MRR@10, ``"beir"``: BEIR-average nDCG@10) as
    points, marked as read off the figure."""
    fig = figure()
    version = version or figure_versions()[0]
    if version not in figure_versions():
        raise ValueError(f"no figure version {version!r}; have {', '.join(figure_versions())}")
    rows = fig[(fig["panel"] == panel) & (fig["figure_version"] == version)]
    metric = "MRR@10" if panel == "msmarco" else "nDCG@10"
    what = "MS MARCO dev (in-domain)" if panel == "msmarco" else "BEIR average, the paper's own dataset set"
    return _points(rows, "score", metric, FIGURE_KIND, what)


def msmarco_points() -> pd.DataFrame:
    """Published MS MARCO dev MRR@10 points."""
    return _points(msmarco(), "mrr_at_10", "MRR@10", "published", "MS MARCO dev (in-domain)")


def published_match(models: str, dataset: str) -> pd.Series | None:
    """The first of ``models`` (``"a|b"``, best-matching setup first) published on ``dataset``, or None."""
    pub = plottable()
    for model in (m for m in models.split("|") if m):
        hit = pub[(pub["model"] == model) & (pub["dataset"] == dataset)]
        if not hit.empty:
            return hit.iloc[0]
    return None


def measured_points(rows: Iterable[Mapping[str, object]], dataset: str = "") -> pd.DataFrame:
    """Chart points for the user's own runs.

    Each row: ``label``, ``family``, ``params_millions`` (None if unknown), ``ndcg_at_10``, ``source``
    (shown as the reference), optional ``series`` (the registry series, which sets the colour) and
    ``published_model`` (its name(s) in the published file, ``"a|b"`` best setup first: the published
    value and the difference are filled in from the first one published on ``dataset``).
    """
    out = []
    for r in rows:
        score = float(r["ndcg_at_10"])
        match = published_match(str(r.get("published_model") or ""), dataset)
        pub = float(match["ndcg_at_10"]) if match is not None else None
        compared = f"; compared with {match['model']} ({match['citation']}; {match['setup']})" if match is not None else ""
        series = str(r.get("series") or "") or ("BM25" if r.get("family") == "bm25" else str(r["label"]))
        # A BM25 run is a rule of its own (no sizes to join): one series per run, so each is labelled.
        line = str(r["label"]) if r.get("family") == "bm25" else series
        out.append(
            {
                "label": f"{r['label']} (measured)",
                "series": f"{line} (measured here)",
                "base_series": series,
                "family": r.get("family") or "external",
                "params_millions": r.get("params_millions"),
                "score": score,
                "metric": "nDCG@10",
                "kind": MEASURED_KIND,
                "datasets": dataset,
                "setup": str(r.get("setup", "")),
                "citation": "measured here",
                "reference": str(r.get("source", "measured here")) + compared,
                "url": "",
                "published_value": pub if pub is not None else math.nan,
                "difference": score - pub if pub is not None else math.nan,
            }
        )
    frame = pd.DataFrame(out, columns=list(POINT_COLUMNS))
    frame["params_millions"] = pd.to_numeric(frame["params_millions"], errors="coerce")
    for col in ("score", "published_value", "difference"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def average_measured(frames: Iterable[pd.DataFrame], datasets: Sequence[str]) -> pd.DataFrame:
    """Measured points (:func:`measured_points`, one frame per dataset) averaged over ``datasets``: one point per
    run (same label) present on every one of them, else none; the published value is the mean of the published
    ones when every dataset has one."""
    datasets = sorted(set(datasets))
    rows = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    if rows is None or not datasets:
        return measured_points([])
    rows = rows[rows["datasets"].isin(datasets)]
    out = []
    for _, g in rows.groupby("label", sort=True):
        if set(g["datasets"]) != set(datasets):
            continue
        first = g.iloc[0].to_dict()
        score = float(g["score"].mean())
        pub = float(g["published_value"].mean()) if g["published_value"].notna().all() else math.nan
        out.append(
            {
                **first,
                "score": score,
                "datasets": average_label(datasets),
                "published_value": pub,
                "difference": score - pub if not math.isnan(pub) else math.nan,
                "reference": f"mean of your runs on {', '.join(datasets)}, each evaluated with ir_measures",
            }
        )
    return pd.DataFrame(out, columns=list(POINT_COLUMNS)) if out else measured_points([])


def sources_table(points: pd.DataFrame) -> pd.DataFrame:
    """One row per plotted point: model, series, family, setup, value, short citation, full reference and link."""
    cols = [
        "label",
        "series",
        "family",
        "params_millions",
        "score",
        "metric",
        "kind",
        "datasets",
        "setup",
        "citation",
        "reference",
        "url",
    ]
    return points[cols].sort_values(["series", "params_millions"], na_position="first").reset_index(drop=True)
