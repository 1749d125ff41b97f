"""One typed query through any system (BM25, dense, reranker), for the app.

Dense systems reuse the cached corpus embeddings and encode only the query; rerankers run their
first stage for the query and score only (query, document) pairs not in the score cache. Loaded
models stay in memory between calls (per process), so the second query is fast.
"""

from __future__ import annotations

from typing import Any

from .. import systems
from ..beir import BeirDataset
from ..cache import Cache
from ..errors import RetrievalError
from ..run import Run

LIVE_QID = "live"


def live_search(dataset: BeirDataset, system: systems.System | str, query_text: str, k: int = 100, *,
                cache: Cache | None = None, progress: bool = False, **options: Any) -> Run:
    """The top ``k`` of ``system`` for one typed query, as a Run whose only qid is ``"live"``.

    Example:
        >>> run = live_search(dataset, "dense:all-MiniLM-L6-v2", "vitamin D and bone density", k=10)  # doctest: +SKIP
        >>> run.for_query("live")[["rank", "docid", "score"]]  # doctest: +SKIP
    """
    text = " ".join(str(query_text).split())
    if not text:
        raise RetrievalError("the query is empty")
    system = systems.parse_system(system, **options) if isinstance(system, str) else system
    run = system.retrieve(dataset, {LIVE_QID: text}, cache=cache or Cache(), progress=progress)
    return run.truncate(int(k))
