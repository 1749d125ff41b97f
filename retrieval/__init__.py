"""Compare retrieval systems on BEIR: data, BM25, dense and monoT5 runs, evaluation, cache.

Importing this package is cheap: pyserini, torch and transformers load on first use.
"""

from .beir import BeirDataset, Qrels, catalogue, open_dataset
from .cache import Cache
from .errors import DataFormatError, DatasetUnavailable, DownloadError, ModelUnavailable, RetrievalError
from .evaluate import DEFAULT_MEASURES, Evaluation, evaluate
from .run import Run
from .runner import get_run, live_search
from .systems import parse_system

__all__ = [
    "BeirDataset",
    "Cache",
    "DEFAULT_MEASURES",
    "DataFormatError",
    "DatasetUnavailable",
    "DownloadError",
    "Evaluation",
    "ModelUnavailable",
    "Qrels",
    "RetrievalError",
    "Run",
    "catalogue",
    "evaluate",
    "get_run",
    "live_search",
    "open_dataset",
    "parse_system",
]
