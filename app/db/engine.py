"""Engines and sessions: async for the service, sync for migrations and batch jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry

from app.settings import Settings


def sync_url(url: str) -> URL:
    """The URL a synchronous driver (Alembic, the CLI) connects with."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite or postgresql"
    )


def async_url(url: str) -> URL:
    """The URL the service's async engine connects with."""
    parsed = sync_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_folder(url: str | URL) -> None:
    """An embedded database file's folder is made on first use (e.g. `./var/`)."""
    parsed = make_url(url)
    if is_sqlite(parsed) and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def add_sqlite_pragmas(engine: Engine) -> None:
    event.listen(engine, "connect", _sqlite_pragmas)


def json_text(value: Any) -> str:
    """JSON columns written with orjson: several times faster than `json.dumps` on the
    audit trail's results, and it writes datetimes as ISO 8601."""
    return orjson.dumps(value).decode()


def create_engine_for(settings: Settings) -> AsyncEngine:
    url = async_url(settings.database_url_value())
    if is_sqlite(url):
        ensure_sqlite_folder(url)
        engine = create_async_engine(
            url,
            connect_args={"timeout": 10},
            hide_parameters=True,
            json_serializer=json_text,
            json_deserializer=orjson.loads,
        )
        add_sqlite_pragmas(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_timeout_seconds,
        pool_pre_ping=True,
        # Errors would otherwise quote the statement's values, personal data included.
        hide_parameters=True,
        json_serializer=json_text,
        json_deserializer=orjson.loads,  # the audit trail's results, read back on the desk
        connect_args={"connect_timeout": max(1, int(settings.database_timeout_seconds))},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
