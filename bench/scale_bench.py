"""How the costs grow with the corpus: open, BM25 index, BM25 search, Compare's first ranking.

For each N (default 100k and 1M) a tool writes a BEIR folder with N documents made from SciFact's
(the originals first, with their ids, so the qrels hold; then copies with new ids ``<id>-r<j>``)
and SciFact's queries and test qrels, into a temporary folder (never into the data folder or git).
Each step runs in a fresh Python process, so its peak resident memory (``ru_maxrss``; a child JVM
counted apart) is its own:

* ``open (first)``: hash the files and build the document store (once per dataset);
* ``open``: what every later process pays: ``BeirDataset`` + ``corpus`` + ``queries`` + test qrels
  (checked against the ids) with the store cached (target at 1M: <= 2 s and <= 500 MB);
* ``index``: the BM25 flat index (a child JVM);
* ``search``: 300 test queries at k=1000 with ``BM25.retrieve`` (first call starts the JVM; then warm);
* ``compare``: ``pages/compare.py`` under Streamlit's AppTest with the run cached: time until the
  first ranked row (the compact view, the default) is on the page (target at 1M: <= 5 s).

    python -m bench --only scale --scale-sizes 100000            # via the runner (writes bench/results/)
    python bench/scale_bench.py --sizes 100000 --keep             # alone, prints the table
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Row, Section  # noqa: E402

SPLIT = "test"


# ---- the corpus tool -----------------------------------------------------------------------------
def make_corpus(source: Path, n: int, out: Path) -> Path:
    """A BEIR folder ``out`` with ``n`` documents built from ``source`` (see the module doc)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    docs = []
    with open(source / "corpus.jsonl", encoding="utf-8-sig") as fh:
        for line in fh:
            if line.strip():
                docs.append(json.loads(line))
    written = 0
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        copy = 0
        while written < n:
            for d in docs:
                if written >= n:
                    break
                new = dict(d) if copy == 0 else {**d, "_id": f"{d['_id']}-r{copy}"}
                fh.write(json.dumps(new, ensure_ascii=False) + "\n")
                written += 1
            copy += 1
    shutil.copyfile(source / "queries.jsonl", out / "queries.jsonl")
    shutil.copyfile(source / "qrels" / f"{SPLIT}.tsv", out / "qrels" / f"{SPLIT}.tsv")
    return out


# ---- one step, in its own process ------------------------------------------------------------------
def _rss_mb(who: int) -> float:
    """Peak resident memory in MB. For this process: ``VmHWM`` of /proc/self/status, which starts
    afresh at exec (``ru_maxrss`` keeps the high-water mark of the forking parent's copy, here the
    benchmark runner's ~300 MB). For children: ``ru_maxrss`` of the largest (the JVM); it may carry
    this process's size at the fork."""
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
    return resource.getrusage(who).ru_maxrss / 1024


def step(name: str, folder: Path, cache_dir: Path) -> dict:
    """Run one step here and return its measurements (called in a fresh process by :func:`run_step`)."""
    out: dict = {"step": name}
    t0 = time.perf_counter()
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache

    out["import_s"] = time.perf_counter() - t0
    cache = Cache(cache_dir)
    if name in ("open-first", "open"):
        t = time.perf_counter()
        ds = BeirDataset(folder, folder.name, cache=cache)
        n = len(ds.corpus)
        _ = ds.queries  # parse the queries too: part of opening
        qrels = ds.qrels(SPLIT)
        out["seconds"] = time.perf_counter() - t
        out["documents"] = n
        out["judged"] = len(qrels.frame)
        first = qrels.frame["docid"].iloc[0]
        out["sample_title"] = ds.corpus[first].title[:40]
    elif name == "index":
        from retrieval.bm25 import build_index

        ds = BeirDataset(folder, folder.name, cache=cache)
        _ = ds.corpus  # open the store outside the timed part
        t = time.perf_counter()
        index = build_index(ds, "flat", cache=cache, progress=False)
        out["seconds"] = time.perf_counter() - t
        out["index_mb"] = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 1e6
    elif name == "search":
        from retrieval.bm25 import BM25
        from retrieval.evaluate import evaluate
        from retrieval.runner import get_run

        ds = BeirDataset(folder, folder.name, cache=cache)
        queries = ds.split_queries(SPLIT)
        system = BM25("flat")
        t = time.perf_counter()  # the first search in a process (JVM start included), cached for Compare
        run = get_run(ds, SPLIT, system, cache=cache, progress=False)
        out["seconds"] = time.perf_counter() - t
        t = time.perf_counter()  # the same again, JVM warm
        system.retrieve(ds, queries, cache=cache, progress=False, k=1000)
        out["warm_seconds"] = time.perf_counter() - t
        out["queries"], out["hits"] = len(queries), len(run)
        out["ndcg@10"] = evaluate(run, ds.qrels(SPLIT), ["nDCG@10"]).mean["nDCG@10"]
    elif name == "compare":
        out.update(_compare(folder, cache_dir))
    else:
        raise ValueError(name)
    out["rss_mb"] = _rss_mb(resource.RUSAGE_SELF)
    out["child_rss_mb"] = _rss_mb(resource.RUSAGE_CHILDREN)
    return out


