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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


# ---- CPU backends: torch float32 (today) against ONNX Runtime / OpenVINO, ours and sentence-transformers' own --------
BACKENDS = ("onnx", "onnx-int8", "openvino", "openvino-int8")
PEERS = ("st-onnx", "st-onnx-qint8", "st-openvino", "st-openvino-f32", "st-openvino-int8-static")


@dataclass
class Contender:
    """One way to encode: ``docs(texts)`` and ``queries(texts)`` -> float32 vectors."""

    name: str
    docs: Callable[[list[str]], np.ndarray]
    queries: Callable[[list[str]], np.ndarray]
    what: str


def sample(dataset, docs: int | None) -> tuple[list[str], list[str]]:
    """``(docids, texts)``: the whole corpus, or ``docs`` documents evenly spaced over the length order (so the
    sample has the corpus's mix of short and long texts)."""
    from retrieval.neural.model_system import doc_text

    ids = list(dataset.corpus)
    texts = [doc_text(d) for d in dataset.corpus.values()]
    if docs and docs < len(ids):
        order = sorted(range(len(ids)), key=lambda i: (len(texts[i]), ids[i]))
        pick = sorted(order[round(j * (len(order) - 1) / (docs - 1))] for j in range(docs)) if docs > 1 else [order[0]]
        ids, texts = [ids[i] for i in pick], [texts[i] for i in pick]
    return ids, texts


