"""Dense retrieval as a :class:`~retrieval.system.System`, with corpus embeddings cached on disk.

Corpus embeddings are a cache entry (kind ``embeddings``) keyed by the dataset checksum, the model
(id, revision, pooling, normalisation, maximum length, document prompt, compute dtype) and the
storage format: ``embeddings.npy`` (float16, rows in corpus order, opened with ``mmap_mode="r"``,
``allow_pickle=False``) and ``docids.json``; the cache checks their xxh3 on the first read in a
process. Encoding runs longest-first in chunks; each chunk is written atomically to the entry's
scratch folder with the xxh3 of its bytes, so an interrupted encode resumes with the chunks not
yet done, and a chunk whose bytes changed since is encoded again.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..beir import BeirDataset
from ..cache import MANIFEST, Cache, atomic_write_bytes, atomic_write_json
from ..errors import RetrievalError, UnknownSystem
from ..run import Run
from . import registry
from .exported import BACKENDS, RECIPE_VERSION, parse_backend, static_int8_parts
from .exported import availability as backend_availability
from .model_system import ModelSystem, doc_text, int_option, join_spec, model_options, spec_options

EMBEDDINGS_CODE_VERSION = 1
DENSE_CODE_VERSION = 1
STORAGE = "float16"
DEFAULT_HITS = 1000
DEFAULT_CHUNK = 1024
INDEXES = ("exact", "faiss")


# ---- corpus embeddings --------------------------------------------------------------------------
def embeddings_key(cache: Cache, dataset: BeirDataset, model_key: Mapping[str, Any]):
    return cache.key(
        "embeddings",
        dataset=dataset.name,
        dataset_sha256=dataset.fingerprint(),
        model=dict(model_key),
        storage=STORAGE,
        code_version=EMBEDDINGS_CODE_VERSION,
    )


class _LazyBlocks(Sequence):
    """``(texts of chunk i, batch_size)`` for an executor, read from the document store when asked for."""

    def __init__(self, chunks: list[list[str]], texts: Callable[[list[str]], list[str]], batch_size: int | None) -> None:
        self.chunks, self.texts, self.batch_size = chunks, texts, batch_size

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, i):  # type: ignore[override]
        return (self.texts(self.chunks[i]), self.batch_size)


def _longest_first(store, docids: list[str]) -> list[str]:
    """``docids`` longest text first (less padding per batch), reading the texts once for their
    lengths only: each chunk's texts are read again from the document store when it is encoded."""
    length = {d: len(doc_text(doc)) for d, doc in zip(docids, store.values())}
    return sorted(docids, key=lambda d: (-length[d], d))


def _get_many(store, docids: list[str]) -> list:
    """Documents of ``docids`` in order: the document store's batched read, or a plain mapping's lookups."""
    get_many = getattr(store, "get_many", None)
    return get_many(docids) if get_many else [store[d] for d in docids]


