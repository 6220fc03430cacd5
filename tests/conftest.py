"""Databases for the tests: a migrated Postgres database per test worker, and SQLite.

The schema is built by the migrations (never `create_all`), once per worker; every test
starts from empty tables. The service commits for real in these tests (bulk imports
commit per batch), so isolation is by truncation rather than a rolled-back transaction.
The backend is chosen per test module (`backend_url`), so what a module builds once on a
database (an app and its lifespan, a server process) serves all its tests on that backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from app.db.engine import add_sqlite_pragmas, is_sqlite, sync_url
from app.db.migrate import upgrade

ADMIN_URL = os.environ.get(
    "CLIENTSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("CLIENTSCORE_TEST_REQUIRE_POSTGRES") == "1" or (
    os.environ.get("CI", "").lower() == "true"
)
TABLES = (
    "offer_answer",
    "offer_event",
    "call_outcome",
    "classification_audit",
    "client_outcome",
    "client_policy",
    "client_claim",
    "client_personal",
    "client",
    "api_key",
    "web_session",
    "sign_in_attempt",
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards; yields its URL."""
    admin = _libpq(ADMIN_URL)
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"Postgres is required and unreachable at {ADMIN_URL}: {exc}")
        pytest.skip(f"no Postgres at {ADMIN_URL}: {exc}")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sync_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A migrated database on the test server for this test worker."""
    with scratch_postgres(f"clientscore_test_{worker_id}") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "clientscore.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


# A served end-to-end test that is about the service, not its database (the browser pages, the
# fuzzed API, Prometheus), runs on PostgreSQL, as production does: the reads behind it are held
# equal on both databases in-process, and tests/e2e/test_server.py serves each database.
ON_POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


@pytest.fixture(scope="module", params=["sqlite", ON_POSTGRES])
def backend_url(request: pytest.FixtureRequest) -> str:
    """The migrated database of one backend, for the tests of one module; tables as they are.

    A module runs on SQLite, then on Postgres; `@pytest.mark.parametrize("backend_url",
    ["sqlite"], indirect=True)` keeps a test that never touches the database on one."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def db_url(backend_url: str) -> str:
    """Each test that uses the database runs on SQLite and on Postgres, from empty tables."""
    empty_tables(backend_url)
    return backend_url


def empty_tables(url: str) -> None:
    engine = sync_engine(url)
    with engine.begin() as conn:
        if is_sqlite(url):
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
        else:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
    engine.dispose()


def sync_engine(url: str) -> Engine:
    engine = create_engine(sync_url(url))
    if is_sqlite(url):
        add_sqlite_pragmas(engine)
    return engine
