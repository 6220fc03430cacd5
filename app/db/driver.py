"""Reads that need no transaction, on a connection of their own: the hot path's reads.

Classifying a stored client (the API's by-id call, the desk's card) reads the client's
profile and contact history and nothing else from the database. On PostgreSQL those reads go
straight through psycopg, on a pool of autocommit connections with prepared statements:
through SQLAlchemy's asyncio layer the same two reads cost about 1-2 ms of CPU (greenlet
hops, result metadata, a pooled connection's reset), through psycopg about 0.25 ms. So each
of those statements is written twice in its repository, once for SQLAlchemy (SQLite, the
embedded default, and any session) and once as SQL for the driver, and
`tests/integration/test_hot_reads.py` holds each pair equal. On SQLite the reads take an
autocommit SQLAlchemy connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeAlias

from psycopg import AsyncConnection as DriverConnection
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from typing_extensions import TypeIs

from app.db.engine import is_sqlite
from app.settings import Settings

Reader: TypeAlias = AsyncSession | AsyncConnection | DriverConnection[Any]
ReadConnection: TypeAlias = Callable[[], AbstractAsyncContextManager[Reader]]


def is_driver(reader: Reader) -> TypeIs[DriverConnection[Any]]:
    return isinstance(reader, DriverConnection)


async def driver_rows(reader: DriverConnection[Any], sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of a statement run on a driver connection, as named tuples."""
    cursor = await reader.execute(sql, params, prepare=True)
    return await cursor.fetchall()


class HotReads:
    """Where `UnitOfWork.reads()` takes its connection: a psycopg pool on PostgreSQL, the
    engine's own pool in autocommit on SQLite."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, on_connect: Callable[[], None]
    ) -> None:
        url = settings.database_url_value()
        self._pool: AsyncConnectionPool[DriverConnection[Any]] | None = None
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        if not is_sqlite(url):

            async def configure(_connection: DriverConnection[Any]) -> None:
                on_connect()

            self._pool = AsyncConnectionPool(
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                min_size=1,
                max_size=settings.database_pool_size,
                timeout=settings.database_timeout_seconds,
                kwargs={"autocommit": True, "row_factory": namedtuple_row},
                configure=configure,
                open=False,
                name="hot-reads",
            )

    async def open(self) -> None:
        if self._pool is not None:
            # Not waiting: a server that is down at start makes the first reads fail (503),
            # not the service.
            await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def connection(self) -> AbstractAsyncContextManager[Reader]:
        if self._pool is not None:
            return self._pool.connection()
        return self._engine.connect()