def corpus_embeddings(
    dataset: BeirDataset,
    encoder: Callable[[], Any],
    model_key: Mapping[str, Any],
    *,
    cache: Cache,
    chunk_size: int = DEFAULT_CHUNK,
    batch_size: int | None = None,
    progress: bool = True,
    executor: Any = None,
    worker_factory: Callable[[], Any] | None = None,
) -> tuple[np.ndarray, list[str], Path]:
    """``(embeddings memmap float16 (n_docs, dim), docids in row order, entry folder)``, built once.

    ``encoder()`` returns a :class:`~retrieval.neural.dense_model.DenseEncoder`; it is only called when
    something must be encoded. With an ``executor`` (:mod:`retrieval.parallel`, e.g. Ray) the missing chunks are
    encoded by its workers, each built by ``worker_factory`` (default ``encoder``; must be picklable for Ray), and
    written here, chunk by chunk, exactly as a local encode writes them.
    """
    key = embeddings_key(cache, dataset, model_key)

    def build(tmp: Path) -> dict[str, Any]:
        started = time.time()
        store = dataset.corpus
        docids = list(store)
        order = _longest_first(store, docids)

        def texts(chunk: list[str]) -> list[str]:
            return [doc_text(doc) for doc in _get_many(store, chunk)]

        scratch = cache.scratch(key)
        cache.sweep_files(scratch, older_than=0)  # chunk writes that died (this build holds the entry's lock)
        plan = {
            "n": len(order),
            "chunk_size": int(chunk_size),
            "order_sha256": hashlib.sha256("\n".join(order).encode("utf-8")).hexdigest(),
        }
        plan_file = scratch / "plan.json"
        try:
            same_plan = json.loads(plan_file.read_text(encoding="utf-8")) == plan
        except (OSError, ValueError):
            same_plan = False
        if not same_plan:
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True, exist_ok=True)
            atomic_write_json(plan_file, plan)
        chunks = [order[i : i + chunk_size] for i in range(0, len(order), chunk_size)]
        done = [_load_chunk(scratch / f"chunk-{i:06d}.npy", len(c)) is not None for i, c in enumerate(chunks)]
        remaining = sum(len(c) for c, ok in zip(chunks, done) if not ok)
        from tqdm.auto import tqdm

        enc = None
        with tqdm(
            total=len(order),
            initial=len(order) - remaining,
            desc=f"encode {dataset.name}",
            unit="doc",
            disable=not progress or remaining == 0,
            file=sys.stderr,
            mininterval=1.0,
            smoothing=0.1,
        ) as bar:
            if executor is not None and getattr(executor, "name", "local") != "local":
                missing = [i for i, ok in enumerate(done) if not ok]
                blocks = _LazyBlocks([chunks[i] for i in missing], texts, batch_size)
                for j, vecs in executor.map(worker_factory or encoder, "encode_documents", blocks):
                    _save_chunk(scratch / f"chunk-{missing[j]:06d}.npy", np.asarray(vecs).astype(np.float16))
                    bar.update(len(chunks[missing[j]]))
            for i, chunk in enumerate(chunks):
                if done[i] or _load_chunk(scratch / f"chunk-{i:06d}.npy", len(chunk)) is not None:
                    continue
                enc = enc or encoder()
                vecs = enc.encode_documents(texts(chunk), batch_size=batch_size, on_batch=bar.update)
                _save_chunk(scratch / f"chunk-{i:06d}.npy", vecs.astype(np.float16))
        dim = None
        for i, chunk in enumerate(chunks):
            arr = _load_chunk(scratch / f"chunk-{i:06d}.npy", len(chunk))
            if arr is None:  # changed or gone since it was checked above: encoded again, never copied in damaged
                enc = enc or encoder()
                arr = enc.encode_documents(texts(chunk), batch_size=batch_size).astype(np.float16)
                _save_chunk(scratch / f"chunk-{i:06d}.npy", arr)
            if dim is None:
                dim = int(arr.shape[1])
                out = np.lib.format.open_memmap(tmp / "embeddings.npy", mode="w+", dtype=np.float16, shape=(len(order), dim))
                row = {d: r for r, d in enumerate(docids)}
            out[[row[d] for d in chunk]] = arr
        if dim is None:
            np.save(tmp / "embeddings.npy", np.zeros((0, 0), dtype=np.float16))
        else:
            out.flush()
            del out
        (tmp / "docids.json").write_text(json.dumps(docids, ensure_ascii=False), encoding="utf-8")
        return {"documents": len(docids), "dim": dim, "encode_seconds": round(time.time() - started, 3), "encoded_now": remaining}

    entry = cache.get_or_build(key, build, info={"dataset": dataset.name, "model": dict(model_key).get("model")})
    shutil.rmtree(cache.root / "_partial" / key.kind / key.digest, ignore_errors=True)
    emb = np.load(entry / "embeddings.npy", mmap_mode="r", allow_pickle=False)
    docids = json.loads((entry / "docids.json").read_text(encoding="utf-8"))
    return emb, docids, entry


