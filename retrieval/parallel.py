"""Where model work runs: in this process (:class:`LocalExecutor`) or on a Ray cluster (:class:`RayExecutor`).

The systems hand an executor *blocks of work* (a chunk of documents to encode, a block of (query, document)
pairs to score) and a picklable *worker factory* (a zero-argument callable that loads the model). The executor
returns each block's result to the calling process as it completes; the caller alone writes the cache, with
the same atomic writes as a single-process run (embedding chunks in ``corpus_embeddings``' scratch folder,
``ScoreStore`` segments). So a run made on a cluster leaves the very cache entries the app reads, a worker
that dies loses only its block in flight (nothing half-written), and a rerun does only what is missing.

Ray is optional (``pip install -r requirements-ray.txt``); nothing here imports it unless a RayExecutor is used.
One Ray actor per GPU when the cluster has GPUs, else one per CPU worker (``workers``); each loads the model
once. The cluster's workers need this repository importable and the model weights present (same paths).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import RetrievalError

ROOT = Path(__file__).resolve().parent.parent


class LocalExecutor:
    """Blocks run one after another in this process, on one worker built on first need."""

    name = "local"

    def map(self, factory: Callable[[], Any], method: str, blocks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        worker = None
        for i, args in enumerate(blocks):
            worker = worker or factory()
            yield i, getattr(worker, method)(*args)


class _Actor:
    """Holds one worker (one loaded model) inside a Ray actor process."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.worker = factory()

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.worker, method)(*args)


class RayExecutor:
    """Blocks spread over Ray actors; results come back here in completion order.

    ``address``: a running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); ``None`` starts a
    local Ray instance with ``workers`` CPUs. ``workers``: actors to start (default: one per GPU of the cluster,
    else one per CPU, at most the number of blocks). ``gpus``: GPUs per actor (default 1 when the cluster has
    GPUs, else 0).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, *, workers: int | None = None, gpus: float | None = None, in_flight: int = 2
    ) -> None:
        self.address = address or None
        self.workers = workers
        self.gpus = gpus
        self.in_flight = max(1, int(in_flight))

    def _init(self):
        try:
            import ray
        except ImportError:
            raise RetrievalError("--ray needs the ray package: pip install -r requirements-ray.txt") from None
        if not ray.is_initialized():
            path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
            kwargs: dict[str, Any] = {
                "runtime_env": {"env_vars": {"PYTHONPATH": path}},
                "ignore_reinit_error": True,
                "log_to_driver": False,
            }
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.workers or None, include_dashboard=False, **kwargs)
        return ray

    def map(self, factory: Callable[[], Any], method: str, blocks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        if not blocks:
            return
        ray = self._init()
        resources = ray.cluster_resources()
        cluster_gpus = int(resources.get("GPU", 0))
        gpus = self.gpus if self.gpus is not None else (1 if cluster_gpus else 0)
        n = self.workers or (cluster_gpus if gpus else int(resources.get("CPU", 1)))
        n = max(1, min(int(n), len(blocks)))
        actor_cls = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=0)(_Actor)
        actors = [actor_cls.remote(factory) for _ in range(n)]
        todo = list(range(len(blocks)))[::-1]
        running: dict[Any, tuple[int, Any]] = {}

        def submit(actor) -> None:
            i = todo.pop()
            running[actor.call.remote(method, *blocks[i])] = (i, actor)

        try:
            for actor in actors:
                for _ in range(self.in_flight):
                    if todo:
                        submit(actor)
            while running:
                ready, _ = ray.wait(list(running), num_returns=1)
                i, actor = running.pop(ready[0])
                try:
                    result = ray.get(ready[0])
                except ray.exceptions.RayActorError as exc:
                    raise RetrievalError(
                        f"a Ray worker died while working on block {i} of {len(blocks)} ({type(exc).__name__}); "
                        "the blocks finished before were written to the cache, so running the command "
                        "again does only the rest"
                    ) from None
                yield i, result
                if todo:
                    submit(actor)
        finally:  # work still in flight is dropped with its actor; nothing of it reached the cache
            for actor in actors:
                ray.kill(actor)


def executor_for(ray_address: str | None, *, workers: int | None = None) -> LocalExecutor | RayExecutor:
    """``--ray`` given (``""`` for a local instance, or an address) -> RayExecutor, else LocalExecutor."""
    if ray_address is None:
        return LocalExecutor()
    return RayExecutor(ray_address or None, workers=workers)


def attach(system: Any, executor: Any) -> None:
    """Let ``system`` (and a reranker's neural first stage) run its model work on ``executor``."""
    for target in (system, getattr(system, "first_stage", None)):
        if target is not None and hasattr(target, "executor"):
            target.executor = executor
