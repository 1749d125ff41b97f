"""Evaluation through ir_measures: per-query values and means, with missing queries counted as 0.

The order evaluated is the run's ``rank`` column (see :mod:`retrieval.run`): the evaluator receives
scores derived from ranks (``-rank``), so every provider sees exactly the order a user sees, whatever
its own tie-breaking. For a run ranked by our tie rule this equals trec_eval on the raw scores.

:func:`cached_evaluate` keeps the per-query values of a cached run in the cache (parquet + JSON), keyed by
the run file's sha256, the dataset's checksum, the split, the measures and the ir_measures version, so a
second start of the app reads them instead of evaluating again (seconds on a 300,000-row run).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .beir import Qrels
from .cache import MANIFEST, Cache
from .run import Run

DEFAULT_MEASURES = ("nDCG@10", "R@100", "RR@10", "Judged@10")
EVAL_CODE_VERSION = 1  # bump when evaluate() changes what it computes


@dataclass(frozen=True)
class Evaluation:
    """Per-query measures (``per_query``: one row per judged query, one column per measure)."""

    per_query: pd.DataFrame
    measures: tuple[str, ...]
    missing_qids: tuple[str, ...] = ()
    run_name: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def mean(self) -> dict[str, float]:
        return {m: float(self.per_query[m].mean()) if len(self.per_query) else 0.0 for m in self.measures}

    @property
    def n_queries(self) -> int:
        return len(self.per_query)

    def query(self, qid: str) -> dict[str, float]:
        """One query's measures (``{}`` for a query not evaluated)."""
        return dict(self._by_query.get(qid, {}))

    @functools.cached_property
    def _by_query(self) -> dict[str, dict[str, float]]:
        # Built once: the app asks for one query per column on every click, and ``per_query.loc[qid]`` costs a
        # Series per call.
        frame = self.per_query
        return {
            qid: {m: float(v) for m, v in zip(frame.columns, row)} for qid, row in zip(frame.index, frame.itertuples(index=False))
        }

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"run": self.run_name, "queries": self.n_queries, **self.mean}])

    def to_csv(self) -> str:
        return self.per_query.reset_index().to_csv(index=False)


def _parse(measures: Sequence[str]):
    import ir_measures

    return [ir_measures.parse_measure(m) if isinstance(m, str) else m for m in measures]


def evaluate(run: Run, qrels: Qrels, measures: Sequence[str] = DEFAULT_MEASURES) -> Evaluation:
    """Evaluate ``run`` over every query in ``qrels``; queries the run lacks score 0 on every measure."""
    import ir_measures

    parsed = _parse(measures)
    names = tuple(str(m) for m in parsed)
    judged_qids = list(qrels.by_query)  # qrels order; built once per Qrels object
    run_frame = run.frame
    depth = evaluation_depth(parsed)
    if depth is not None:
        run_frame = run_frame[run_frame["rank"].to_numpy() <= depth]
    run_frame = run_frame[run_frame["qid"].isin(set(judged_qids))]
    values: dict[str, dict[str, float]] = {q: {n: 0.0 for n in names} for q in judged_qids}
    if len(run_frame):
        # {qid: {docid: -rank}}: ir_measures takes dicts as they are, whereas a frame of (Arrow-backed)
        # strings it walks row by row through namedtuples: 300,000 rows took ~20 s that way, ~0.2 s so.
        eval_run: dict[str, dict[str, float]] = {}
        for q, d, r in zip(
            run_frame["qid"].to_numpy(dtype=object).tolist(),
            run_frame["docid"].to_numpy(dtype=object).tolist(),
            (-run_frame["rank"].to_numpy(dtype="float64")).tolist(),
        ):
            eval_run.setdefault(q, {})[d] = r
        # {qid: {docid: grade}} as well: ir_measures converts a frame row by row for each provider it uses
        # str(measure) costs a repr per value (and a hash is a repr): name the parsed objects once, by identity
        name_of = {id(m): n for m, n in zip(parsed, names)}
        for metric in ir_measures.iter_calc(parsed, qrels.by_query, eval_run):
            name = name_of.get(id(metric.measure)) or str(metric.measure)
            values[metric.query_id][name] = float(metric.value)
    present = set(run.frame["qid"].unique().tolist())  # not set(column): that walks 300,000 Arrow strings one by one
    missing = tuple(q for q in judged_qids if q not in present)
    notes = ()
    if missing:
        notes = (f"{len(missing)} of {len(judged_qids)} judged queries have no results in the run and count as 0",)
    per_query = pd.DataFrame.from_dict(values, orient="index", columns=list(names))
    per_query.index.name = "qid"
    return Evaluation(per_query, names, missing, run.name, notes)


def evaluation_depth(measures: Sequence) -> int | None:
    """The deepest rank any of ``measures`` (parsed) reads, or None when one reads the whole ranking.

    A measure with a cutoff ``@k`` (nDCG@10, R@100, RR@10, Judged@10, P@k, AP@k, ...) reads only the top k of the
    run and takes everything else from the qrels, so documents ranked below every cutoff change no value; dropping
    them first makes a 1,000-deep run cost what a 100-deep one does (SciFact: ~8x less time). Not so with
    ``judged_only`` (unjudged documents are removed before the cutoff applies, pulling deeper ones up) or with a
    measure without a cutoff (AP, nDCG, Rprec, Bpref, ...): then the whole run is evaluated.
    """
    depths = []
    for m in measures:
        params = getattr(m, "params", {})
        if "cutoff" not in params or params.get("judged_only"):
            return None
        depths.append(int(params["cutoff"]))
    return max(depths) if depths else None


