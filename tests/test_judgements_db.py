"""Opening the judgements database: migrations (from nothing and from schema 0001 with data), the models agreeing
with the migrations, two processes at once, a process killed mid-write, corrupt / read-only SQLite files, a
PostgreSQL server that is down or does not answer."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from retrieval.judgements import ReadOnly, StoreUnavailable, open_store
from retrieval.judgements.db import SCHEMA_HEAD, SCHEMA_REVISIONS, VERSION_TABLE, _migrate, open_database

from .conftest import ROOT
from .judgements_fixtures import db_url, tiny_ds  # noqa: F401  (fixtures)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _worker(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.judgements_worker", *args]


# ---- migrations -------------------------------------------------------------------------------------
def test_a_new_database_is_created_at_the_head(db_url) -> None:  # noqa: F811
    from sqlalchemy import inspect

    store = open_store(db_url)
    assert store.db.schema_revision() == SCHEMA_HEAD == SCHEMA_REVISIONS[-1]
    with store.db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"judgements", "judgement_events", "query_notes", "query_lists", "query_list_items", VERSION_TABLE} <= tables
    store.close()
    again = open_store(db_url)  # opening again changes nothing
    assert again.db.schema_revision() == SCHEMA_HEAD


def test_the_default_is_a_sqlite_file_under_the_cache_root(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RETRIEVAL_DB_URL", raising=False)
    monkeypatch.setenv("RETRIEVAL_CACHE_DIR", str(tmp_path / "cache"))
    store = open_store()
    assert store.where == str(tmp_path / "cache" / "judgements.sqlite3") and not store.read_only
    conn = sqlite3.connect(tmp_path / "cache" / "judgements.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_alembic_head_is_the_code_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from retrieval.judgements.db import _MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [SCHEMA_HEAD]
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(SCHEMA_REVISIONS)


def test_models_match_the_migrations(db_url) -> None:  # noqa: F811
    """Alembic's autogenerate finds nothing to change between the migrated database and the ORM models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from retrieval.judgements.schema import Base

    store = open_store(db_url)
    with store.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}), Base.metadata)
    store.close()
    assert diff == []


def test_migrating_schema_0001_with_data_to_the_head(db_url, tiny_ds) -> None:  # noqa: F811
    from sqlalchemy import text

    db = open_database(db_url, migrate=False)
    assert db.schema_revision() is None
    _migrate(db, "0001")
    assert db.schema_revision() == "0001"
    checksum = open_store(db_url, migrate=False).dataset(tiny_ds, "test").checksum
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    row = dict(dataset="tiny", cs=checksum, split="test", qid="q1", docid="d4", judge="ann", at=at)
    with db.engine.begin() as conn:  # what a 0001 store wrote: no note columns, no notes or lists tables
        conn.execute(
            text(
                "INSERT INTO judgement_events (dataset, corpus_checksum, split, qid, docid, judge, action, grade, cant_tell, at, source, seen_revision) "
                "VALUES (:dataset, :cs, :split, :qid, :docid, :judge, 'set', 1, false, :at, 'old', NULL)"
            ),
            row,
        )
        conn.execute(
            text(
                "INSERT INTO judgements (dataset, corpus_checksum, split, qid, docid, judge, grade, cant_tell, judged_at, source, revision) "
                "VALUES (:dataset, :cs, :split, :qid, :docid, :judge, 1, false, :at, 'old', 1)"
            ),
            row,
        )
    db.close()

    store = open_store(db_url)  # migrates to the head
    assert store.db.schema_revision() == SCHEMA_HEAD
    j = store.dataset(tiny_ds, "test")
    old = j.get("q1", "d4", "ann")
    assert (old.grade, old.note, old.source, old.revision, old.judged_at, old.stale) == (1, None, "old", 1, at, False)
    assert [e.action for e in j.history("q1", "d4")] == ["set"]
    # the new schema's features work on the migrated data
    newer = j.set("q1", "d4", 0, judge="ann", note="second look", expected=old)
    assert newer.note == "second look" and newer.revision == 2
    j.set_query_note("q1", "a note", judge="ann")
    assert j.create_list("l", ["q1"]).qids == ("q1",)
    assert j.qrels("merged").added == 1


