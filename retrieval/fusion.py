"""Hybrid fusion of two or more systems' runs: reciprocal-rank fusion and a normalised score sum (CombSUM).

Specs:

* ``rrf:<spec>+<spec>[+...]`` — reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): a document's
  score is the sum over the inputs of ``1 / (k + rank)``, its rank in each input's run (a run that lacks the
  document adds nothing). Option ``k`` (default 60, the paper's).
* ``combsum:<spec>+<spec>[+...]`` — CombSUM (Fox and Shaw, TREC-2) of per-query normalised scores. Option
  ``norm``: ``min-max`` (default: ``(s - min) / max(max - min, 1e-9)``), ``max`` (``s / max(max, 1e-9)``), ``sum``
  (``(s - min) / max(sum - n * min, 1e-9)``) or ``zmuv`` (``(s - mean) / max(std, 1e-9)``), each per query and
  input, exactly as ``ranx``'s normalisations.

Both take ``depth`` (how much of each input's ranking is fused, default 1000, all a run keeps) and ``hits`` (the
fused run's length, default 1000). Options go after a ``?`` at the end: ``rrf:bm25-flat+dense:all-MiniLM-L6-v2?k=10``.
An input with options of its own is written in parentheses: ``rrf:bm25-flat+(dense:all-MiniLM-L6-v2?index=faiss)``.

Ranks are the run contract's (:mod:`retrieval.run`: score descending, then docid descending), so a fusion of
tied inputs is deterministic; its output is ranked by the same rule. The sum over the inputs runs in a fixed order
(by their cache keys), so ``rrf:a+b`` and ``rrf:b+a`` give the same scores to the last bit and share one cached
run. Runs equal ``ranx``'s fusion of the same runs (``ranx.fusion.rrf``; ``comb_sum`` after ``min_max_norm``;
tested).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .beir import BeirDataset
from .cache import Cache
from .errors import RetrievalError, UnknownSystem
from .run import Run
from .system import System

METHODS = ("rrf", "combsum")
NORMS = ("min-max", "max", "sum", "zmuv")
DEFAULT_K = 60
DEFAULT_DEPTH = 1000
DEFAULT_HITS = 1000
FUSION_CODE_VERSION = 1


# ---- the arithmetic ------------------------------------------------------------------------------
def normalise(scores: np.ndarray, norm: str) -> np.ndarray:
    """One query's scores of one input, normalised as ``ranx`` does (``norm`` one of :data:`NORMS`)."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    if norm == "min-max":
        low = scores.min()
        return (scores - low) / max(scores.max() - low, 1e-9)
    if norm == "max":
        return scores / max(scores.max(), 1e-9)
    if norm == "sum":
        low = scores.min()
        return (scores - low) / max(scores.sum() - low * len(scores), 1e-9)
    if norm == "zmuv":
        return (scores - scores.mean()) / max(scores.std(), 1e-9)
    raise UnknownSystem(f"unknown normalisation {norm!r}; use one of {', '.join(NORMS)}")


def contributions(
    run: Run, method: str, *, k: int = DEFAULT_K, norm: str = "min-max", depth: int = DEFAULT_DEPTH
) -> pd.DataFrame:
    """Each document's part of the fused score from one input: ``qid, docid, rank, score, part`` (``rank`` and
    ``score`` as in the input run, ``part`` what it adds: ``1 / (k + rank)`` or its normalised score)."""
    frame = run.frame[run.frame["rank"] <= depth]
    if method == "rrf":
        part = 1.0 / (k + frame["rank"].to_numpy(dtype=np.float64))
    else:
        part = np.empty(len(frame), dtype=np.float64)
        qids = frame["qid"].to_numpy()
        scores = frame["score"].to_numpy(dtype=np.float64)
        # rows of a query are contiguous in a run (run contract): one slice per query
        starts = np.flatnonzero(np.r_[True, qids[1:] != qids[:-1]]) if len(qids) else np.array([], dtype=int)
        for a, b in zip(starts, [*starts[1:], len(qids)]):
            part[a:b] = normalise(scores[a:b], norm)
    return pd.DataFrame(
        {
            "qid": frame["qid"].to_numpy(),
            "docid": frame["docid"].to_numpy(),
            "rank": frame["rank"].to_numpy(),
            "score": frame["score"].to_numpy(),
            "part": part,
        }
    )


