"""The hot path's database work: reads that need no transaction, and the audit trail's inserts.

Classifying a stored client (the API's by-id call, the desk's card) reads the client's
profile and contact history and nothing else from the database. On PostgreSQL those reads go
straight through psycopg, on a pool of autocommit connections with prepared statements:
through SQLAlchemy's asyncio layer the same two reads cost about 1-2 ms of CPU (greenlet
hops, result metadata, a pooled connection's reset), through psycopg about 0.25 ms. So each
of those statements is written twice in its repository, once for SQLAlchemy (SQLite, the
embedded default, and any session) and once as SQL for the driver, and
`tests/integration/test_hot_reads.py` holds each pair equal. On SQLite the reads take an
autocommit SQLAlchemy connection. The audit trail's writer inserts its rows the same way, in
a transaction (`HotPath.transaction`): through psycopg on PostgreSQL, through SQLAlchemy Core
on SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

from psycopg import AsyncConnection as DriverConnection
from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable
from typing_extensions import TypeIs

from app.db.engine import create_engine_for, is_sqlite, json_text
from app.settings import Settings

# The audit trail commits one batch at a time: one connection, and one to replace it.
WRITER_CONNECTIONS = 2
Reader: TypeAlias = AsyncSession | AsyncConnection | DriverConnection[Any]
ReadConnection: TypeAlias = Callable[[], AbstractAsyncContextManager[Reader]]


def is_driver(reader: Reader) -> TypeIs[DriverConnection[Any]]:
    return isinstance(reader, DriverConnection)


def driver_json(value: Any) -> Jsonb:
    """A JSON document for a driver statement's parameter, written with orjson."""
    return Jsonb(value, dumps=json_text)


async def driver_insert(
    connection: DriverConnection[Any], into: str, rows: Sequence[Sequence[Any]]
) -> None:
    """`INSERT INTO {into} VALUES (...), (...)`: every row in one statement, one round trip."""
    one = f"({', '.join(['%s'] * len(rows[0]))})"
    sql = f"INSERT INTO {into} VALUES {', '.join([one] * len(rows))}"
    await connection.execute(sql, [value for row in rows for value in row])


async def driver_rows(reader: DriverConnection[Any], sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of a statement run on a driver connection, as named tuples."""
    cursor = await reader.execute(sql, params, prepare=True)
    return await cursor.fetchall()


@dataclass(frozen=True, slots=True)
class Statement:
    """A read written twice: its SQL for the driver, with its parameters, and its SQLAlchemy
    twin (built only where it runs)."""

    sql: str
    params: Sequence[Any]
    twin: Callable[[], Executable]


async def read_all(reader: Reader, statements: Sequence[Statement]) -> list[list[Any]]:
    """The rows of each statement, in order. On PostgreSQL's driver connection they are sent
    together and answered in one round trip (psycopg's pipeline mode); elsewhere one after
    the other."""
    if not is_driver(reader):
        return [list((await reader.execute(s.twin())).all()) for s in statements]
    if len(statements) == 1:
        return [await driver_rows(reader, statements[0].sql, statements[0].params)]
    async with reader.pipeline():
        cursors = [await reader.execute(s.sql, s.params, prepare=True) for s in statements]
    return [await cursor.fetchall() for cursor in cursors]


class HotPath:
    """Where `UnitOfWork.reads()` takes its connection and the audit trail its transactions:
    psycopg pools on PostgreSQL, SQLAlchemy pools on SQLite.

    The audit trail's writer has connections of its own (`WRITER_CONNECTIONS`): requests
    wait for it while they hold their read connections, so on a shared pool a burst of
    requests could take every connection and leave the writer none."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, on_connect: Callable[[], None]
    ) -> None:
        url = settings.database_url_value()
        self._pool: AsyncConnectionPool[DriverConnection[Any]] | None = None
        self._writer: AsyncConnectionPool[DriverConnection[Any]] | None = None
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writer_engine: AsyncEngine | None = None
        if is_sqlite(url):
            self._writer_engine = create_engine_for(settings)
            return

        async def configure(_connection: DriverConnection[Any]) -> None:
            on_connect()

        def pool(name: str, size: int) -> AsyncConnectionPool[DriverConnection[Any]]:
            return AsyncConnectionPool(
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                min_size=1,
                max_size=size,
                timeout=settings.database_timeout_seconds,
                kwargs={"autocommit": True, "row_factory": namedtuple_row},
                configure=configure,
                # Each connection is checked as it is handed out (one empty round trip): one
                # the server dropped (a restart, a failover) is discarded and replaced by a
                # fresh one before a request can fail on it, as `pool_pre_ping` does for
                # the SQLAlchemy engine.
                check=AsyncConnectionPool.check_connection,
                open=False,
                name=name,
            )

        self._pool = pool("hot-reads", settings.database_pool_size)
        self._writer = pool("audit-writer", WRITER_CONNECTIONS)

    async def open(self) -> None:
        # Not waiting: a server that is down at start makes the first reads fail (503), not
        # the service.
        for pool in (self._pool, self._writer):
            if pool is not None:
                await pool.open(wait=False)

    async def close(self) -> None:
        for pool in (self._pool, self._writer):
            if pool is not None:
                await pool.close()
        if self._writer_engine is not None:
            await self._writer_engine.dispose()

    async def probe(self) -> None:
        """One statement on a connection of each pool requests use (what `/readyz` asks):
        raises when the database cannot serve them."""
        if self._pool is None:
            async with self._autocommit.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
            return
        for pool in (self._pool, self._writer):
            assert pool is not None
            async with pool.connection() as driver:
                await driver.execute("SELECT 1")

    def connection(self) -> AbstractAsyncContextManager[Reader]:
        if self._pool is not None:
            return self._pool.connection()
        return self._autocommit.connect()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Reader]:
        """A connection in a transaction, committed if the block ends normally."""
        if self._writer_engine is not None:
            async with self._writer_engine.begin() as connection:
                yield connection
            return
        assert self._writer is not None
        async with self._writer.connection() as driver, driver.transaction():
            yield driver
