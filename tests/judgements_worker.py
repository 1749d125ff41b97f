"""A separate process that writes judgements, for the concurrency and crash tests (``python -m tests.judgements_worker``).

    race URL DATA_DIR CACHE NAME N START   # N read-then-write rounds on one document, starting at time START
    writer URL DATA_DIR CACHE             # writes forever, printing each committed revision (to be SIGKILLed)
    open URL                              # opens (creates, migrates) the store, prints the schema revision

Every line it prints is one JSON object, flushed at once.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _say(**obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _judgements(url: str, data_dir: str, cache: str):
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache
    from retrieval.judgements import open_store

    return open_store(url).dataset(BeirDataset(Path(data_dir), "tiny", cache=Cache(cache)), "test")


def race(url: str, data_dir: str, cache: str, name: str, n: int, start: float) -> None:
    from retrieval.judgements import Conflict

    j = _judgements(url, data_dir, cache)
    while time.time() < start:
        time.sleep(0.001)
    for i in range(n):
        seen = j.get("q1", "d4", "ann")
        grade = (i + (0 if name == "a" else 1)) % 3
        try:
            made = j.set("q1", "d4", grade, judge="ann", expected=seen, source=name)
            _say(outcome="applied", revision=made.revision, seen=seen.revision if seen else None)
        except Conflict as exc:
            _say(outcome="rejected", current=exc.current.revision if exc.current else None)


def writer(url: str, data_dir: str, cache: str) -> None:
    j = _judgements(url, data_dir, cache)
    pairs = [(q, d) for q in ("q1", "q2", "q3", "q4") for d in ("d1", "d2", "d3", "d4", "d5", "d6")]
    i = 0
    while True:
        q, d = pairs[i % len(pairs)]
        made = j.set(q, d, i % 3, judge="killed", note=f"write {i}", source="writer")
        _say(i=i, revision=made.revision, qid=q, docid=d, grade=made.grade)
        i += 1


def open_only(url: str) -> None:
    from retrieval.judgements import open_store

    store = open_store(url)
    _say(revision=store.db.schema_revision())


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "race":
        race(rest[0], rest[1], rest[2], rest[3], int(rest[4]), float(rest[5]))
    elif mode == "writer":
        writer(*rest[:3])
    elif mode == "open":
        open_only(rest[0])
    else:
        raise SystemExit(f"unknown mode {mode}")