def fuse(
    runs: Sequence[Run],
    method: str,
    *,
    k: int = DEFAULT_K,
    norm: str = "min-max",
    depth: int = DEFAULT_DEPTH,
    hits: int = DEFAULT_HITS,
    name: str = "",
) -> Run:
    """The fused run of ``runs`` (in the order given, which fixes the order of the floating-point sums)."""
    if method not in METHODS:
        raise UnknownSystem(f"unknown fusion {method!r}; use one of {', '.join(METHODS)}")
    if not runs:
        raise RetrievalError("a fusion needs at least two runs")
    parts = pd.concat([contributions(r, method, k=k, norm=norm, depth=depth) for r in runs], ignore_index=True)
    codes, pairs = pd.factorize(pd.MultiIndex.from_arrays([parts["qid"].to_numpy(), parts["docid"].to_numpy()]))
    sums = np.zeros(len(pairs), dtype=np.float64)
    # unbuffered, in row order: one input after another, the same order of additions for every document
    np.add.at(sums, codes, parts["part"].to_numpy(dtype=np.float64))
    frame = pd.DataFrame({"qid": pairs.get_level_values(0), "docid": pairs.get_level_values(1), "score": sums})
    return Run.from_frame(frame, name).truncate(hits)


# ---- the system ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FusionPart:
    """One input's share of a fused document score."""

    spec: str
    name: str
    rank: int | None  # in the input's run (None: not in its top ``depth``)
    score: float | None  # the input's own score
    part: float  # what it adds to the fused score


@dataclass(frozen=True)
class FusionExplanation:
    """Why a fused run scored ``docid`` as it did: each input's rank, score and part; ``total`` is their sum."""

    system: str
    method: str
    query: str
    docid: str
    parts: tuple[FusionPart, ...]
    setting: str  # "k=60" or "norm=min-max"

    @property
    def total(self) -> float:
        return float(sum(p.part for p in self.parts))

    def summary(self) -> str:
        """One line: "#3 in BM25 (flat) and #7 in all-MiniLM-L6-v2 (dense, 23M); not in the top 1000 of ..."."""
        found = [f"#{p.rank} in {p.name}" for p in self.parts if p.rank is not None]
        missing = [p.name for p in self.parts if p.rank is None]
        text = " and ".join(found) if found else "in none of the fused runs"
        return text + (f"; not retrieved by {', '.join(missing)}" if missing else "")

    def frame(self) -> pd.DataFrame:
        """One row per input: ``system, rank, score, part, share``."""
        total = self.total
        return pd.DataFrame(
            [(p.name, p.rank, p.score, p.part, (p.part / total) if total else 0.0) for p in self.parts],
            columns=["system", "rank", "score", "part", "share"],
        )

    def report(self, document: Any = None, run_line: str = "", run_score: float | None = None, top: int = 10) -> str:
        rule = "1 / (k + rank)" if self.method == "rrf" else "the normalised score"
        lines = [f"{self.method} ({self.setting}): the document was {self.summary()}."]
        with pd.option_context("display.width", 200):
            lines.append(self.frame().to_string(index=False, float_format=lambda v: f"{v:.6f}", na_rep="-"))
        lines.append(f"\nfused score = sum of the parts ({rule}): {self.total:.6f}")
        lines += [run_line] if run_line else []
        return "\n".join(lines)


