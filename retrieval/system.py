"""The interface every retrieval system implements; it imports no system.

A system is named by a spec string (``bm25-flat``, ``dense:all-MiniLM-L6-v2``, ``monot5:base``,
``rrf:bm25-flat+dense:all-MiniLM-L6-v2``, ...): :mod:`retrieval.systems` turns a spec into a :class:`System`,
:mod:`retrieval.runner` runs it (cached). A system owns everything that varies with its kind, so that no caller
branches on a family string: its canonical spec (the key of its runs, ranks and caches), its display name, its
parameter count, the systems whose runs it needs (``inputs``), whether it builds in seconds, whether it can run
here (``availability``), how it explains a document, and the part of the ``python -m retrieval run`` command that
rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .beir import BeirDataset
from .cache import Cache
from .errors import RetrievalError, UnknownSystem
from .run import Run


class System:
    """Base class. Subclasses set ``spec`` (canonical name), ``family`` and ``label``.

    ``family`` names the kind of model for grouping and display (``"bm25"``, ``"dense"``, ``"reranker"``,
    ``"fusion"``; ``"external"`` for a run made elsewhere); behaviour that depends on the kind lives in the methods
    below, never in a caller's switch on this string.

    A system that needs other systems' runs lists them in ``inputs`` (a reranker its first stage, a fusion the
    systems it fuses); the runner then hands ``retrieve`` those runs for the same queries, as ``input_runs`` in
    the same order (cached when the queries are a split's).
    """

    spec: str = ""
    family: str = ""
    label: str = ""
    first_stage: System | None = None
    # What a user sees while :meth:`explain` works (the app shows it beside a spinner).
    explain_label: str = "Explaining…"
    # Whether it runs a neural model whose weights must be here (fetched, in a folder or an offline package).
    needs_weights: bool = False
    # What :meth:`build_progress` counts ("documents" for a dense model's encoding); "" when nothing is counted.
    build_unit: str = ""

    def key_parts(self) -> dict[str, Any]:
        """Everything besides the dataset and queries that changes this system's output."""
        raise NotImplementedError

    def retrieve(
        self,
        dataset: BeirDataset,
        queries: Mapping[str, str],
        *,
        cache: Cache,
        progress: bool = True,
        input_runs: Sequence[Run] = (),
    ) -> Run:
        """The run for ``queries``. A system with ``inputs`` gets their runs for the same queries as
        ``input_runs`` (same order as :attr:`inputs`)."""
        raise NotImplementedError

    @property
    def inputs(self) -> tuple[System, ...]:
        """The systems whose runs this one needs (default: its first stage, if any)."""
        return () if self.first_stage is None else (self.first_stage,)

    def availability(self) -> tuple[bool, str]:
        """(usable here?, why not / how to fix). Default: usable when every input is."""
        for system in self.inputs:
            ok, why = system.availability()
            if not ok:
                return False, f"{system.spec}: {why}"
        return True, ""

    @property
    def display_name(self) -> str:
        return self.label or self.spec

    def build_choices(self) -> dict[str, tuple[str, ...]]:
        """Spec options a user may pick when building a run, each with its values, the default first (e.g. a dense
        model's ``backend``). Default: none."""
        return {}

    def spec_with(self, picked: Mapping[str, str]) -> str:
        """This system's spec with ``picked`` build choices (:meth:`build_choices`) set; a default drops its option."""
        if picked:
            raise UnknownSystem(f"{self.spec} takes no build choices ({', '.join(picked)})")
        return self.spec

    @property
    def parameters(self) -> float | None:
        """Parameters of the model, in millions (``None`` for a system without a neural model)."""
        return None

    def builds_quickly(self, has_run: Callable[[System], bool] = lambda _system: False) -> bool:
        """Whether a run on a split builds in seconds (so the app builds it on the spot instead of offering a
        button). ``has_run`` says whether an input's run is already cached. Default: no."""
        return False

    def build_progress(self, dataset: BeirDataset, cache: Cache) -> tuple[int, int] | None:
        """``(done, total)`` in :attr:`build_unit` while a run of this system is being built (its work can be
        watched from another thread or process); ``None`` when the work is not counted."""
        return None

    def probe_seconds(self, dataset: BeirDataset, split: str, cache: Cache) -> float | None:
        """An estimate of how long building this system's run on ``dataset``/``split`` takes on this machine,
        measured on a few documents before the first build of this kind (``None``: no probe; seconds, not worth
        one). Kept in the cache, so it is measured once per model and dataset."""
        return None

    def explain(
        self,
        dataset: BeirDataset,
        query: str,
        docid: str,
        *,
        cache: Cache | None = None,
        run: Run | None = None,
        qid: str | None = None,
        input_runs: Sequence[Run] = (),
        progress: bool = False,
    ) -> Any:
        """Why this system scored ``docid`` as it did for ``query``: an explanation value with ``report()``
        (plain text for the command line). ``run``/``qid`` attach the run's score and rank where the
        explanation uses them; ``input_runs`` are the inputs' runs for ``qid`` (a fusion explains from them)."""
        raise UnknownSystem(f"no explanation for {self.spec}")

    def reproduce_args(self, *, recorded: Mapping[str, Any] | None = None) -> tuple[list[str], list[str]]:
        """``(arguments, notes)``: the part of ``python -m retrieval run`` after the dataset and split that
        rebuilds this system's run (``--system ...`` and its flags), and notes where the arguments cannot say
        everything (e.g. weights from a local folder). ``recorded`` holds values read from a cached run's key
        (``revision``, ``dtype``), which win over today's defaults."""
        raise RetrievalError(f"{self.spec} was not made by this project (family {self.family!r}), so no command rebuilds it")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"
