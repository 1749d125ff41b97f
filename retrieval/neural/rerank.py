"""Rerankers (monoT5, MiniLM cross-encoder) as systems over a cached first stage.

``monot5:base`` reranks the top ``depth`` (default 100, at most 1000) documents of its first stage
(default ``bm25-flat``, as in the monoT5 papers). The caller (:mod:`retrieval.runner`) hands over the
first stage's run: the cached split run for a split's judged queries, a fresh one for a typed query.
Scores come from the
per-(query, document, model) :class:`~retrieval.neural.scores.ScoreStore`; only missing pairs go
to the model, longest first, flushed to the store every ``flush_every`` pairs. A rerank returns
exactly its candidates, reordered.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..beir import BeirDataset
from ..cache import Cache
from ..errors import RetrievalError, UnknownSystem
from ..run import Run
from ..system import System
from . import registry
from .model_system import MAX_DEPTH, ModelSystem, doc_text, int_option, join_spec, model_options, spec_options
from .scores import KIND, ScoreStore, query_hash

RERANK_CODE_VERSION = 1
SCORE_CODE_VERSION = 1
DEFAULT_FIRST_STAGE = "bm25-flat"
DEFAULT_DEPTH = 100
FLUSH_EVERY = 1024


class Reranker(ModelSystem):
    """A monoT5 or cross-encoder reranker over a first-stage system."""

    family = "reranker"
    explain_label = "Scoring the document with each word left out…"

    def __init__(
        self,
        info: registry.ModelInfo,
        *,
        first_stage: System,
        depth: int = DEFAULT_DEPTH,
        flush_every: int = FLUSH_EVERY,
        **model_options: Any,
    ) -> None:
        if info.family != "reranker":
            raise UnknownSystem(f"{info.spec} is not a reranker")
        super().__init__(info, **model_options)
        self.first_stage = first_stage
        if not 1 <= int(depth) <= MAX_DEPTH:
            raise UnknownSystem(f"{info.spec}: depth must be between 1 and {MAX_DEPTH}, not {depth}")
        self.depth = int(depth)
        self.flush_every = int(flush_every)
        self.spec = join_spec(
            info.spec,
            {
                "first_stage": first_stage.spec if first_stage.spec != DEFAULT_FIRST_STAGE else None,
                "depth": self.depth if self.depth != DEFAULT_DEPTH else None,
                "revision": self.revision_option or None,
            },
        )
        kind = "monoT5" if info.kind == "monot5" else "cross-encoder"
        self.label = f"{info.id} ({kind}, {info.params_millions:g}M) over {first_stage.display_name}, top {self.depth}"
        self._scorer = None

    # ---- identity ---------------------------------------------------------------------------
    def _is_t5(self) -> bool:
        return self.info.kind == "monot5"

    def model_key(self) -> dict[str, Any]:
        """What changes a (query, document) score: the score cache key, with the dataset."""
        i = self.info
        return {
            "kind": i.kind,
            "model": i.hf_id,
            "revision": self.revision,
            "dtype": self.dtype,
            "max_length": i.max_length,
            "template": i.template,
            "score": "log P(true)" if i.kind == "monot5" else "logit",
            "code_version": SCORE_CODE_VERSION,
        }

    def key_parts(self) -> dict[str, Any]:
        return {
            "system": "rerank",
            **self.model_key(),
            "first_stage": self.first_stage.key_parts(),
            "depth": self.depth,
            "rerank_code_version": RERANK_CODE_VERSION,
        }

    def availability(self) -> tuple[bool, str]:
        ok, why = super().availability()
        if not ok:
            return ok, why
        first_ok, first_why = self.first_stage.availability()
        if not first_ok:
            return False, f"first stage {self.first_stage.spec}: {first_why}"
        return True, why

    def probe_seconds(self, dataset: BeirDataset, split: str, cache: Cache) -> float | None:
        """Scoring time of every (query, candidate) pair of the split, from 16 pairs of real queries and documents,
        plus the model's load (the first stage's own build is not counted: it is its own estimate)."""
        import time

        queries = dataset.split_queries(split)
        qids = list(queries)[:4]
        ids = list(dataset.corpus)
        pairs = [(queries[q], doc_text(dataset.corpus[ids[(i * 7919) % len(ids)]])) for i, q in enumerate(qids * 4)]

        def measure(scorer) -> tuple[int, float]:
            scorer.score_pairs(pairs[:2])  # warm-up
            started = time.perf_counter()
            scorer.score_pairs(pairs)
            return len(pairs), time.perf_counter() - started

        info = self._probe(dataset, cache, measure)
        return info["load_seconds"] + info["per_item_seconds"] * len(queries) * min(self.depth, len(ids))

    def explain(self, dataset, query, docid, *, cache=None, run=None, qid=None, input_runs=(), progress=False):
        """Word-occlusion saliency of this model's score for the document (:mod:`retrieval.explain.saliency`)."""
        from ..explain.saliency import explain_reranker

        return explain_reranker(dataset, self, query, docid, cache=cache, progress=progress)

    def reproduce_args(self, *, recorded=None) -> tuple[list[str], list[str]]:
        """The model's flags plus ``--first-stage`` and ``--depth``, spelt out even at their defaults."""
        return self._model_args(["--first-stage", self.first_stage.spec, "--depth", str(self.depth)], recorded)

    # ---- work -------------------------------------------------------------------------------
    def scorer(self, cache: Cache | None = None):
        """The loaded scorer (MonoT5Scorer or CrossEncoderScorer), loaded once."""
        if self._scorer is None:
            self._scorer = self.load_model(self.info, self.load_options(cache))
        return self._scorer

    @staticmethod
    def load_model(info: registry.ModelInfo, options: dict[str, Any]):
        """A MonoT5Scorer or CrossEncoderScorer for ``info`` (``options``: :meth:`ModelSystem.load_options`)."""
        kwargs = dict(options, max_length=info.max_length)
        if info.kind == "monot5":
            from .monot5_model import MonoT5Scorer

            return MonoT5Scorer.from_pretrained(info.id, **kwargs)
        from .crossencoder_model import CrossEncoderScorer

        return CrossEncoderScorer.from_pretrained(info.id, **kwargs)

    def score_store(self, dataset: BeirDataset, cache: Cache) -> ScoreStore:
        key = cache.key(KIND, dataset=dataset.name, dataset_sha256=dataset.fingerprint(), model=self.model_key())
        return ScoreStore(cache, key)

    def retrieve(
        self,
        dataset: BeirDataset,
        queries: Mapping[str, str],
        *,
        cache: Cache,
        progress: bool = True,
        input_runs: Sequence[Run] = (),
    ) -> Run:
        if len(input_runs) != 1:
            raise RetrievalError(
                f"{self.spec} reranks {self.first_stage.spec}: pass its run as input_runs "
                "(retrieval.runner.get_run and live_search do)"
            )
        first_stage_run = input_runs[0]
        candidates = {q: list(first_stage_run.for_query(q, self.depth)["docid"]) for q in queries}
        qhash = {q: query_hash(text) for q, text in queries.items()}
        store = self.score_store(dataset, cache)
        known = store.get(set(qhash.values()))
        todo: dict[tuple[str, str], tuple[str, str]] = {}
        for q, docs in candidates.items():
            for d in docs:
                if (qhash[q], d) not in known:
                    todo.setdefault((qhash[q], d), (queries[q], d))
        if todo:
            self._score_missing(dataset, todo, store, known, cache, progress)
        records = [(q, d, known[(qhash[q], d)]) for q, docs in candidates.items() for d in docs]
        return Run.from_records(records, self.spec, family=self.family, first_stage=self.first_stage.spec, depth=self.depth)

    def _score_missing(
        self, dataset: BeirDataset, todo: dict, store: ScoreStore, known: dict, cache: Cache, progress: bool
    ) -> None:
        corpus = dataset.corpus
        items = [(k, text, doc_text(corpus[d])) for k, (text, d) in todo.items()]
        items.sort(key=lambda it: -(len(it[1]) + len(it[2])))  # similar lengths end up in the same flush block
        from tqdm.auto import tqdm

        started, scored = time.time(), len(items)
        with tqdm(
            total=len(items),
            desc=f"{self.info.id} rerank",
            unit="pair",
            disable=not progress,
            file=sys.stderr,
            mininterval=1.0,
            smoothing=0.1,
        ) as bar:
            if self.executor is not None and getattr(self.executor, "name", "local") != "local":
                # blocks scored by the executor's workers (e.g. Ray actors), each block's scores written here
                blocks = [items[s : s + self.flush_every] for s in range(0, len(items), self.flush_every)]
                work = [([(q, d) for _, q, d in block],) for block in blocks]
                for j, scores in self.executor.map(self.worker_factory(cache), "score_pairs", work):
                    rows = [(k[0], k[1], float(s)) for (k, _, _), s in zip(blocks[j], scores)]
                    store.append(rows)
                    known.update({(r[0], r[1]): r[2] for r in rows})
                    bar.update(len(rows))
                items = []
            scorer = self.scorer(cache) if items else None
            for start in range(0, len(items), self.flush_every):
                block = items[start : start + self.flush_every]
                scores = scorer.score_pairs([(q, d) for _, q, d in block], on_batch=bar.update)
                rows = [(k[0], k[1], float(s)) for (k, _, _), s in zip(block, scores)]
                store.append(rows)
                known.update({(r[0], r[1]): r[2] for r in rows})
        if progress:
            print(f"{self.info.id}: scored {scored:,} new pairs in {time.time() - started:.1f} s", file=sys.stderr)


def parse_reranker(spec: str, *, parse_spec: Callable[..., System], **options: Any) -> Reranker:
    """``monot5:base?depth=1000`` -> a Reranker; ``parse_spec`` turns the first stage's spec into a System."""
    base, opts = spec_options(spec, options)
    prefix, _, name = base.partition(":")
    info = registry.lookup(name or base, prefix)
    first = opts.get("first_stage", DEFAULT_FIRST_STAGE)
    if isinstance(first, str):  # the device choice carries over to a neural first stage; its other options do not
        first = parse_spec(first, device=opts.get("device"))
    return Reranker(
        info,
        first_stage=first,
        depth=int_option(opts, "depth", DEFAULT_DEPTH, 1, MAX_DEPTH, spec),
        flush_every=int_option(opts, "flush_every", FLUSH_EVERY, 1, 1 << 20, spec),
        **model_options(opts, spec),
    )