def _compare(folder: Path, cache_dir: Path) -> dict:
    # The page finds data and cache through the environment (this step runs in its own process).
    os.environ["BEIR_DATA_DIR"] = str(folder.parent)
    os.environ["RETRIEVAL_CACHE_DIR"] = str(cache_dir)
    from streamlit.testing.v1 import AppTest

    from retrieval.beir import load_qrels

    qid = load_qrels(folder / "qrels" / f"{SPLIT}.tsv").qids[0]
    # The first row of the compact view (the default): '<details class="rk-row ..." data-docid="ID"><summary>...#1<'
    row = re.compile(r'<details class="rk-row [^"]*" data-docid="([^"]*)"><summary><span class="rk-r">#1</span>')
    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=600)
    at.query_params.update({"dataset": folder.name, "split": SPLIT, "systems": "bm25-flat", "qid": qid})
    t = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"the Compare page raised: {at.exception[0].value}")
    first = [m.group(1) for el in at.main.get("html") if (m := row.search(el.proto.body))]
    if not first:
        raise RuntimeError("the Compare page showed no ranked row")
    t = time.perf_counter()
    at.run()
    return {"seconds": seconds, "warm_seconds": time.perf_counter() - t, "first_doc": html.unescape(first[0])}


def run_step(name: str, folder: Path, cache_dir: Path, nice: int = 0) -> dict:
    """:func:`step` in a fresh Python process; its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--folder", str(folder), "--cache", str(cache_dir)]
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"scale step {name} on {folder.name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t
    return result


# ---- the benchmark ---------------------------------------------------------------------------------
STEPS = ("open-first", "open", "index", "search", "compare")
TARGETS_1M = {"open": (2.0, 500.0), "compare": (5.0, None)}


def run(dataset, *, sizes: list[int], workdir: Path | None = None, keep: bool = False, nice: int = 0) -> Section:
    section = Section("Scale")
    started = time.perf_counter()
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        for n in sizes:
            label = f"{n // 1000}k" if n < 1_000_000 else f"{n / 1e6:g}M"
            folder = base / "beir" / f"scifact-{label}"
            cache_dir = base / f"cache-{label}"
            t = time.perf_counter()
            if not (folder / "corpus.jsonl").is_file():
                make_corpus(Path(dataset.path), n, folder)
            made = time.perf_counter() - t
            size_mb = (folder / "corpus.jsonl").stat().st_size / 1e6
            section.lines.append(f"N={n:,}: corpus.jsonl {size_mb:,.0f} MB written in {made:.1f} s to {folder}")
            for name in STEPS:
                r = run_step(name, folder, cache_dir, nice)
                print(
                    f"   scale N={n:,} {name}: {r['seconds']:.2f} s, peak RSS {r['rss_mb']:.0f} MB", file=sys.stderr, flush=True
                )
                section.lines.append(
                    f"N={n:,} {name}: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
                )
                target = ""
                if n >= 1_000_000 and name in TARGETS_1M:
                    secs, mb = TARGETS_1M[name]
                    target = f"<= {secs:g} s" + (f", <= {mb:g} MB" if mb else "")
                extra = ""
                if name == "search":
                    extra = f"; warm {r['warm_seconds']:.2f} s; {r['hits']:,} hits, nDCG@10 {r['ndcg@10']:.4f}"
                elif name == "compare":
                    extra = f"; warm rerun {r['warm_seconds']:.2f} s; first card doc {r['first_doc']}"
                elif name == "index":
                    extra = f"; index {r['index_mb']:.0f} MB"
                child = f" (+ largest child process {r['child_rss_mb']:.0f} MB)" if r.get("child_rss_mb", 0) > 1 else ""
                section.rows.append(
                    Row(
                        "scale",
                        f"N={label} {name}: s / peak RSS MB",
                        f"{r['seconds']:.2f} s / {r['rss_mb']:.0f} MB{child}",
                        "",
                        None,
                        "absolute",
                        target,
                        note=f"imports {r['import_s']:.1f} s{extra}",
                    )
                )
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            section.lines.append(f"kept: {base}")
    section.lines.append(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    section.seconds = time.perf_counter() - started
    return section


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--step", choices=STEPS)
    p.add_argument("--folder", type=Path)
    p.add_argument("--cache", type=Path)
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("BEIR_DATA_DIR") or ROOT.parent / "shared" / "beir"))
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--nice", type=int, default=0)
    args = p.parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step, args.folder, args.cache)))
        return 0
    from bench.common import ratio_table
    from retrieval.beir import BeirDataset

    section = run(
        BeirDataset(args.data_dir / "scifact", "scifact"),
        sizes=[int(s) for s in args.sizes.split(",")],
        workdir=args.workdir,
        keep=args.keep,
        nice=args.nice,
    )
    print(ratio_table(section.rows))
    print("\n".join(section.lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
