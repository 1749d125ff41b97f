"""Fixtures of the judgements tests: a database URL per backend (SQLite file; a fresh database on the PostgreSQL
server named by ``RETRIEVAL_TEST_PG_URL``, which ``.ci/run`` starts), the tiny dataset with its own cache."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from .conftest import write_tiny_beir

PG_ENV = "RETRIEVAL_TEST_PG_URL"
PG_SKIP = f"{PG_ENV} is not set: the PostgreSQL tests need a server (.ci/run starts a throw-away one and sets it)"


def pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def create_pg_database() -> tuple[str, str]:
    """A new, empty database on the test server: ``(url, name)``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(pg_admin_url()).set(drivername="postgresql+psycopg")
    name = f"judge_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name, drivername="postgresql").render_as_string(hide_password=False), name


def drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(pg_admin_url()).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path):
    """The URL of a new, empty judgements database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'judgements.sqlite3'}"
        return
    if not pg_admin_url():
        pytest.skip(PG_SKIP)
    url, name = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture
def tiny_ds(tmp_path: Path):
    from retrieval.beir import BeirDataset
    from retrieval.cache import Cache

    return BeirDataset(write_tiny_beir(tmp_path / "beir"), "tiny", cache=Cache(tmp_path / "cache"))
