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
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402  (this file also runs as a script)


class LatencyError(Exception):
    """The measurement could not be made: ``code`` is the exit status ``main`` returns (2 bad input, 1 page error)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Latency:
    """What one measurement found: the cold first run, and per row name the warm rerun times in ms."""

    columns: list[str]
    cold_ms: float
    rows: dict[str, list[float]] = field(default_factory=dict)  # e.g. "warm rerun, same view server": [ms, ...]


@contextlib.contextmanager
def _timed_script_runs(server_ms: list[float]):
    """Time ``ScriptRunner._run_script`` into ``server_ms``, and keep one compiled page between AppTest runs
    (AppTest makes a fresh ScriptCache on every run; a server keeps one). Both patches are undone on exit."""
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original_run, original_cache = ScriptRunner._run_script, app_test_module.ScriptCache

    def timed(self, rerun_data):
        t = time.perf_counter()
        try:
            return original_run(self, rerun_data)
        finally:
            server_ms.append((time.perf_counter() - t) * 1000)

    shared_script_cache = ScriptCache()
    ScriptRunner._run_script = timed
    app_test_module.ScriptCache = lambda: shared_script_cache
    try:
        yield
    finally:
        ScriptRunner._run_script, app_test_module.ScriptCache = original_run, original_cache


def measure(
    *,
    dataset: str = "scifact",
    split: str = "test",
    systems: Sequence[str],
    reruns: int = 30,
    k: int = 10,
    uploads: Sequence[str | Path] = (),
    progress: bool = True,
) -> Latency:
    """Build the runs (not timed), then time the Compare page cold once and warm ``reruns`` times per row.

    Reads the data and cache folders from ``BEIR_DATA_DIR`` / ``RETRIEVAL_CACHE_DIR`` as the page does.
    """
    from streamlit.testing.v1 import AppTest

    from retrieval.beir import open_dataset
    from retrieval.cache import Cache
    from retrieval.errors import RetrievalError
    from retrieval.runner import get_run
    from retrieval.systems import parse_system

    ds = open_dataset(dataset, os.environ.get("BEIR_DATA_DIR"), download=False)
    cache = Cache()
    specs = [s for s in systems if s]
    for spec in specs:
        try:
            system = parse_system(spec)
            ok, message = system.availability()
        except RetrievalError as exc:
            ok, message = False, str(exc)
        if not ok:
            raise LatencyError(f"{spec}: not available here ({message}); drop it from --systems or use --upload", 2)
        started = time.perf_counter()
        get_run(ds, split, system, cache=cache, progress=progress)
        if progress:
            print(f"run ready: {spec} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)

    server_ms: list[float] = []
    with _timed_script_runs(server_ms):
        at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=600)
        qids = ds.qrels(split).qids
        at.query_params.update({"dataset": dataset, "split": split, "systems": ",".join(specs), "qid": qids[0], "k": str(k)})
        if uploads:  # the sidebar's upload form, opened
            from pages._choice import state_key

            at.session_state[state_key("w_upload_open")] = True
        started = time.perf_counter()
        at.run()
        cold = time.perf_counter() - started
        for path in uploads:
            at.file_uploader(key="w_upload").upload(Path(path).name, Path(path).read_bytes()).run()
        if at.exception:
            raise LatencyError(f"the page raised: {at.exception[0].value}", 1)
        picker = next(el for el in at.main.get("bidi_component") if el.proto.component_name == "rk_systems")
        result = Latency(columns=list(json.loads(picker.proto.json)["chosen"]), cold_ms=cold * 1000)
        for _ in range(3):  # warm up
            at.run()

        def timed_run(name: str) -> None:
            server_ms.clear()
            t = time.perf_counter()
            at.run()
            result.rows.setdefault(f"{name} server", []).append(sum(server_ms))
            result.rows.setdefault(f"{name} AppTest", []).append((time.perf_counter() - t) * 1000)

        for _ in range(reruns):
            timed_run("warm rerun, same view")
        for qid in qids[1 : reruns + 1]:
            at.query_params["qid"] = qid
            timed_run("warm rerun, new query")
        if at.exception:
            raise LatencyError(f"the page raised: {at.exception[0].value}", 1)
    return result


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
    try:
        result = measure(
            dataset=args.dataset,
            split=args.split,
            systems=args.systems.split(","),
            reruns=args.reruns,
            k=args.k,
            uploads=args.upload,
        )
    except LatencyError as exc:
        print(exc, file=sys.stderr)
        return exc.code

    print(
        f"Compare on {args.dataset}/{args.split}, {len(result.columns)} columns ({', '.join(result.columns)}), "
        f"{args.k} documents each"
    )
    print(f"cold first run: {result.cold_ms:.0f} ms (loads data, runs, evaluations)")
    for row, values in result.rows.items():
        name, kind = row.rsplit(" ", 1)
        print(
            f"{name:22s} {kind:8s} p50 {statistics.median(values):6.1f} ms   p90 {percentile(values, 90):6.1f} ms   "
            f"min {min(values):6.1f} ms   n={len(values)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
