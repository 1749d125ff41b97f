"""Server time of a warm Compare rerun (not a test: a measurement to report).

Runs ``pages/compare.py`` headless with Streamlit's AppTest (the real script, session state,
caches and widgets, in this process, no browser), once cold, then times warm reruns:

* ``same view``: rerun with nothing changed (what a widget interaction that changes nothing costs);
* ``new query``: switch to a query not shown before (runs, lookups and evaluations already cached).

"server" is the time Streamlit's script runner spends in one run (``ScriptRunner._run_script``:
executing the page and producing every element), timed inside the runner thread. "AppTest" is
the wall time of ``AppTest.run()``, which adds AppTest's polling and element-tree parsing. As in a
server (and unlike plain AppTest), the compiled page is kept between runs.
Runs are built into the cache first (not timed).

Example:
    BEIR_DATA_DIR=../shared/beir python bench/app_latency.py --systems bm25-flat,bm25-multifield,dense:all-MiniLM-L6-v2
    BEIR_DATA_DIR=../shared/beir python bench/app_latency.py --systems bm25-flat,bm25-multifield --upload other.trec
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--split", default="test")
    parser.add_argument("--systems", default="bm25-flat,bm25-multifield,dense:all-MiniLM-L6-v2", help="comma-separated specs")
    parser.add_argument("--upload", action="append", default=[], help="a TREC run file to add as one more column (repeatable)")
    parser.add_argument("--reruns", type=int, default=30)
    parser.add_argument("--k", type=int, default=10, help="documents per column")
    parser.add_argument("--data-dir", default=os.environ.get("BEIR_DATA_DIR") or str(ROOT.parent / "shared" / "beir"))
    parser.add_argument("--cache-dir", default=os.environ.get("RETRIEVAL_CACHE_DIR"))
    args = parser.parse_args(argv)

    os.environ["BEIR_DATA_DIR"] = args.data_dir
    if args.cache_dir:
        os.environ["RETRIEVAL_CACHE_DIR"] = args.cache_dir
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    from streamlit.testing.v1 import AppTest

    server_ms: list[float] = []
    original = ScriptRunner._run_script

    def timed(self, rerun_data):
        t = time.perf_counter()
        try:
            return original(self, rerun_data)
        finally:
            server_ms.append((time.perf_counter() - t) * 1000)

    ScriptRunner._run_script = timed
    # AppTest makes a fresh ScriptCache (so recompiles the page) on every run; a server keeps one.
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    shared_script_cache = ScriptCache()
    app_test_module.ScriptCache = lambda: shared_script_cache

    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.errors import RetrievalError
    from retrieval.runner import get_run
    from retrieval.systems import parse_system

    ds = open_dataset(args.dataset, args.data_dir, download=False)
    cache = Cache()
    specs = [s for s in args.systems.split(",") if s]
    for spec in specs:
        try:
            system = parse_system(spec)
            ok, message = system.availability()
        except RetrievalError as exc:
            ok, message = False, str(exc)
        if not ok:
            print(f"{spec}: not available here ({message}); drop it from --systems or use --upload", file=sys.stderr)
            return 2
        started = time.perf_counter()
        get_run(ds, args.split, system, cache=cache, progress=True)
        print(f"run ready: {spec} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)

    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=600)
    qids = ds.qrels(args.split).qids
    at.query_params.update({"dataset": args.dataset, "split": args.split, "systems": ",".join(specs), "qid": qids[0]})
    started = time.perf_counter()
    at.run()
    cold = time.perf_counter() - started
    for path in args.upload:
        at.file_uploader(key="w_upload").upload(Path(path).name, Path(path).read_bytes()).run()
    at.select_slider(key="w_k").set_value(args.k).run()
    if at.exception:
        print(f"the page raised: {at.exception[0].value}", file=sys.stderr)
        return 1
    columns = at.multiselect(key="w_systems").value
    for _ in range(3):  # warm up
        at.run()

    same, same_server = [], []
    for _ in range(args.reruns):
        server_ms.clear()
        t = time.perf_counter()
        at.run()
        same.append((time.perf_counter() - t) * 1000)
        same_server.append(sum(server_ms))
    new, new_server = [], []
    for qid in qids[1 : args.reruns + 1]:
        at.query_params["qid"] = qid
        server_ms.clear()
        t = time.perf_counter()
        at.run()
        new.append((time.perf_counter() - t) * 1000)
        new_server.append(sum(server_ms))
    if at.exception:
        print(f"the page raised: {at.exception[0].value}", file=sys.stderr)
        return 1

    print(f"Compare on {args.dataset}/{args.split}, {len(columns)} columns ({', '.join(columns)}), {args.k} documents each")
    print(f"cold first run: {cold * 1000:.0f} ms (loads data, runs, evaluations)")
    rows = (
        ("warm rerun, same view", "server", same_server),
        ("warm rerun, same view", "AppTest", same),
        ("warm rerun, new query", "server", new_server),
        ("warm rerun, new query", "AppTest", new),
    )
    for name, kind, values in rows:
        print(
            f"{name:22s} {kind:8s} p50 {statistics.median(values):6.1f} ms   p90 {percentile(values, 0.9):6.1f} ms   "
            f"min {min(values):6.1f} ms   n={len(values)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
