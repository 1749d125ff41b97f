"""Where the judgements live and how the database is opened: SQLite under the cache root by default, PostgreSQL
when ``RETRIEVAL_DB_URL`` names one; created and migrated (Alembic, programmatically) on first use.

Opening never changes a database it cannot trust:

* **SQLite** (``<cache root>/judgements.sqlite3``, WAL mode, ``busy_timeout`` 5 s, ``synchronous=FULL``): a file
  that is not a SQLite database is refused with the reason (:class:`StoreUnavailable`) and left as it is, never
  "repaired" or recreated; a file that SQLite's ``quick_check`` finds damaged, or one this process may not write
  (permissions, a read-only file system), opens read-only with the reason in ``read_only_reason``. Writes take
  the database's write lock first (``BEGIN IMMEDIATE``), so a read-then-write is atomic across processes.
* **PostgreSQL** (``RETRIEVAL_DB_URL=postgresql://user:pass@host/db``, driven by psycopg 3): a server that does
  not answer within ``connect_timeout`` (3 s) raises :class:`StoreUnavailable` with one line that names the
  server (password hidden); migrations take an advisory lock, so two processes starting at once migrate once.
* ``RETRIEVAL_READONLY=1`` (a public demo server): the store opens read-only; PostgreSQL sessions are also
  read-only on the server's side. Writes raise :class:`ReadOnly`.

Migrations live in ``migrations/versions`` (schema ``0001``: judgements and their history; ``0002``: notes and
query lists). A database at an older schema is migrated in one transaction when the store opens; one written by
a newer version of this code (an unknown schema) is refused, not touched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import JudgementError, ReadOnly, StoreUnavailable

SCHEMA_REVISIONS = ("0001", "0002")  # in order; the last is the head
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]
VERSION_TABLE = "judgements_schema_version"  # not Alembic's default name: a shared PostgreSQL database may hold another app's
DB_FILE = "judgements.sqlite3"
CONNECT_TIMEOUT_S = 3
BUSY_TIMEOUT_MS = 5000
_PG_LOCK_KEY = 0x6A756467  # "judg": the advisory lock migrations take on PostgreSQL
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_TRUE = {"1", "true", "yes", "on"}


def db_url_from_env() -> str | None:
    url = os.environ.get("RETRIEVAL_DB_URL", "").strip()
    return url or None


def read_only_from_env() -> bool:
    return os.environ.get("RETRIEVAL_READONLY", "").strip().lower() in _TRUE


def default_db_path(cache_root: str | Path | None = None) -> Path:
    from ..cache import default_cache_root

    return Path(cache_root or default_cache_root()) / DB_FILE


class Database:
    """An open judgements database: an engine, its kind and whether it may be written.

    ``session(write=...)`` is the one way in: one SQLAlchemy Session per unit of work, committed when the block ends
    (rolled back on an exception). A write session on a read-only database raises :class:`ReadOnly` at once.
    """

    def __init__(self, engine, *, backend: str, where: str, read_only: bool, read_only_reason: str | None, path: Path | None):
        self.engine = engine
        self.backend = backend  # "sqlite" or "postgresql"
        self.where = where  # the file, or the URL with its password hidden
        self.read_only = read_only
        self.read_only_reason = read_only_reason
        self.path = path
        self._write_engine = engine.execution_options(judgements_begin="BEGIN IMMEDIATE") if backend == "sqlite" else engine
        self._watch: sqlite3.Connection | None = None  # change_token's own connection (never writes)
        self._watch_lock = threading.Lock()

    def __repr__(self) -> str:
        mode = f"read-only: {self.read_only_reason}" if self.read_only else "read-write"
        return f"Database({self.backend}, {self.where}, {mode})"

    def check_writable(self) -> None:
        if self.read_only:
            raise ReadOnly(
                f"the judgements store is read-only ({self.read_only_reason}): judgements, notes and lists can be read, not changed"
            )

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator:
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.orm import Session

        if write:
            self.check_writable()
        try:
            with Session(self._write_engine if write else self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            raise _operational(exc, self.where, write) from exc

    @contextlib.contextmanager
    def reading(self) -> Iterator:
        """A Core connection for bulk reads (rows as tuples, no ORM objects): 10,000 judgements in a few ms."""
        from sqlalchemy.exc import OperationalError

        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise _operational(exc, self.where, False) from exc

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return _current_revision(conn)

    def change_token(self) -> int | None:
        """A number that changes whenever anything commits to this database, another process included, read in a
        few microseconds, so readers can keep what they read until it changes: SQLite's ``PRAGMA data_version`` on
        a connection of its own that never writes (it counts the commits of every other connection). ``None``
        where there is no such check (PostgreSQL, a database in memory, a connection that fails): read again."""
        if self.backend != "sqlite" or self.path is None:
            return None
        with self._watch_lock:
            try:
                if self._watch is None:
                    self._watch = _connect_ro(self.path)
                return int(self._watch.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                self._close_watch()
                return None

    def _close_watch(self) -> None:
        if self._watch is not None:
            with contextlib.suppress(sqlite3.Error):
                self._watch.close()
            self._watch = None

    def close(self) -> None:
        with self._watch_lock:
            self._close_watch()
        self.engine.dispose()


def _operational(exc, where: str, write: bool) -> JudgementError:
    text = _first_line(exc)
    if "locked" in text or "busy" in text:
        return JudgementError(
            f"{where}: another process held the database's write lock for {BUSY_TIMEOUT_MS // 1000} s; nothing was written, try again"
        )
    if "readonly" in text.replace("-", "").replace(" ", ""):
        return ReadOnly(f"{where} cannot be written ({text}); nothing was written")
    return StoreUnavailable(f"the judgements database at {where} failed: {text}{'; nothing was written' if write else ''}")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


# ---- opening ------------------------------------------------------------------------------------
def open_database(
    url: str | None = None,
    *,
    cache_root: str | Path | None = None,
    read_only: bool | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    migrate: bool = True,
) -> Database:
    """Open (create, migrate) the judgements database.

    ``url``: a SQLAlchemy URL (``postgresql://...``, ``sqlite:///path``); default ``$RETRIEVAL_DB_URL``, else the
    SQLite file :func:`default_db_path`. ``read_only``: default ``$RETRIEVAL_READONLY``. ``migrate=False`` (tests)
    opens a database at whatever schema it has.
    """
    url = url if url is not None else db_url_from_env()
    env_read_only = read_only_from_env() if read_only is None else read_only
    if url is None:
        return _open_sqlite(default_db_path(cache_root), env_read_only, migrate)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable(
            f"RETRIEVAL_DB_URL {url[:60]!r} is not a database URL (postgresql://user:password@host/db or sqlite:///path)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreUnavailable(
                "an in-memory SQLite database keeps nothing; give a file (sqlite:///path/to/judgements.sqlite3)"
            )
        return _open_sqlite(Path(parsed.database), env_read_only, migrate)
    if parsed.get_backend_name() == "postgresql":
        return _open_postgres(parsed, env_read_only, connect_timeout, migrate)
    raise StoreUnavailable(
        f"judgements live in SQLite or PostgreSQL, not {parsed.get_backend_name()!r} ({parsed.render_as_string(hide_password=True)})"
    )


def _env_reason() -> str:
    return "RETRIEVAL_READONLY=1 is set"


# ---- SQLite -------------------------------------------------------------------------------------
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _open_sqlite(path: Path, read_only: bool, migrate: bool) -> Database:
    path = Path(path).expanduser()
    where = str(path)
    if not path.exists():
        if read_only:
            return _empty_read_only(f"{_env_reason()}; no judgements database at {where} yet")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(path.parent, os.W_OK):
                raise PermissionError(f"folder {path.parent} is not writable")
        except OSError as exc:
            return _empty_read_only(f"cannot create {where}: {exc}")
        return _finish_sqlite(_sqlite_engine(path, writable=True), path, read_only=False, reason=None, migrate=migrate)

    _check_sqlite_file(path)
    reason = _env_reason() if read_only else None
    if reason is None and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        reason = f"{where} is not writable by this process"
    if reason is None:
        damage = _quick_check(path)
        if damage:
            reason = f"SQLite's quick_check found damage in {where} ({damage}); the file was left as it is: copy it, repair the copy (sqlite3 {path.name} .recover) and put it back"
    if reason is None:
        return _finish_sqlite(_sqlite_engine(path, writable=True), path, read_only=False, reason=None, migrate=migrate)
    return _finish_sqlite(_sqlite_engine(path, writable=False), path, read_only=True, reason=reason, migrate=False)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database, reading only its first 16 bytes (an empty file is a new database)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StoreUnavailable(f"cannot read the judgements database {path}: {exc.strerror or exc}") from None
    if head and head != _SQLITE_MAGIC:
        raise StoreUnavailable(
            f"{path} is not a SQLite database (it starts with {head[:8]!r}); it was left as it is: move it away to start a new "
            "judgements database, or restore a copy"
        )


def _ro_uri(path: Path, immutable: bool = False) -> str:
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()))}?{'immutable=1' if immutable else 'mode=ro'}"


def _connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection; a WAL database in a folder this process cannot write (no ``-shm`` possible) is opened
    as immutable instead (it is then read as it is on disk)."""
    try:
        conn = sqlite3.connect(_ro_uri(path), uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn = sqlite3.connect(_ro_uri(path, immutable=True), uri=True, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn


def _quick_check(path: Path) -> str | None:
    """``None`` when SQLite's ``quick_check`` passes; else what it found (first line). A file SQLite cannot read at all
    is refused (:class:`StoreUnavailable`)."""
    try:
        conn = _connect_ro(path)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreUnavailable(
            f"{path} cannot be read as a SQLite database ({exc}); it was left as it is: move it away to start a new judgements "
            "database, or restore a copy"
        ) from None
    return None if rows == ["ok"] else " ".join(" ".join(rows[:3]).split())[:300]


def _sqlite_engine(path: Path, *, writable: bool):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import QueuePool

    def connect() -> sqlite3.Connection:
        if writable:
            return sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        return _connect_ro(path)

    engine = create_engine("sqlite+pysqlite://", creator=connect, poolclass=QueuePool, pool_size=5, max_overflow=10)
    _sqlite_events(engine, writable=writable)
    return engine


def _sqlite_events(engine, *, writable: bool) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # pysqlite's own transaction handling is off: SQLAlchemy's "begin" below emits BEGIN, or BEGIN IMMEDIATE for
        # writes (the write lock taken before the first read, so read-check-write is atomic across processes).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if writable:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("judgements_begin", "BEGIN"))


def _empty_read_only(reason: str) -> Database:
    """An empty database at the head schema, in memory: reads find nothing, writes raise :class:`ReadOnly`."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    engine = create_engine(
        "sqlite+pysqlite://", creator=lambda: sqlite3.connect(":memory:", check_same_thread=False), poolclass=StaticPool
    )
    _sqlite_events(engine, writable=False)
    db = Database(engine, backend="sqlite", where="(no database)", read_only=False, read_only_reason=None, path=None)
    _migrate(db)
    db.read_only, db.read_only_reason = True, reason
    return db


def _finish_sqlite(engine, path: Path, *, read_only: bool, reason: str | None, migrate: bool) -> Database:
    db = Database(engine, backend="sqlite", where=str(path), read_only=read_only, read_only_reason=reason, path=path)
    try:
        _ensure_schema(db, migrate)
    except StoreUnavailable:
        db.close()
        raise
    except Exception as exc:
        db.close()
        raise StoreUnavailable(
            f"cannot open the judgements database {path}: {_first_line(exc)}; the file was left as it is"
        ) from exc
    return db


# ---- PostgreSQL ---------------------------------------------------------------------------------
def _open_postgres(parsed, read_only: bool, connect_timeout: float, migrate: bool) -> Database:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    where = parsed.render_as_string(hide_password=True)
    args: dict[str, object] = {"connect_timeout": max(1, int(round(connect_timeout))), "application_name": "retrieval-judgements"}
    if read_only:
        args["options"] = "-c default_transaction_read_only=on"
    engine = create_engine(parsed.set(drivername="postgresql+psycopg"), connect_args=args, pool_pre_ping=True, pool_size=5)
    db = Database(
        engine,
        backend="postgresql",
        where=where,
        read_only=read_only,
        read_only_reason=_env_reason() if read_only else None,
        path=None,
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        engine.dispose()
        raise StoreUnavailable(
            f"cannot reach the judgements database at {where} ({_first_line(exc)}); judgements are unavailable until it answers "
            "(unset RETRIEVAL_DB_URL to use the local SQLite file)"
        ) from None
    try:
        _ensure_schema(db, migrate)
    except StoreUnavailable:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot open the judgements database at {where}: {_first_line(exc)}") from exc
    return db


# ---- schema -------------------------------------------------------------------------------------
def _current_revision(conn) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table(VERSION_TABLE):
        if inspect(conn).has_table("judgements"):
            return "unversioned"
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else ("unversioned" if rows else None)


def _ensure_schema(db: Database, migrate: bool) -> None:
    """Check the schema revision (a cheap read: Alembic is imported only when a migration is due) and migrate to the
    head when allowed."""
    with db.engine.connect() as conn:
        revision = _current_revision(conn)
        conn.rollback()
    if revision == SCHEMA_HEAD or (revision is not None and not migrate and revision in SCHEMA_REVISIONS):
        return
    if revision == "unversioned":
        raise StoreUnavailable(
            f"{db.where} holds a 'judgements' table this code did not create (no {VERSION_TABLE}); it was left as it is"
        )
    if revision is not None and revision not in SCHEMA_REVISIONS:
        raise StoreUnavailable(
            f"{db.where} is at judgements schema {revision!r}, written by a newer version of this tool (this one knows up to "
            f"{SCHEMA_HEAD}); it was left as it is: update the code"
        )
    if not migrate:
        return
    if db.read_only:
        raise StoreUnavailable(
            f"{db.where} is at judgements schema {revision or 'none'} and this code needs {SCHEMA_HEAD}, but the store is read-only "
            f"({db.read_only_reason}); open it once writable to migrate it"
        )
    _migrate(db)


def _migrate(db: Database, target: str = "head") -> None:
    """Alembic ``upgrade`` in one transaction on one connection: SQLite's write lock (BEGIN IMMEDIATE) or PostgreSQL's
    advisory lock keeps a second process out until it is done; that process then finds the schema at the head."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["version_table"] = VERSION_TABLE
    engine = db._write_engine
    with engine.begin() as conn:
        if db.backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, target)