def encode_progress(cache: Cache, dataset: BeirDataset, model_key: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(documents encoded, documents in the corpus)`` of the corpus embeddings of ``model_key``: all of them once
    cached; while an encode runs (in this process or another), the documents of the chunks written so far; None
    when no encode has started. Reads the entry's scratch folder only (nothing is loaded or created)."""
    key = embeddings_key(cache, dataset, model_key)
    if (cache.path(key) / MANIFEST).is_file():
        n = len(dataset.corpus)
        return n, n
    scratch = cache.root / "_partial" / key.kind / key.digest
    try:
        plan = json.loads((scratch / "plan.json").read_text(encoding="utf-8"))
        n, size = int(plan["n"]), int(plan["chunk_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    done = 0
    for path in scratch.glob("chunk-*.npy"):  # written atomically: a chunk file is a finished chunk
        try:
            i = int(path.stem.split("-", 1)[1])
        except ValueError:
            continue
        done += max(0, min(size, n - i * size))
    return min(done, n), n


# An embedding chunk is an .npy file followed by this tag and the xxh3 (64-bit, little-endian) of the .npy bytes:
# np.load ignores bytes after the array, and _load_chunk checks them, so a chunk whose bytes changed after it was
# written (a flipped byte, its size and mtime restored) is encoded again rather than copied into the embeddings.
_CHUNK_TAG = b"RKXXH3"
_CHUNK_SUM = 8


def _save_chunk(path: Path, arr: np.ndarray) -> None:
    import xxhash

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    atomic_write_bytes(path, data + _CHUNK_TAG + xxhash.xxh3_64_intdigest(data).to_bytes(_CHUNK_SUM, "little"))


def _load_chunk(path: Path, rows: int) -> np.ndarray | None:
    """The chunk at ``path`` if it is whole (its xxh3 matches) and holds ``rows`` float16 rows, else None."""
    import xxhash

    try:
        raw = path.read_bytes()
    except OSError:
        return None
    end = len(raw) - len(_CHUNK_TAG) - _CHUNK_SUM
    body, tag, digest = raw[:end], raw[end:-_CHUNK_SUM], raw[-_CHUNK_SUM:]
    if end < 0 or tag != _CHUNK_TAG or xxhash.xxh3_64_intdigest(body) != int.from_bytes(digest, "little"):
        return None
    try:
        arr = np.load(io.BytesIO(body), allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return arr if arr.ndim == 2 and arr.shape[0] == rows and arr.dtype == np.float16 else None


# ---- the system ---------------------------------------------------------------------------------
class DenseRetriever(ModelSystem):
    """``dense:<registry id>``: bi-encoder retrieval, exact (default) or FAISS HNSW search."""

    family = "dense"
    explain_label = "Encoding the document's sentences…"
    build_unit = "documents"

    def __init__(
        self,
        info: registry.ModelInfo,
        *,
        hits: int = DEFAULT_HITS,
        index: str = "exact",
        chunk_size: int = DEFAULT_CHUNK,
        backend: str | None = None,
        **model_options: Any,
    ) -> None:
        if index not in INDEXES:
            raise UnknownSystem(f"{info.spec}: index must be one of {INDEXES}, not {index!r}")
        super().__init__(info, **model_options)
        self.backend_info = parse_backend(backend, info.spec)
        self.backend = self.backend_info.name  # torch, onnx, onnx-int8, openvino, openvino-int8
        if self.backend_info.exported:
            from .dense_model import check_exported_options

            try:
                check_exported_options(self.backend_info, self.device_option, self.dtype_option)
            except RetrievalError as exc:
                raise UnknownSystem(f"{info.spec}: {exc}") from None
        self.hits = int(hits)
        self.index = index
        self.chunk_size = int(chunk_size)
        self.spec = join_spec(
            info.spec,
            {
                "hits": hits if hits != DEFAULT_HITS else None,
                "index": index if index != "exact" else None,
                "revision": self.revision_option or None,
                "backend": self.backend if self.backend_info.exported else None,
            },
        )
        how = f", {self.backend}" if self.backend_info.exported else ""
        self.label = f"{info.id} (dense, {info.params_millions:g}M{how})"
        self._encoder = None

    # ---- identity ---------------------------------------------------------------------------
    def _is_t5(self) -> bool:
        return "t5" in self.info.hf_id.lower()

    @property
    def device(self) -> str:
        """An exported backend runs on the CPU whatever the machine has."""
        return "cpu" if self.backend_info.exported else super().device

    def model_key(self) -> dict[str, Any]:
        """What changes the document vectors (the embeddings cache key); an exported backend adds its name, its
        precision and the export recipe (the torch backend adds nothing, so its keys are what they always were)."""
        i = self.info
        key = {
            "model": i.hf_id,
            "revision": self.revision,
            "pooling": i.pooling,
            "normalize": i.normalize,
            "max_length": i.max_length,
            "document_prompt": i.document_prompt,
            "dtype": self.dtype,
        }
        if self.backend_info.exported:
            key.update(backend=self.backend_info.runtime, precision=self.backend_info.precision, export_recipe=RECIPE_VERSION)
            key.update(static_int8_parts(self.backend_info.name))  # static ranges: calibration and SmoothQuant
        return key

    def availability(self) -> tuple[bool, str]:
        ok, why = super().availability()
        if ok and self.backend_info.exported:
            ready, missing = backend_availability(self.backend_info)
            if not ready:
                return False, missing
            why += f"; runs through {self.backend}"
        return ok, why

    def key_parts(self) -> dict[str, Any]:
        return {
            "system": "dense",
            **self.model_key(),
            "similarity": self.info.similarity,
            "query_prompt": self.info.query_prompt,
            "hits": self.hits,
            "remove_query": True,
            "index": self.index,
            "storage": STORAGE,
            "code_version": DENSE_CODE_VERSION,
        }

    def build_progress(self, dataset: BeirDataset, cache: Cache) -> tuple[int, int] | None:
        """Documents of ``dataset`` encoded so far by this model, of all (see :func:`encode_progress`)."""
        return encode_progress(cache, dataset, self.model_key())

    # ---- work -------------------------------------------------------------------------------
    def encoder(self, cache: Cache | None = None):
        if self._encoder is None:
            self._encoder = self.load_model(self.info, self.load_options(cache))
        return self._encoder

    @staticmethod
    def load_model(info: registry.ModelInfo, options: dict[str, Any]):
        """A DenseEncoder for ``info`` (``options``: :meth:`ModelSystem.load_options`)."""
        from .dense_model import DenseEncoder

        return DenseEncoder.from_pretrained(info.id, **options)

    def probe_seconds(self, dataset: BeirDataset, split: str, cache: Cache) -> float | None:
        """Encoding time of the whole corpus, from 48 documents spread over its length order (encoded the way a
        build encodes them), plus the model's load; nothing when the embeddings are already there."""
        import time

        if encode_progress(cache, dataset, self.model_key()) == (len(dataset.corpus), len(dataset.corpus)):
            return 0.0
        ids = list(dataset.corpus)
        lengths = sorted(range(len(ids)), key=lambda i: len(doc_text(dataset.corpus[ids[i]])))
        sample = [ids[lengths[int(j * (len(ids) - 1) / 47)]] for j in range(min(48, len(ids)))]

        def measure(encoder) -> tuple[int, float]:
            texts = [doc_text(d) for d in dataset.corpus.get_many(sample)]
            encoder.encode_documents(texts[:4])  # warm-up: first calls pay one-off costs
            started = time.perf_counter()
            encoder.encode_documents(texts)
            return len(texts), time.perf_counter() - started

        info = self._probe(dataset, cache, measure)
        return info["load_seconds"] + info["per_item_seconds"] * (len(ids) + len(dataset.split_queries(split)) / 4)

    def explain(self, dataset, query, docid, *, cache=None, run=None, qid=None, input_runs=(), progress=False):
        """The query-document cosine and the document's sentences ranked against the query
        (:mod:`retrieval.explain.dense`)."""
        from ..explain.dense import explain_dense

        return explain_dense(dataset, self, query, docid, cache=cache)

    def build_choices(self) -> dict[str, tuple[str, ...]]:
        """The backends this machine can run (their packages installed), torch first."""
        return {"backend": tuple(name for name, b in BACKENDS.items() if backend_availability(b)[0])}

    def load_options(self, cache: Cache | None = None) -> dict[str, Any]:
        """:meth:`ModelSystem.load_options` and the backend (an exported one is built into ``cache``)."""
        return dict(super().load_options(cache), backend=self.backend)

    def reproduce_args(self, *, recorded=None) -> tuple[list[str], list[str]]:
        """The model's flags (spec, ``--backend`` when exported, ``--dtype``, ``--revision`` or a note on where the
        weights came from)."""
        return self._model_args(["--backend", self.backend] if self.backend_info.exported else [], recorded)

    def corpus_embeddings(self, dataset: BeirDataset, *, cache: Cache, progress: bool = True):
        return corpus_embeddings(
            dataset,
            lambda: self.encoder(cache),
            self.model_key(),
            cache=cache,
            chunk_size=self.chunk_size,
            batch_size=self.batch_size,
            progress=progress,
            executor=self.executor,
            worker_factory=self.worker_factory(cache) if self.executor is not None else None,
        )

    def retrieve(self, dataset: BeirDataset, queries: Mapping[str, str], *, cache: Cache, progress: bool = True) -> Run:
        emb, docids, entry = self.corpus_embeddings(dataset, cache=cache, progress=progress)
        qids = list(queries)
        qvecs = self.encoder(cache).encode_queries([queries[q] for q in qids], progress=progress and len(qids) > 50)
        k = min(self.hits + 1, len(docids))  # one extra so that dropping the query's own id still leaves `hits`
        if self.index == "faiss":
            from .vector_search import faiss_search

            scores, idx = faiss_search(qvecs, self._faiss_index(emb, entry, cache), k, similarity=self.info.similarity)
        else:
            from .vector_search import exact_search

            scores, idx = exact_search(qvecs, emb, k, similarity=self.info.similarity, device=self.device)
        records = []
        for row, qid in enumerate(qids):
            kept = [(docids[j], float(s)) for s, j in zip(scores[row], idx[row]) if j >= 0 and docids[j] != qid]
            records.extend((qid, d, s) for d, s in kept[: self.hits])
        return Run.from_records(records, self.spec, family=self.family)

    def _faiss_index(self, emb: np.ndarray, entry: Path, cache: Cache) -> Path:
        from .vector_search import build_faiss_index

        key = cache.key(
            "faiss-index", embeddings=entry.name, similarity=self.info.similarity, index="hnsw", m=32, ef_construction=200
        )
        built = cache.get_or_build(key, lambda tmp: build_faiss_index(emb, tmp / "index.faiss", similarity=self.info.similarity))
        return built / "index.faiss"


def parse_dense(spec: str, **options: Any) -> DenseRetriever:
    base, opts = spec_options(spec, options)
    info = registry.lookup(base.split(":", 1)[1] if ":" in base else base, "dense")
    return DenseRetriever(
        info,
        hits=int_option(opts, "hits", DEFAULT_HITS, 1, 100_000, spec),
        index=str(opts.get("index", "exact")),
        chunk_size=int_option(opts, "chunk_size", DEFAULT_CHUNK, 1, 1 << 20, spec),
        backend=opts.get("backend") or None,
        **model_options(opts, spec),
    )
