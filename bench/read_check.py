"""What checking a cache entry on read costs, against the read it guards (issue 29, item 4).

Each row times the check (``Cache.verify`` as the reader calls it, or the chunk's xxh3) and the read it guards,
interleaved in one process on the same files, and reports check / read in %. From the retrieval cache
(``RETRIEVAL_CACHE_DIR``): SciFact's ``bm25-flat`` run and Lucene index (built if missing, seconds), the document
store, and all-MiniLM-L6-v2's SciFact embeddings when they are cached (the row is skipped otherwise: encoding the
corpus takes minutes on a small CPU; ``python -m retrieval run --system dense:all-MiniLM-L6-v2`` makes them).

    BEIR_DATA_DIR=../shared/beir python -m bench.read_check [--rounds 20] [--no-write]

The levels (``retrieval/cache.py``): a run is checked on every read ("read"), a Lucene index and embeddings on the
first read in a process ("process": the read it guards is the first search), the document store only when a
file's stamp changed ("stamp": its reader checks structure; a full checksum is shown against its open for scale).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import zlib
from pathlib import Path

import numpy as np
import xxhash

from bench.common import Row, Section, interleaved, machine_info, median, render_report, results_path, write_report


def _pct(check: list[float], read: list[float]) -> tuple[str, str, float]:
    c, r = median(check), median(read)
    return f"{c * 1e3:.2f} ms", f"{r * 1e3:.1f} ms", c / r


def _row(bench: str, metric: str, times: dict[str, list[float]], note: str = "", target: str = "<= 0.05") -> Row:
    ours, base, ratio = _pct(times["check"], times["read"])
    return Row(bench, metric, ours, base, ratio, "check time / read time", target, note)


def _forget():
    from retrieval import cache as cache_module

    cache_module._CHECKED.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    info = machine_info()  # load average read first
    from retrieval.beir import open_dataset
    from retrieval.bm25 import BM25, _batch_searcher, build_index
    from retrieval.cache import Cache, xxh3_file
    from retrieval.docstore import DocStore, store_key
    from retrieval.runner import RUN_CHECK, RUN_FILE, get_run, read_run_parquet, run_key

    cache = Cache()
    ds = open_dataset("scifact", download=False)
    section = Section("read checks")
    rounds = args.rounds

    # ---- a run: xxh3 on every read, against reading the parquet into a Run --------------------------------------
    system = BM25("flat")
    run = get_run(ds, "test", system, cache=cache, progress=False)
    key = run_key(cache, ds, "test", system)
    entry = cache.path(key)
    size = (entry / RUN_FILE).stat().st_size
    times = interleaved(
        {"check": lambda: cache.verify(entry, key, check=RUN_CHECK), "read": lambda: read_run_parquet(entry / RUN_FILE)}, rounds
    )
    section.rows.append(_row("run", f"bm25-flat SciFact ({len(run):,} rows, {size / 1e6:.1f} MB parquet)", times))

    def crc32_of_run() -> int:
        crc = 0
        with open(entry / RUN_FILE, "rb") as fh:
            while block := fh.read(1 << 22):
                crc = zlib.crc32(block, crc)
        return crc

    times = interleaved({"check": crc32_of_run, "read": lambda: read_run_parquet(entry / RUN_FILE)}, rounds)
    section.rows.append(_row("run", "alternative: zlib's crc32 of the file instead of xxh3", times, "not used", ""))
    # the alternative: parquet page checksums, written and verified by pyarrow
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(run.frame, preserve_index=False)
    tmp = Path(cache.root) / "_bench"
    tmp.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp / "with-crc.parquet", write_page_checksum=True)
    pq.write_table(table, tmp / "plain.parquet")
    pages = interleaved(
        {
            "check": lambda: pq.read_table(tmp / "with-crc.parquet", page_checksum_verification=True).to_pandas(),
            "read": lambda: pq.read_table(tmp / "plain.parquet").to_pandas(),
        },
        rounds,
    )
    c, r = median(pages["check"]), median(pages["read"])
    section.rows.append(
        Row(
            "run",
            "alternative: parquet page CRCs (write_page_checksum / page_checksum_verification)",
            f"{c * 1e3:.1f} ms",
            f"{r * 1e3:.1f} ms",
            c / r - 1,
            "extra read time / read time",
            "",
            "pages only: the footer is not covered; not used",
        )
    )

    # ---- the Lucene index: xxh3 of its files once per process, against the first search in a process -------------
    index = build_index(ds, "flat", cache=cache, progress=False)
    ientry = index.parent
    queries = ds.split_queries("test")
    isize = sum(p.stat().st_size for p in index.iterdir() if p.is_file())

    def first_search():
        _batch_searcher.cache_clear()  # the searcher opens the index again: what a new process does
        return system._search_batch(index, queries, 1000, False)

    def index_check():
        _forget()
        return cache.verify(ientry, check="process")

    times = interleaved({"check": index_check, "read": first_search}, rounds)
    section.rows.append(
        _row("Lucene index", f"first read in a process ({isize / 1e6:.1f} MB; open + 300 queries at k=1000)", times)
    )
    later = interleaved(
        {
            "check": lambda: cache.verify(ientry, check="process"),
            "read": lambda: system._search_batch(index, {"q": "vitamin D"}, 10, False),
        },
        rounds,
    )
    section.rows.append(
        _row(
            "Lucene index",
            "later reads in the process (manifest and stats only; one live query)",
            later,
            "the same calls as before this change",
            "",
        )
    )

    # ---- the document store: stamps (its reader checks structure); a full xxh3 shown for scale ------------------
    store_entry = cache.path(store_key(cache, _corpus_sha(ds)))
    ssize = sum(p.stat().st_size for p in store_entry.rglob("*") if p.is_file())

    def stamp_check():
        _forget()
        return cache.verify(store_entry, None, check="stamp")

    times = interleaved({"check": stamp_check, "read": lambda: DocStore(store_entry)}, rounds)
    section.rows.append(
        _row("document store", f"stamp check ({ssize / 1e6:.1f} MB store) vs open", times, "as before this change", "")
    )
    full = interleaved(
        {"check": lambda: [xxh3_file(p) for p in store_entry.rglob("*") if p.is_file()], "read": lambda: DocStore(store_entry)},
        rounds,
    )
    section.rows.append(_row("document store", "(not done) a full xxh3 vs open", full, "why the store is on 'stamp'", ""))

    # ---- embeddings: xxh3 once per process, against the first exact search ------------------------------------
    from retrieval.neural.dense import _CHUNK_TAG, _load_chunk, _save_chunk, embeddings_key
    from retrieval.systems import parse_system

    dense = parse_system("dense:all-MiniLM-L6-v2", device="cpu")
    ekey = embeddings_key(cache, ds, dense.model_key())
    eentry = cache.path(ekey)
    if (eentry / "manifest.json").is_file():
        from retrieval.neural.vector_search import exact_search

        qvecs = dense.encoder(cache).encode_queries(list(queries.values()))
        esize = (eentry / "embeddings.npy").stat().st_size

        def first_dense():
            emb = np.load(eentry / "embeddings.npy", mmap_mode="r", allow_pickle=False)
            return exact_search(qvecs, emb, 1001, similarity=dense.info.similarity, device="cpu")

        def emb_check():
            _forget()
            return cache.verify(eentry, ekey, check="process")

        times = interleaved({"check": emb_check, "read": first_dense}, rounds)
        section.rows.append(
            _row("embeddings", f"first read in a process ({esize / 1e6:.1f} MB; 300 queries, exact, k=1001)", times)
        )
        dim = int(np.load(eentry / "embeddings.npy", mmap_mode="r").shape[1])
    else:
        section.lines.append("embeddings: all-MiniLM-L6-v2's SciFact embeddings are not cached here, row skipped")
        dim = 384
    # an embedding chunk (1,024 rows): its xxh3 on every read, against reading it
    chunk = tmp / "chunk-000000.npy"
    _save_chunk(chunk, np.random.default_rng(0).standard_normal((1024, dim)).astype(np.float16))
    raw = chunk.read_bytes()
    body = raw[: -len(_CHUNK_TAG) - 8]
    times = interleaved(
        {
            "check": lambda: xxhash.xxh3_64_intdigest(body),
            "read": lambda: np.load(io.BytesIO(chunk.read_bytes()), allow_pickle=False),
        },
        rounds,
    )
    section.rows.append(
        _row(
            "embedding chunk",
            f"xxh3 on every read (1,024 x {dim} float16, {len(raw) / 1e6:.2f} MB)",
            times,
            "read once per resumed build; encoding it takes seconds",
            "",
        )
    )
    assert _load_chunk(chunk, 1024) is not None
    section.lines.append(
        "embedding chunk: read back only when an interrupted encode resumes, against minutes of encoding; "
        "the xxh3 is measured against the read alone"
    )
    section.lines.append(
        "a Cache.verify row times the whole check: reading the manifest and stat'ing the files (which every read did "
        "before this change too, for the size check) and hashing them"
    )
    section.lines.append(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    section.seconds = (dt.datetime.now() - started).total_seconds()
    text = render_report([section], info, "python -m bench.read_check " + " ".join(argv or sys.argv[1:]), started)
    print(text)
    if not args.no_write:
        print(f"wrote {write_report(text, results_path(info, tag='read-check'))}", file=sys.stderr)
    return 0


def _corpus_sha(ds) -> str:
    from retrieval.beir import file_sha256

    return file_sha256(ds.path / "corpus.jsonl", ds.cache.root)


if __name__ == "__main__":
    raise SystemExit(main())