def unknown_ids(
    run: Run, queries: Mapping[str, str], corpus: Mapping[str, object], examples: int = 3
) -> dict[str, tuple[int, list[str]]]:
    """Query and document ids of ``run`` that a dataset lacks: ``{"queries": (count, first few),
    "documents": (count, first few)}`` (examples in the run's order). An unknown query is never evaluated and an
    unknown document is never relevant, so both lower a run's numbers silently: the app's upload and the command
    line's ``eval`` say so (:func:`unknown_ids_message`)."""
    out = {}
    for what, ids, known in (("queries", run.frame["qid"], queries), ("documents", run.frame["docid"], corpus)):
        missing = [i for i in dict.fromkeys(map(str, ids)) if i not in known]
        out[what] = (len(missing), missing[:examples])
    return out


def unknown_ids_message(report: dict[str, tuple[int, list[str]]], dataset: str) -> str | None:
    """One sentence about :func:`unknown_ids`, or None when every id is known."""
    parts = [f"{n:,} {what} not in {dataset} (e.g. {', '.join(ex)})" for what, (n, ex) in report.items() if n]
    return ("The run names " + " and ".join(parts) + ": they count as retrieving nothing relevant.") if parts else None


def run_checksum(run: Run) -> str | None:
    """sha256 of a cached run's file, as its cache manifest records it (the entry was verified when the run was
    read); None for a run that does not come from the cache (an upload, a live query)."""
    from .runner import RUN_FILE

    entry = run.metadata.get("cache_entry") if run.metadata else None
    if not entry:
        return None
    try:
        manifest = json.loads((Path(entry) / MANIFEST).read_text(encoding="utf-8"))
        return str(manifest["files"][RUN_FILE]["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _ir_measures_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ir-measures")
    except metadata.PackageNotFoundError:
        return "unknown"


def cached_evaluate(
    run: Run, qrels: Qrels, *, cache: Cache, dataset_sha256: str, split: str, measures: Sequence[str] = DEFAULT_MEASURES
) -> Evaluation:
    """:func:`evaluate`, kept in ``cache`` for a run that comes from the cache; other runs are evaluated each time.

    ``dataset_sha256`` and ``split`` identify official ``qrels`` (:meth:`BeirDataset.fingerprint` covers the qrels
    files); qrels with users' judgements (``qrels.source`` "merged" or "mine") are evaluated each time.
    """
    checksum = run_checksum(run)
    if checksum is None or qrels.source != "official":  # users' judgements change with every click: never cached
        return evaluate(run, qrels, measures)
    names = [str(m) for m in measures]
    key = cache.key(
        "evaluation",
        run_sha256=checksum,
        dataset_sha256=dataset_sha256,
        split=split,
        measures=names,
        ir_measures=_ir_measures_version(),
        code_version=EVAL_CODE_VERSION,
    )

    def build(tmp: Path) -> dict:
        ev = evaluate(run, qrels, measures)
        _write_evaluation(ev, tmp)
        return {"queries": ev.n_queries, "split": split}

    try:
        entry = cache.get_or_build(key, build, check="read")  # small files: checked on every read, as runs are
    except OSError:  # a read-only or full cache: the numbers are still right, only not kept
        return evaluate(run, qrels, measures)
    return _read_evaluation(entry, run.name)


def _write_evaluation(ev: Evaluation, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = ev.per_query
    columns = {"qid": pa.array([str(q) for q in frame.index], pa.string())}
    columns.update({m: pa.array(frame[m].to_numpy(dtype="float64"), pa.float64()) for m in ev.measures})
    pq.write_table(pa.table(columns), folder / "per_query.parquet")
    about = {"measures": list(ev.measures), "missing_qids": list(ev.missing_qids), "notes": list(ev.notes)}
    (folder / "evaluation.json").write_text(json.dumps(about, ensure_ascii=False), encoding="utf-8")


def _read_evaluation(entry: Path, run_name: str) -> Evaluation:
    import pyarrow.parquet as pq

    about = json.loads((entry / "evaluation.json").read_text(encoding="utf-8"))
    measures = tuple(about["measures"])
    table = pq.read_table(entry / "per_query.parquet")
    index = pd.Index(table.column("qid").to_pylist(), name="qid")  # the dtype evaluate() gets
    per_query = pd.DataFrame({m: table.column(m).to_numpy() for m in measures}, index=index, columns=list(measures))
    return Evaluation(per_query, measures, tuple(about["missing_qids"]), run_name, tuple(about["notes"]))


def measure_description(measure: str) -> str:
    """A one-line description of a measure, for tooltips (from ir_measures' docstrings)."""
    parsed = _parse([measure])[0]
    doc = (type(parsed).__doc__ or parsed.__class__.__name__).strip().splitlines()
    return " ".join(line.strip() for line in doc[:3] if line.strip())