class Fusion(System):
    """A fusion of two or more systems' runs (see the module docstring)."""

    family = "fusion"
    explain_label = "Reading each fused run's rank of the document…"

    def __init__(
        self,
        method: str,
        systems: Sequence[System],
        *,
        k: int = DEFAULT_K,
        norm: str = "min-max",
        depth: int = DEFAULT_DEPTH,
        hits: int = DEFAULT_HITS,
    ) -> None:
        if method not in METHODS:
            raise UnknownSystem(f"unknown fusion {method!r}; use one of {', '.join(METHODS)}")
        if len(systems) < 2:
            raise UnknownSystem(f"{method}: fuse at least two systems (e.g. {method}:bm25-flat+dense:all-MiniLM-L6-v2)")
        specs = [s.spec for s in systems]
        if len(set(specs)) != len(specs):
            raise UnknownSystem(f"{method}: a system is listed twice ({' + '.join(specs)})")
        if norm not in NORMS:
            raise UnknownSystem(f"{method}: norm must be one of {', '.join(NORMS)}, not {norm!r}")
        if method == "rrf" and k < 0:
            raise UnknownSystem(f"rrf: k must be 0 or more, not {k}")
        self.method, self.systems = method, tuple(systems)
        self.k, self.norm, self.depth, self.hits = int(k), norm, int(depth), int(hits)
        options = {
            "k": self.k if method == "rrf" and self.k != DEFAULT_K else None,
            "norm": self.norm if method == "combsum" and self.norm != "min-max" else None,
            "depth": self.depth if self.depth != DEFAULT_DEPTH else None,
            "hits": self.hits if self.hits != DEFAULT_HITS else None,
        }
        self.spec = join_fusion_spec(method, specs, options)
        setting = f"k={self.k}" if method == "rrf" else self.norm
        self.label = f"{'RRF' if method == 'rrf' else 'CombSUM'} ({setting}) of " + " + ".join(s.display_name for s in systems)

    @property
    def inputs(self) -> tuple[System, ...]:
        return self.systems

    def _ordered(self, runs: Sequence[Run]) -> list[Run]:
        """``runs`` (in :attr:`inputs` order) in the fixed order of the sums: by the inputs' cache keys."""
        keys = [json.dumps(s.key_parts(), sort_keys=True, default=str) for s in self.systems]
        return [runs[i] for i in sorted(range(len(runs)), key=keys.__getitem__)]

    def key_parts(self) -> dict[str, Any]:
        return {
            "system": "fusion",
            "method": self.method,
            "k": self.k if self.method == "rrf" else None,
            "norm": self.norm if self.method == "combsum" else None,
            "depth": self.depth,
            "hits": self.hits,
            "inputs": sorted((s.key_parts() for s in self.systems), key=lambda p: json.dumps(p, sort_keys=True, default=str)),
            "code_version": FUSION_CODE_VERSION,
        }

    def retrieve(
        self,
        dataset: BeirDataset,
        queries: Mapping[str, str],
        *,
        cache: Cache,
        progress: bool = True,
        input_runs: Sequence[Run] = (),
    ) -> Run:
        if len(input_runs) != len(self.systems):
            raise RetrievalError(f"{self.spec} fuses {len(self.systems)} runs; the runner hands them over as input_runs")
        wanted = set(queries)
        runs = [r.restrict(wanted) for r in self._ordered(input_runs)]
        return Run(
            fuse(runs, self.method, k=self.k, norm=self.norm, depth=self.depth, hits=self.hits).frame,
            self.spec,
            {"family": self.family},
        )

    def builds_quickly(self, has_run: Callable[[System], bool] = lambda _system: False) -> bool:
        """Fusing is seconds; the inputs must be cached or quick to build themselves."""
        return all(has_run(s) or s.builds_quickly(has_run) for s in self.systems)

    def explain(
        self, dataset, query, docid, *, cache=None, run=None, qid=None, input_runs=(), progress=False
    ) -> FusionExplanation:
        """Each input's rank and score of the document and what it adds (needs the inputs' runs for ``qid``)."""
        if len(input_runs) != len(self.systems) or qid is None:
            raise RetrievalError(f"{self.spec}: explaining a fused score needs each fused system's run for the query")
        parts = []
        for system, source in zip(self.systems, input_runs):
            one = contributions(source.restrict([str(qid)]), self.method, k=self.k, norm=self.norm, depth=self.depth)
            hit = one[one["docid"] == str(docid)]
            if len(hit):
                row = hit.iloc[0]
                parts.append(
                    FusionPart(system.spec, system.display_name, int(row["rank"]), float(row["score"]), float(row["part"]))
                )
            else:
                parts.append(FusionPart(system.spec, system.display_name, None, None, 0.0))
        setting = f"k={self.k}" if self.method == "rrf" else f"norm={self.norm}"
        return FusionExplanation(self.spec, self.method, query, str(docid), tuple(parts), setting)

    def reproduce_args(self, *, recorded=None) -> tuple[list[str], list[str]]:
        """``--system`` with every input spelt out as it ran (model inputs with their dtype and revision)."""
        specs, notes = [], []
        for system in self.systems:
            spec, more = pinned_spec(system)
            specs.append(spec)
            notes += more
        options = {"k": self.k if self.method == "rrf" else None, "norm": self.norm if self.method == "combsum" else None}
        options.update(
            depth=self.depth if self.depth != DEFAULT_DEPTH else None, hits=self.hits if self.hits != DEFAULT_HITS else None
        )
        return ["--system", join_fusion_spec(self.method, specs, options)], notes