def test_a_schema_from_a_newer_version_is_refused_and_left_alone(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite3'}"
    open_store(url).close()
    conn = sqlite3.connect(tmp_path / "j.sqlite3")
    conn.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    conn.commit()
    conn.close()
    before = _sha(tmp_path / "j.sqlite3")
    with pytest.raises(StoreUnavailable, match="schema '9999', written by a newer version"):
        open_store(url)
    assert _sha(tmp_path / "j.sqlite3") == before


def test_two_processes_creating_the_database_at_once(db_url) -> None:  # noqa: F811
    procs = [
        subprocess.Popen(_worker("open", db_url), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert [json.loads(o[0])["revision"] for o in outs] == [SCHEMA_HEAD, SCHEMA_HEAD]


# ---- two writers, a killed writer ------------------------------------------------------------------
def test_sqlite_write_sessions_take_the_write_lock_first(tmp_path) -> None:
    """A write's read-check-write is atomic across processes: the lock is held from its first statement on (BEGIN
    IMMEDIATE), while a read session leaves it free."""
    from sqlalchemy import text

    path = tmp_path / "j.sqlite3"
    db = open_database(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    with db.session(write=True) as s:
        s.execute(text("SELECT 1"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    with db.session() as s:
        s.execute(text("SELECT 1"))
        other.execute("BEGIN IMMEDIATE")
        other.execute("COMMIT")
    other.close()
    db.close()


def test_two_processes_judging_the_same_document_lose_nothing(db_url, tiny_ds) -> None:  # noqa: F811
    """Each process reads the judgement, then writes with expected= what it read: every write either applies on top of
    exactly the revision it saw or is rejected (and kept in the history); no update is lost."""
    open_store(db_url).dataset(tiny_ds, "test")  # schema and document store ready before the race
    n, start = 60, time.time() + 3
    procs = {
        name: subprocess.Popen(
            _worker("race", db_url, str(tiny_ds.path), str(tiny_ds.cache.root), name, str(n), str(start)),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    }
    outcomes = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outcomes[name] = [json.loads(line) for line in out.splitlines()]
        assert len(outcomes[name]) == n
    j = open_store(db_url).dataset(tiny_ds, "test")
    history = j.history("q1", "d4")
    for name in procs:  # every attempt of each process is in the history, applied or rejected
        assert sum(e.source == name for e in history) == n
        assert sum(e.source == name and e.action == "rejected" for e in history) == sum(
            o["outcome"] == "rejected" for o in outcomes[name]
        )
    applied = [e for e in history if e.action == "set"]
    # the applied writes form one chain: each was made on top of the revision before it
    assert [e.seen_revision for e in applied] == [None] + [e.id for e in applied[:-1]]
    assert j.get("q1", "d4", "ann").revision == applied[-1].id
    rejected = sum(e.action == "rejected" for e in history)
    print(f"{len(applied)} applied, {rejected} rejected as conflicts")


def test_a_process_killed_mid_write_loses_nothing_committed(db_url, tiny_ds) -> None:  # noqa: F811
    open_store(db_url).dataset(tiny_ds, "test")
    proc = subprocess.Popen(
        _worker("writer", db_url, str(tiny_ds.path), str(tiny_ds.cache.root)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    committed = []
    try:
        for line in proc.stdout:
            committed.append(json.loads(line))
            if len(committed) >= 80:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # wherever it is: most likely inside its next transaction
        proc.wait(timeout=30)
    assert len(committed) >= 80, proc.stderr.read()[-3000:]
    store = open_store(db_url)
    j = store.dataset(tiny_ds, "test")
    events = {e.id: e for q in ("q1", "q2", "q3", "q4") for e in j.history(q, judge="killed")}
    for c in committed:  # every write it reported as committed is there, with its value
        e = events[c["revision"]]
        assert (e.action, e.qid, e.docid, e.grade, e.note) == ("set", c["qid"], c["docid"], c["grade"], f"write {c['i']}")
    assert len(events) >= len(committed)
    # consistent: each current value is the latest event of its pair, and every event's pair has a current value
    current = {(x.qid, x.docid): x for x in j.frame(judge="killed").itertuples()}
    latest = {}
    for e in sorted(events.values(), key=lambda e: e.id):
        latest[(e.qid, e.docid)] = e
    assert set(current) == set(latest)
    for key, e in latest.items():
        row = j.get(key[0], key[1], "killed")
        assert (row.revision, row.grade, row.note) == (e.id, e.grade, e.note)
    if store.db.backend == "sqlite":
        conn = sqlite3.connect(store.db.path)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()


# ---- bad files ----------------------------------------------------------------------------------------
def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path) -> None:
    path = tmp_path / "judgements.sqlite3"
    path.write_bytes(b"this is not a database, but someone's notes\n" * 50)
    before = _sha(path)
    with pytest.raises(StoreUnavailable, match="is not a SQLite database .* left as it is"):
        open_store(f"sqlite:///{path}")
    assert _sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judgements.sqlite3"]  # no -wal, no new file


def test_a_damaged_sqlite_file_is_never_repaired(tmp_path, tiny_ds) -> None:  # noqa: F811
    path = tmp_path / "judgements.sqlite3"
    store = open_store(f"sqlite:///{path}")
    j = store.dataset(tiny_ds, "test")
    for n in range(12):
        j.import_qrels(_all_pairs(tmp_path, n), judge=f"judge{n}")
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    leaves = [p for p in range(1, len(data) // page) if data[p * page] == 0x0D]  # b-tree table leaf pages
    assert len(leaves) > 5
    at = leaves[len(leaves) // 2] * page
    data[at + 8 + 6 : at + 8 + 8] = b"\x00\x01"  # a cell pointer now points into the page header
    path.write_bytes(bytes(data))
    before = _sha(path)
    damaged = open_store(f"sqlite:///{path}")
    assert damaged.read_only and "quick_check found damage" in damaged.read_only_reason and "\n" not in damaged.read_only_reason
    with pytest.raises(ReadOnly, match="quick_check"):
        damaged.dataset(tiny_ds, "test").set("q1", "d1", 1, judge="ann")
    damaged.close()
    assert _sha(path) == before


def _all_pairs(folder: Path, n: int) -> Path:
    path = folder / f"all-{n}.qrels"
    path.write_text(
        "".join(
            f"{q} 0 {d} {(i + n) % 3}\n"
            for i, (q, d) in enumerate((q, d) for q in ("q1", "q2", "q3", "q4") for d in ("d1", "d2", "d3", "d4", "d5", "d6"))
        )
    )
    return path


def _read_only_check(path: str, data_dir: str, cache: str) -> dict:
    """In this process: open the store at ``path`` and try to read and write."""
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache

    store = open_store(f"sqlite:///{path}")
    out = {"read_only": store.read_only, "reason": store.read_only_reason}
    j = store.dataset(BeirDataset(Path(data_dir), "tiny", cache=Cache(cache)), "test")
    out["grade"] = j.get("q1", "d4", "ann").grade
    try:
        j.set("q1", "d4", 0, judge="ann")
        out["write"] = "applied"
    except ReadOnly as exc:
        out["write"] = str(exc)
    store.close()
    return out


def test_a_read_only_sqlite_file_opens_read_only(tiny_ds) -> None:  # noqa: F811
    """A file this process may not write (its folder too): reads work, writes raise ReadOnly, the file is unchanged.
    Root ignores file modes, so as root the check runs in a forked child that drops to ``nobody``."""
    folder = Path(tempfile.mkdtemp(prefix="judgements-ro-"))
    try:
        path = folder / "judgements.sqlite3"
        store = open_store(f"sqlite:///{path}")
        j = store.dataset(tiny_ds, "test")  # document store built here, before the files become read-only
        j.set("q1", "d4", 1, judge="ann")
        store.close()
        for p in [tiny_ds.path, *tiny_ds.path.rglob("*"), tiny_ds.cache.root, *tiny_ds.cache.root.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        for parent in list(tiny_ds.path.parents)[:-1]:
            if parent.stat().st_mode & 0o005 != 0o005:
                parent.chmod(parent.stat().st_mode | 0o005)
        path.chmod(0o444)
        folder.chmod(0o555)
        before = _sha(path)
        args = (str(path), str(tiny_ds.path), str(tiny_ds.cache.root))
        if os.geteuid() != 0:
            result = _read_only_check(*args)
        else:
            import retrieval.judgements.store  # noqa: F401  (imported before the fork: nobody cannot read this Python)

            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: drop to nobody, check, report, exit without running pytest's teardown
                code = 0
                try:
                    os.close(read)
                    os.setgid(65534)
                    os.setuid(65534)
                    payload = json.dumps(_read_only_check(*args))
                except BaseException as exc:  # noqa: BLE001
                    payload, code = json.dumps({"error": repr(exc)}), 1
                os.write(write, payload.encode())
                os._exit(code)
            os.close(write)
            chunks = []
            while chunk := os.read(read, 65536):
                chunks.append(chunk)
            os.waitpid(pid, 0)
            result = json.loads(b"".join(chunks))
        assert "error" not in result, result
        assert result["read_only"] is True and "is not writable by this process" in result["reason"]
        assert result["grade"] == 1
        assert "read-only" in result["write"] and "not writable" in result["write"]
        assert _sha(path) == before
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.chmod(0o644)
            p.unlink()
        folder.rmdir()


# ---- PostgreSQL down ----------------------------------------------------------------------------------
def test_postgresql_down_fails_at_once_with_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nothing listens once this socket closes
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        open_store(f"postgresql://someone:s3cret@127.0.0.1:{port}/judgements")
    assert time.monotonic() - started < 3
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "s3cret" not in message and "***" in message


def test_postgresql_that_never_answers_times_out_within_seconds() -> None:
    """A server that accepts the connection and then says nothing (a hung host): the connect timeout ends it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel completes the handshake; nobody ever answers
        port = server.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=f"cannot reach the judgements database at postgresql://x@127.0.0.1:{port}/db"):
            open_store(f"postgresql://x@127.0.0.1:{port}/db", connect_timeout=2)
        elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 10, elapsed


def test_unknown_database_kinds_are_refused() -> None:
    with pytest.raises(StoreUnavailable, match="SQLite or PostgreSQL, not 'mysql'"):
        open_store("mysql://u@h/db")
    with pytest.raises(StoreUnavailable, match="not a database URL"):
        open_store("no url at all")
