"""The Compare page's first script run in a fresh interpreter (server side of a cold start), ours and a baseline.

    BEIR_DATA_DIR=/work/shared/beir RETRIEVAL_CACHE_DIR=/work/testcache HF_HUB_OFFLINE=1 \\
        python bench/first_run.py --base /tmp/cold-base --rounds 3

Each round starts a new Python process per contender (alternating which goes first) that runs ``pages/compare.py``
once through AppTest on SciFact's test split with cached runs (the browser benchmark's URL), and reports the
script's seconds (imports of the page included, Streamlit's own import not) and which heavy modules it loaded
(torch, transformers, sentence-transformers, pyserini, huggingface_hub, ir_measures). No browser, no server:
this is the part of ``bench/browser_latency.py``'s cold start that the app's code decides. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "sentence_transformers", "pyserini", "huggingface_hub", "ir_measures")
SYSTEMS = "bm25-flat,dense:all-MiniLM-L6-v2"

CHILD = """
import json, os, sys, time
sys.path.insert(0, os.getcwd())
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(os.getcwd(), "pages", "compare.py"), default_timeout=300)
for k, v in {"dataset": "scifact", "split": "test", "systems": SYSTEMS}.items():
    at.query_params[k] = v
started = time.perf_counter()
at.run()
seconds = time.perf_counter() - started
heavy = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps({"seconds": seconds, "exceptions": len(at.exception), "heavy": heavy}))
"""


def one(checkout: Path, env: dict[str, str]) -> dict:
    script = f"SYSTEMS = {SYSTEMS!r}\nHEAVY = {HEAVY!r}\n" + CHILD
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=checkout, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", type=Path, default=None, help="a checkout of the baseline, run in alternation")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("BEIR_DATA_DIR", "/work/shared/beir")
    env.setdefault("RETRIEVAL_CACHE_DIR", "/work/testcache")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("OPENAI_API_KEY", "unused")
    who = {"ours": ROOT, **({"base": args.base} if args.base else {})}
    names = list(who)
    times: dict[str, list[float]] = {n: [] for n in names}
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            res = one(who[name], env)
            times[name].append(res["seconds"])
            print(
                f"{name}: {res['seconds']:.2f} s, exceptions {res['exceptions']}, heavy modules: {', '.join(res['heavy']) or 'none'}"
            )
    for name in names:
        values = sorted(times[name])
        print(f"{name}: median {values[len(values) // 2]:.2f} s over {len(values)} rounds")
    if len(names) == 2:
        a, b = (sorted(times[n])[len(times[n]) // 2] for n in names)
        print(f"speed-up (base/ours): {b / a:.2f}")
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