def length_slices(texts: list[str], n: int) -> list[list[int]]:
    """``n`` slices of indices, dealt round-robin over the length order: each slice has the same mix of lengths."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[k::n] for k in range(n) if order[k::n]]


def ours(model: str, backend: str, cache) -> Contender:
    from retrieval.neural.dense_model import DenseEncoder

    enc = DenseEncoder.from_pretrained(model, device="cpu", backend=backend, cache=cache)
    what = f"DenseEncoder backend={backend} (batch {enc.batch_size}, token-sorted batches, tokenizer thread)"
    return Contender(backend if backend != "torch" else "torch (today)", enc.encode_documents, enc.encode_queries, what)


class _Shim:
    """What optimum's ``ORTModelForFeatureExtraction`` / ``OVModelForFeatureExtraction`` is to sentence-transformers:
    the transformer module's ``model``, returning ``last_hidden_state`` from a session over a model file."""

    def __new__(cls, run, names, config):
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        class Shim(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.config = config
                self.register_buffer("anchor", torch.zeros(1))  # where sentence-transformers looks for the device

            def forward(self, **features):
                feeds = {n: features[n].numpy() for n in names if n in features}
                return BaseModelOutput(last_hidden_state=torch.from_numpy(run(feeds)))

        return Shim()


def peer(model: str, kind: str, cache, calibration: list[str] | None = None, workdir: Path | None = None) -> Contender:
    """sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` encode, as far as it can run here.

    Its backends load the model through optimum (``optimum[onnxruntime]``, ``optimum-intel``), which cannot be
    installed beside the pinned transformers 5.24 (they need transformers < 4.58 / <= 5.5). What they run is
    reproduced: ``SentenceTransformer.encode`` (its batching, tokenising and pooling) with the transformer module's
    model replaced by a session over the file sentence-transformers would export and load: the plain ONNX export
    (``st-onnx``: ONNX Runtime with default session options, as optimum opens it); ``export_dynamic_quantized_onnx_model(
    "avx512_vnni")`` (``st-onnx-qint8``: per-channel symmetric int8 weights, uint8 activations, every quantisable
    operator); OpenVINO with sentence-transformers' default config (``st-openvino``: on a CPU with bfloat16, OpenVINO
    then computes in bfloat16) and with f32 asked for (``st-openvino-f32``); ``export_static_quantized_openvino_model``
    (``st-openvino-int8-static``: NNCF post-training quantisation with 300 calibration texts; its default calibration
    set, GLUE SST-2, is not here offline, so the first 300 corpus documents are used).
    """
    import onnx

    from retrieval.neural import exported
    from retrieval.neural.dense_model import DenseEncoder, _load_sentence_transformer

    ref = DenseEncoder.from_pretrained(model, device="cpu")
    folder = Path(ref.model[0].model.name_or_path)
    info_normalize = ref.normalize
    st = _load_sentence_transformer(str(folder), "cpu", "float32", "mean", info_normalize)  # a fresh copy to rewire
    st.max_seq_length = ref.max_length
    from retrieval.neural import registry

    info = registry.lookup(model, "dense")
    plain = (
        exported.plain_export(
            st,
            folder,
            exported.BACKENDS["onnx"],
            model=info.hf_id,
            revision=info.revision,
            max_length=ref.max_length,
            cache=cache,
        )
        / "model.onnx"
    )
    names = [i.name for i in onnx.load(str(plain), load_external_data=False).graph.input]
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-peer-"))
    if kind in ("st-onnx", "st-onnx-qint8"):
        import onnxruntime as ort

        path = plain
        if kind == "st-onnx-qint8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            path = workdir / "model_qint8_avx512_vnni.onnx"
            if not path.is_file():
                quantize_dynamic(
                    str(plain),
                    str(path),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    reduce_range=False,
                    extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
                )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def run(feeds):
            return session.run(None, feeds)[0]

        what = f"SentenceTransformer.encode over ONNX Runtime, {path.name}, default session options"
    else:
        import openvino as ov

        core = ov.Core()
        ov_model = core.read_model(str(plain))
        config: dict = {"PERFORMANCE_HINT": "LATENCY"}
        if kind == "st-openvino-f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        if kind == "st-openvino-int8-static":
            nncf = exported._nncf()  # without its usage telemetry

            tok = st.tokenizer

            def items():
                for text in calibration or []:
                    enc = tok([text], truncation=True, max_length=ref.max_length, return_tensors="np")
                    yield {n: enc[n].astype(np.int64) for n in names}

            ov_model = nncf.quantize(
                ov_model, nncf.Dataset(list(items())), model_type=nncf.ModelType.TRANSFORMER, subset_size=300
            )
        compiled = core.compile_model(ov_model, "CPU", config)
        request = compiled.create_infer_request()
        precision = compiled.get_property("INFERENCE_PRECISION_HINT")

        def run(feeds):
            return np.array(request.infer(feeds)[compiled.output(0)], copy=True)

        what = f"SentenceTransformer.encode over OpenVINO ({config}; inference precision {precision})"
    st[0].model = _Shim(run, names, st[0].model.config)

    def encode(texts):
        return np.asarray(
            st.encode(
                list(texts), batch_size=32, normalize_embeddings=info_normalize, convert_to_numpy=True, show_progress_bar=False
            ),
            dtype=np.float32,
        )

    return Contender(kind, encode, encode, what)


def ndcg10(dataset, docids: list[str], emb: np.ndarray, qvecs: np.ndarray, qids: list[str], split: str = "test") -> float:
    """nDCG@10 of exact cosine search, as the dense system does it (vectors stored as float16, the query's own id
    dropped, 1000 hits)."""
    from retrieval.evaluate import evaluate
    from retrieval.neural.vector_search import exact_search
    from retrieval.run import Run

    stored = emb.astype(np.float16)
    k = min(1001, len(docids))
    scores, idx = exact_search(qvecs, stored, k, similarity="cos", device="cpu")
    records = []
    for row, qid in enumerate(qids):
        kept = [(docids[j], float(s)) for s, j in zip(scores[row], idx[row]) if j >= 0 and docids[j] != qid]
        records.extend((qid, d, s) for d, s in kept[:1000])
    ev = evaluate(Run.from_records(records, "bench", family="dense"), dataset.qrels(split))
    return float(ev.summary_frame()["nDCG@10"].iloc[0])


def backends(
    dataset,
    *,
    model: str = MODEL,
    cache=None,
    docs: int | None = 1000,
    slices: int = 8,
    ours_backends: tuple[str, ...] = BACKENDS,
    peers: tuple[str, ...] = PEERS,
    ndcg: bool | None = None,
) -> Section:
    """Encode speed of every contender against today's torch float32 path, interleaved per slice, and (on the whole
    corpus) nDCG@10 of each contender's vectors, queries encoded by the same contender."""
    import os

    import torch

    from retrieval.cache import Cache

    cache = cache or Cache()
    section = Section(f"Dense on the CPU: {model}, backends")
    started = time.perf_counter()
    load = os.getloadavg()
    ids, texts = sample(dataset, docs)
    whole = len(ids) == len(dataset.corpus)
    ndcg = whole if ndcg is None else ndcg
    contenders = [ours(model, "torch", cache)]
    built = {}
    for b in ours_backends:
        t0 = time.perf_counter()
        contenders.append(ours(model, b, cache))
        built[b] = time.perf_counter() - t0
    _, all_texts = sample(dataset, None)
    for p in peers:
        t0 = time.perf_counter()
        contenders.append(peer(model, p, cache, calibration=all_texts[:300]))
        built[p] = time.perf_counter() - t0
    for c in contenders:  # warm-up, untimed
        c.docs(texts[:16])
    parts = length_slices(texts, slices)
    seconds: dict[str, list[float]] = {c.name: [] for c in contenders}
    cpu: dict[str, float] = {c.name: 0.0 for c in contenders}
    vectors: dict[str, np.ndarray] = {c.name: np.zeros((len(texts), 0), np.float32) for c in contenders}
    for i, part in enumerate(parts):
        batch = [texts[j] for j in part]
        rot = i % len(contenders)
        for c in contenders[rot:] + contenders[:rot]:
            c0 = time.process_time()
            t, emb = timed(lambda c=c, batch=batch: c.docs(batch))
            cpu[c.name] += time.process_time() - c0
            seconds[c.name].append(t)
            if vectors[c.name].shape[1] == 0:
                vectors[c.name] = np.zeros((len(texts), emb.shape[1]), np.float32)
            vectors[c.name][part] = emb
        print(
            f"slice {i + 1}/{len(parts)}: " + ", ".join(f"{c.name} {seconds[c.name][-1]:.1f}s" for c in contenders),
            file=sys.stderr,
            flush=True,
        )
    base = contenders[0].name
    ref = vectors[base]
    n = len(texts)
    scores = {}
    if ndcg:
        queries = dataset.split_queries("test")
        qids = list(queries)
        for c in contenders:
            scores[c.name] = ndcg10(dataset, ids, vectors[c.name], c.queries([queries[q] for q in qids]), qids)
    total_base = sum(seconds[base])
    for c in contenders[1:]:
        t = seconds[c.name]
        cos = np.sum(vectors[c.name] * ref, axis=1) / np.maximum(
            np.linalg.norm(vectors[c.name], axis=1) * np.linalg.norm(ref, axis=1), 1e-12
        )
        note = f"total-time ratio {total_base / sum(t):.2f}; cpu-time ratio {cpu[base] / max(cpu[c.name], 1e-9):.2f}; "
        note += f"cosine with torch: min {cos.min():.4f}, mean {cos.mean():.5f}"
        if ndcg:
            note += f"; nDCG@10 {scores[c.name]:.4f} (torch {scores[base]:.4f}, diff {scores[c.name] - scores[base]:+.4f})"
        section.rows.append(
            Row(
                "dense-cpu",
                f"encode {n:,} docs, {model}: docs/s, {c.name}",
                fmt(n / sum(t)),
                fmt(n / total_base),
                median([b / o for b, o in zip(seconds[base], t)]),
                f"speed-up over torch fp32, median of {len(parts)} slices",
                ">= 3" if not c.name.startswith("st-") else "",
                note,
            )
        )
    section.lines += [
        f"load average at start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}; torch threads {torch.get_num_threads()}",
        f"{n:,} documents ({'the whole corpus' if whole else 'evenly spaced over the length order'}), {len(parts)} slices "
        "dealt round-robin over the length order, contenders in rotating order per slice after an untimed warm-up",
        *[f"{c.name}: {c.what}" for c in contenders],
        "load/build seconds (exported models come from the cache once built): "
        + ", ".join(f"{k} {v:.1f}" for k, v in built.items()),
        "seconds per slice: " + "; ".join(f"{k}: " + ", ".join(f"{x:.1f}" for x in v) for k, v in seconds.items()),
    ]
    if ndcg:
        section.lines.append("nDCG@10 (SciFact test): " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    section.lines.append(f"load average at end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    section.seconds = time.perf_counter() - started
    return section


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.dense_bench``: the CPU backends benchmark alone; writes ``bench/results/<date>-<machine>-dense-cpu.md``."""
    import argparse
    import datetime as dt
    import os
    import shlex

    from bench.common import machine_info, ratio_table, render_report, results_path, write_report
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache

    p = argparse.ArgumentParser(prog="python -m bench.dense_bench", description=main.__doc__)
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("BEIR_DATA_DIR", "../shared/beir")))
    p.add_argument("--model", action="append", default=None, help=f"registry id, repeatable (default {MODEL})")
    p.add_argument("--docs", type=int, default=1000, help="documents (0: the whole corpus, which also gives nDCG@10)")
    p.add_argument("--slices", type=int, default=8)
    p.add_argument("--backends", default=",".join(BACKENDS), help="ours, comma-separated")
    p.add_argument("--peers", default=",".join(PEERS), help="sentence-transformers' own, comma-separated ('' for none)")
    p.add_argument("--ndcg", action=argparse.BooleanOptionalAction, default=None, help="default: with the whole corpus")
    p.add_argument("--tag", default="dense-cpu")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    started = dt.datetime.now()
    info = machine_info()
    try:
        import onnxruntime
        import openvino

        info["onnxruntime / openvino"] = f"{onnxruntime.__version__} / {openvino.__version__}"
    except ImportError as exc:
        info["onnxruntime / openvino"] = f"missing: {exc}"
    dataset = BeirDataset(args.data_dir / args.dataset, args.dataset)
    sections = [
        backends(
            dataset,
            model=m,
            cache=Cache(),
            docs=args.docs or None,
            slices=args.slices,
            ours_backends=tuple(b for b in args.backends.split(",") if b),
            peers=tuple(x for x in args.peers.split(",") if x),
            ndcg=args.ndcg,
        )
        for m in (args.model or [MODEL])
    ]
    info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(ratio_table([r for s in sections for r in s.rows]))
    for s in sections:
        print("\n".join(s.lines))
    if not args.no_write:
        command = "python -m bench.dense_bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        out = write_report(
            render_report(sections, info, command.strip(), started), results_path(info, started.date(), tag=args.tag)
        )
        print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
