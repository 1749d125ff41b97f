"""The tables the app's pages show, built as DataFrames (no Streamlit).

Failure cases: per-query wins with query text, queries every system scores 0 on, relevant documents
no system finds (with titles). Data & runs: the systems on offer with size and availability. Model
size: the user's measured runs as chart rows.
"""

from __future__ import annotations

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
                "parameters (M)": params(spec),
                "available here": "yes" if ok else "no",
                "how to get it / why not": message,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["parameters (M)"] = pd.to_numeric(frame["parameters (M)"], errors="coerce")
    return frame


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
