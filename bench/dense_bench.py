"""Dense: our encode path against a bare ``SentenceTransformer.encode``, and the embedding cache.

Overhead: :meth:`DenseEncoder.encode_documents` (``retrieval.neural.dense_model``, all-MiniLM-L6-v2 on CPU, its
default batch size) against ``SentenceTransformer.encode`` of the *same* loaded model object with the same
batch size and normalisation, over the same texts (``title + " " + text`` of every document). The corpus
is cut into ``chunks`` contiguous slices; per slice both run, in alternating order, after an untimed
warm-up. Overhead = the median over slices of our seconds / theirs (target 1.05 or less): on a shared
machine a load that comes and goes during one slice moves the total-time ratio, not the median; the
total-time ratio is shown beside it, and the embeddings of both are compared.

Cache: the ``dense:all-MiniLM-L6-v2`` system is run twice through ``get_run`` (and its corpus embeddings
read again through a fresh system object) on a small slice of the corpus in a temporary cache, counting
calls of the transformer's ``forward``: the first run must call it, the second none.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .common import Row, Section, fmt, median, timed

MODEL = "all-MiniLM-L6-v2"


@contextlib.contextmanager
def count_forward_calls(model_class) -> Iterator[list[int]]:
    """Count calls of ``model_class.forward`` (all instances) inside the block: yields ``[count]``."""
    counter = [0]
    original = model_class.forward

    def forward(self, *args, **kwargs):
        counter[0] += 1
        return original(self, *args, **kwargs)

    model_class.forward = forward
    try:
        yield counter
    finally:
        model_class.forward = original


def encoder_pair(device: str = "cpu"):
    """(our DenseEncoder, the bare encode callable of the same SentenceTransformer)."""
    from retrieval.neural.dense_model import DenseEncoder

    ours = DenseEncoder.from_pretrained(MODEL, device=device)
    model = ours.model

    def bare(texts):
        return model.encode(
            list(texts),
            batch_size=ours.batch_size,
            normalize_embeddings=ours.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    return ours, bare


def write_subset(dataset, folder: Path, docs: int, queries: int = 10, split: str = "test") -> Path:
    """A BEIR folder with the first ``docs`` documents and ``queries`` judged queries (qrels kept inside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    docids = list(dataset.corpus)[:docs]
    keep = set(docids)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for d in docids:
            doc = dataset.corpus[d]
            fh.write(json.dumps({"_id": d, "title": doc.title, "text": doc.text}) + "\n")
    texts = dataset.split_queries(split)
    qids = list(texts)[:queries]
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for q in qids:
            fh.write(json.dumps({"_id": q, "text": texts[q]}) + "\n")
    judged = dataset.qrels(split).by_query
    lines = ["query-id\tcorpus-id\tscore"]
    for q in qids:
        rel = [(d, g) for d, g in judged.get(q, {}).items() if d in keep] or [(docids[0], 0)]
        lines += [f"{q}\t{d}\t{g}" for d, g in rel]
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def cache_check(dataset, docs: int = 300) -> dict[str, int]:
    """Model forward calls of a first run, a second run and a re-read of the corpus embeddings."""
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache
    from retrieval.runner import get_run
    from retrieval.systems import parse_system

    calls = {}
    with tempfile.TemporaryDirectory(prefix="bench-dense-") as tmp:
        sub = BeirDataset(write_subset(dataset, Path(tmp) / "data" / "subset", docs), "subset")
        cache = Cache(Path(tmp) / "cache")
        with count_forward_calls(_model_class()) as counter:
            get_run(sub, "test", parse_system(f"dense:{MODEL}", device="cpu"), cache=cache, progress=False)
            calls["first run"] = counter[0]
            get_run(sub, "test", parse_system(f"dense:{MODEL}", device="cpu"), cache=cache, progress=False)
            calls["second run"] = counter[0] - calls["first run"]
            before = counter[0]
            parse_system(f"dense:{MODEL}", device="cpu").corpus_embeddings(sub, cache=cache, progress=False)
            calls["embeddings re-read"] = counter[0] - before
    return calls


def _model_class():
    """The transformers class all-MiniLM-L6-v2 runs on (BertModel)."""
    from transformers import BertModel

    return BertModel


def run(dataset, *, cache=None, docs: int | None = None, chunks: int = 16, cache_docs: int = 300) -> Section:
    """Overhead ratio of our encode path over the corpus, and the cache check."""
    import torch

    from retrieval.neural.model_system import doc_text

    section = Section("Dense")
    started = time.perf_counter()
    texts = [doc_text(d) for d in dataset.corpus.values()]
    if docs:
        texts = texts[:docs]
    ours, bare = encoder_pair("cpu")
    ours.encode_documents(texts[:64])  # warm-up, untimed
    bare(texts[:64])
    size = -(-len(texts) // chunks)
    slices = [texts[i : i + size] for i in range(0, len(texts), size)]
    t_ours, t_bare, e_ours, e_bare = [], [], [], []
    for i, part in enumerate(slices):
        steps = [("ours", lambda p=part: ours.encode_documents(p)), ("bare", lambda p=part: bare(p))]
        for name, fn in steps if i % 2 == 0 else steps[::-1]:
            seconds, emb = timed(fn)
            (t_ours if name == "ours" else t_bare).append(seconds)
            (e_ours if name == "ours" else e_bare).append(np.asarray(emb, dtype=np.float32))
    total_ours, total_bare = sum(t_ours), sum(t_bare)
    diff = float(np.max(np.abs(np.concatenate(e_ours) - np.concatenate(e_bare))))
    per_slice = median([o / b for o, b in zip(t_ours, t_bare)])
    n = len(texts)
    section.rows.append(
        Row(
            "dense",
            f"encode {n:,} docs, {MODEL}, CPU: docs/s",
            fmt(n / total_ours),
            fmt(n / total_bare),
            per_slice,
            f"overhead: time ours/ST.encode, median of {len(slices)} slices",
            "<= 1.05",
            f"total-time ratio {total_ours / total_bare:.3f}; max |emb diff| {diff:.1e}",
        )
    )
    calls = cache_check(dataset, cache_docs)
    ok = calls["first run"] > 0 and calls["second run"] == 0 and calls["embeddings re-read"] == 0
    section.rows.append(
        Row(
            "dense",
            f"model calls: first run / second run / embeddings re-read ({cache_docs} docs)",
            f"{calls['first run']} / {calls['second run']} / {calls['embeddings re-read']}",
            "",
            None,
            "second run from cache",
            "0 calls",
            "met" if ok else "MISSED",
        )
    )
    section.lines += [
        f"ours: DenseEncoder.encode_documents (batch {ours.batch_size}, max_length {ours.max_length}, "
        f"normalize={ours.normalize}); "
        f"bare: SentenceTransformer.encode on the same model object, same batch size; torch threads {torch.get_num_threads()}",
        f"seconds per slice ({len(slices)} slices, order alternating), ours: {', '.join(f'{t:.1f}' for t in t_ours)}; "
        f"bare: {', '.join(f'{t:.1f}' for t in t_bare)}",
    ]
    section.seconds = time.perf_counter() - started
    return section
