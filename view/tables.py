"""The tables the app's pages show, built as DataFrames (no Streamlit).

Failure cases: per-query wins with query text, queries every system scores 0 on, relevant documents
no system finds (with titles). Data & runs: the systems on offer with size and availability. Model
size: the user's measured runs as chart rows, and its tables' cells. A cell with no number says "n/a" and
why (never an empty "None").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from retrieval.beir import Document, Qrels


def wins_table(frame: pd.DataFrame, queries: Mapping[str, str], a: str, b: str) -> pd.DataFrame:
    """Per-query values (index ``qid``; columns ``a``, ``b``, ``diff``) with query text, columns named
    after the systems and the difference as ``B − A``.

    Columns in display order: ``qid, B − A, <a>, <b>, query`` (numbers first, the long query text last,
    so no number sits off-screen)."""
    out = frame.reset_index()
    out["query"] = [queries.get(q, "") for q in out["qid"]]
    out = out.rename(columns={"a": a, "b": b, "diff": "B − A"})
    return out[["qid", "B − A", a, b, "query"]]


def disagreeing_table(frame: pd.DataFrame, queries: Mapping[str, str]) -> pd.DataFrame:
    """Rows of ``agreement.most_disagreeing`` for display: ``qid, rbo, overlap@k, kendall_tau, shared, query``."""
    overlap = next(c for c in frame.columns if c.startswith("overlap@"))
    out = frame[["qid", "rbo", overlap, "kendall_tau", "shared"]].copy()
    out["query"] = [queries.get(q, "") for q in out["qid"]]
    return out.reset_index(drop=True)


def zero_table(qids: list[str], queries: Mapping[str, str], qrels: Qrels) -> pd.DataFrame:
    """Queries (e.g. those every system scores 0 on) with their text and number of relevant documents."""
    return pd.DataFrame(
        {"qid": qids, "query": [queries.get(q, "") for q in qids], "relevant": [len(qrels.relevant(q)) for q in qids]}
    )


def unfound_table(lost: pd.DataFrame, corpus: Mapping[str, Document], queries: Mapping[str, str]) -> pd.DataFrame:
    """``failures.unfound_relevant``'s rows with the document title and query text, in display order."""
    lost = lost.assign(
        title=[(corpus[d].title if d in corpus else "") for d in lost["docid"]], query=[queries.get(q, "") for q in lost["qid"]]
    )
    return lost[["qid", "query", "docid", "title", "grade", "best_rank", "best_system"]]


def models_table(
    specs: Iterable[str], describe: Callable[[str], tuple[str, str, bool, str]], params: Callable[[str], float | None]
) -> pd.DataFrame:
    """One row per system spec; ``describe(spec)`` gives (name, family, available, message)."""
    rows = []
    for spec in specs:
        name, family, ok, message = describe(spec)
        rows.append(
            {
                "system": spec,
                "name": name,
                "family": family,
                "parameters (M)": params_cell(params(spec), family),
                "available here": "yes" if ok else "no",
                "how to get it / why not": message,
            }
        )
    return pd.DataFrame(rows)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number_cell(value: object, why: str, fmt: str = "{:,.1f}") -> str:
    """``value`` formatted, or ``"n/a: <why>"`` when there is none."""
    return f"n/a: {why}" if _missing(value) else fmt.format(float(value))


def params_cell(value: object, family: str) -> str:
    """A parameter count in millions as shown in a table: BM25 has none (a Lucene index, no weights)."""
    if family == "bm25":
        return "n/a: BM25 has no parameters"
    return number_cell(value, "not stated by the source" if family else "unknown")


def disk_cell(mb: float | None, where: str) -> str:
    """Size on disk in MB, or why there is none (no weights for BM25, or not on this machine)."""
    if not _missing(mb):
        return f"{float(mb):,.1f}"
    return "n/a: no weights (BM25)" if where.startswith("no weights") else "n/a: not on this machine"


def fit_width(values: Iterable[object], header: str) -> int:
    """A table column's width in pixels that shows its header and its longest cell whole (about 7.2 px a
    character of the tables' 14 px font, plus the cell's padding)."""
    longest = max([len(header), *(len(str(v)) for v in values)])
    return int(longest * 7.2 + 28)


def points_table(points: pd.DataFrame) -> pd.DataFrame:
    """Model size's chart points for a table: parameters, the published value and the difference as text where
    a row has none ("n/a" and why: BM25 has no parameters, a model not published on the dataset has no
    published value)."""
    out = points.copy()
    if "params_millions" in out:
        families = out["family"] if "family" in out else pd.Series("", index=out.index)
        out["params_millions"] = [params_cell(v, f) for v, f in zip(out["params_millions"], families)]
    if "published_value" in out:
        where = out["datasets"] if "datasets" in out else pd.Series("this dataset", index=out.index)
        out["published_value"] = [
            number_cell(v, f"not published on {d}", "{:.4f}") for v, d in zip(out["published_value"], where)
        ]
    if "difference" in out:
        out["difference"] = [number_cell(v, "nothing published to compare", "{:+.4f}") for v in out["difference"]]
    return out.fillna("")


def measured_rows(
    cached_runs: pd.DataFrame, dataset: str, evaluation: Callable[[str, str], object], describe: Callable[[str], tuple[str, str]]
) -> list[dict]:
    """Chart rows (see ``published.measured_points``) for every cached run on ``dataset`` (any split).

    ``evaluation(spec, split)`` gives the run's Evaluation or None (then the run is skipped);
    ``describe(spec)`` gives (display name, family). Parameters, series and the published model to
    compare with come from the model registry.
    """
    from retrieval.neural.registry import params_for_spec
    from retrieval.series import series_of_spec

    rows = []
    if cached_runs is None or cached_runs.empty:
        return rows
    for _, r in cached_runs[cached_runs["dataset"] == dataset].iterrows():
        spec, split = str(r["system"]), str(r["split"])
        ev = evaluation(spec, split)
        if ev is None:
            continue
        name, family = describe(spec)
        series_name, published_model = series_of_spec(spec)
        rows.append(
            {
                "label": f"{name} [{split}]",
                "family": family,
                "params_millions": params_for_spec(spec),
                "ndcg_at_10": ev.mean["nDCG@10"],
                "series": series_name,
                "published_model": published_model,
                "setup": f"{spec}, {ev.n_queries} {split} queries",
                "source": f"measured here: cached run {spec} on {dataset} ({split}), evaluated with ir_measures",
            }
        )
    return rows