def pinned_spec(system: System) -> tuple[str, list[str]]:
    """``system``'s spec with what its reproduce flags say folded into the spec's options (``--dtype float32`` ->
    ``?dtype=float32``), so that it can stand as one input of a fusion's spec."""
    args, notes = system.reproduce_args()
    spec, options = args[1], {}
    flags = {
        "--dtype": "dtype",
        "--revision": "revision",
        "--first-stage": "first_stage",
        "--depth": "depth",
        "--model-path": "model_path",
    }
    for flag, value in zip(args[2::2], args[3::2]):
        if flag not in flags:
            raise RetrievalError(f"{system.spec}: {flag} has no spec option, so it cannot be fused reproducibly")
        options[flags[flag]] = value
    if not options:
        return spec, notes
    from .neural.model_system import join_spec, split_spec

    base, own = split_spec(spec)
    return join_spec(base, {**own, **options}), notes


# ---- the spec ------------------------------------------------------------------------------------
def join_fusion_spec(method: str, specs: Sequence[str], options: Mapping[str, Any]) -> str:
    """``rrf:a+b?k=10``: inputs with options of their own in parentheses; options left out where ``None``."""
    parts = [f"({s})" if "?" in s or "+" in s else s for s in specs]
    extra = "&".join(f"{k}={v}" for k, v in sorted(options.items()) if v is not None)
    return f"{method}:{'+'.join(parts)}" + (f"?{extra}" if extra else "")


def split_fusion_spec(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """``"rrf:bm25-flat+(dense:x?index=faiss)?k=10"`` -> ``("rrf", ["bm25-flat", "dense:x?index=faiss"], {"k": "10"})``."""
    method, _, body = spec.strip().partition(":")
    depth, current, inputs, options = 0, [], [], ""
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UnknownSystem(f"{spec}: a ')' without its '('")
            if depth == 0:
                continue
        elif depth == 0 and ch == "+":
            inputs.append("".join(current).strip())
            current = []
            continue
        elif depth == 0 and ch == "?":
            options = body[i + 1 :]
            break
        current.append(ch)
    if depth:
        raise UnknownSystem(f"{spec}: a '(' without its ')'")
    inputs.append("".join(current).strip())
    if any(not s for s in inputs):
        raise UnknownSystem(f"{spec}: an empty system between '+' signs")
    from urllib.parse import parse_qsl

    return method, inputs, dict(parse_qsl(options, keep_blank_values=True))


def parse_fusion(spec: str, *, parse_spec: Callable[..., System], **options: Any) -> Fusion:
    """``rrf:bm25-flat+dense:all-MiniLM-L6-v2?k=60`` -> a :class:`Fusion`; ``parse_spec`` parses each input (the
    device choice carries over to neural inputs; their other options go in their own specs)."""
    method, specs, opts = split_fusion_spec(spec)
    unknown = set(opts) - {"k", "norm", "depth", "hits"}
    if unknown:
        raise UnknownSystem(
            f"{spec}: {method} takes k, norm, depth and hits, not {', '.join(sorted(unknown))} "
            "(write an input's own options inside parentheses: rrf:bm25-flat+(dense:all-MiniLM-L6-v2?index=faiss))"
        )
    numbers = {}
    for name, default, low, high in (
        ("k", DEFAULT_K, 0, 1_000_000),
        ("depth", DEFAULT_DEPTH, 1, 100_000),
        ("hits", DEFAULT_HITS, 1, 100_000),
    ):
        try:
            numbers[name] = int(opts.get(name, default))
        except ValueError:
            raise UnknownSystem(f"{spec}: {name} must be a whole number, not {opts[name]!r}") from None
        if not low <= numbers[name] <= high:
            raise UnknownSystem(f"{spec}: {name} must be between {low} and {high}, not {numbers[name]}")
    device = options.get("device")
    systems = [parse_spec(s, device=device) for s in specs]
    return Fusion(method, systems, norm=str(opts.get("norm", "min-max")), **numbers)
