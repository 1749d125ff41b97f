"""In-process A/B of two or more builds of ``retrieval/java`` (the BatchSearch jar) on one index.

    python -m bench.bm25_jar_ab --dataset scale1m --data-dir /work/scale/beir --cache /work/scale/cache \\
        --base HEAD~1 [--jar other.jar ...] [--rounds 21] [--k 10,1000] [--heap 8g]

Each jar is loaded in a class loader of its own inside one JVM (``bench/java/JarAB.java``, compiled here with
``javac``), over the dataset's ``bm25-flat`` index from the cache, and searches the split's queries (cleaned and in
qid order, as ``BM25._search_batch`` sends them) in turn, round by round: the machine's drift falls on all of them
alike, which separate processes on a shared 2-core machine do not give (their medians wandered by 10% here). Prints
each jar's median ms per batch, its speed-up over the first, and whether its hits differ from the first's (a
change to the search must leave them byte for byte the same). ``--base REV`` takes the committed jar of a git
revision; the working tree's jar always comes last. Each jar holds its own postings: give the JVM the heap for all
of them (``--heap``), or the later ones fall back to reading postings from the index and lose for that reason. On a
small corpus (SciFact: a few ms a batch) how the JIT compiles each loader's copy varied from run to run (0.8x to 1.7x
for the same two jars): repeat the run there; on the 1M-document corpus the ratios held within a few percent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--cache", type=Path, default=ROOT / "cache")
    p.add_argument("--split", default="test")
    p.add_argument("--base", action="append", default=[], help="a git revision whose committed jar to compare")
    p.add_argument("--jar", action="append", type=Path, default=[], help="another jar to compare")
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--k", default="10,1000")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--heap", default="8g")
    args = p.parse_args(argv)

    from bench.run_all import default_data_dir
    from retrieval.beir import BeirDataset
    from retrieval.bm25 import build_index, query_block
    from retrieval.cache import Cache
    from retrieval.java.build import JAR
    from retrieval.lucene import anserini_jar_path, java_command_bare

    javac = shutil.which("javac")
    if javac is None:
        raise SystemExit("bm25_jar_ab: javac not found (a JDK 11+ compiles bench/java/JarAB.java)")
    data_dir = args.data_dir or default_data_dir()
    dataset = BeirDataset(data_dir / args.dataset, args.dataset)
    index = build_index(dataset, "flat", cache=Cache(args.cache), progress=True)
    qids, _, block = query_block(dataset.split_queries(args.split))  # as BM25._search_batch sends them
    with tempfile.TemporaryDirectory(prefix="bench-jar-ab-") as tmp:
        tmp = Path(tmp)
        queries = tmp / "queries.txt"
        queries.write_bytes(block)
        jars = []
        for rev in args.base:
            jar = tmp / f"{rev.replace('/', '_')}.jar"
            jar.write_bytes(
                subprocess.run(
                    ["git", "-C", str(ROOT), "show", f"{rev}:retrieval/java/retrieval-lucene.jar"],
                    check=True,
                    capture_output=True,
                ).stdout
            )
            jars.append(jar)
        jars += [j.resolve() for j in args.jar] + [JAR]
        subprocess.run([javac, "--release", "11", "-d", str(tmp), str(ROOT / "bench" / "java" / "JarAB.java")], check=True)
        java = java_command_bare([f"-Xmx{args.heap}"])
        java[-1] = f"{tmp}{os.pathsep}{anserini_jar_path()}"  # the classpath: the harness and Lucene (no BatchSearch)
        cmd = [*java, "JarAB", str(index), str(queries), str(args.rounds), args.k, str(args.threads), *map(str, jars)]
        print(f"{args.dataset} {args.split}: {len(qids)} queries, {args.rounds} rounds, k={args.k}", file=sys.stderr)
        return subprocess.run(cmd).returncode


if __name__ == "__main__":
    raise SystemExit(main())
