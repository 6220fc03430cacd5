"""The hot path's database work: reads that need no transaction, and the audit trail's inserts,
behind one small interface (`Reader`, `Writer`) picked at start-up.

Classifying a stored client (the API's by-id call, the desk's card) reads the client's
profile and contact history and nothing else from the database. On PostgreSQL those reads go
straight through psycopg (`Psycopg`), on a pool of autocommit connections with prepared
statements: through SQLAlchemy's asyncio layer the same reads cost several times as much CPU
(greenlet hops, result metadata, a pooled connection's reset). On SQLite they run through
SQLAlchemy Core (`Core`) on an autocommit connection; so does any read in a session's
transaction. Each statement is written once, as a SQLAlchemy Core construct
(`app.db.statements`), and `tests/integration/test_hot_reads.py` holds the two
implementations equal on both databases. The audit trail's writer inserts its rows the same
way, in a transaction (`HotPath.transaction`): through psycopg on PostgreSQL, where SQLAlchemy
Core's insert costs a third more CPU per transaction (docs/architecture.md, "The twins").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeAlias

import orjson
from psycopg import AsyncConnection as DriverConnection
from psycopg.rows import namedtuple_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.db.engine import create_engine_for, is_sqlite, json_text
from app.db.statements import Query, Statement
from app.settings import Settings

# The audit trail commits one batch at a time: one connection, and one to replace it.
WRITER_CONNECTIONS = 2


class Reader(Protocol):
    """Where the hot path's reads run."""

    async def read(self, queries: Sequence[Query]) -> list[list[Any]]:
        """The rows of each query, in order: named tuples (`row.client_id`, `row[0]`,
        `row._asdict()`), their columns named as the statement names them."""
        ...


class Writer(Protocol):
    """Where the audit trail's rows are inserted, in the caller's transaction."""

    async def insert(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """`statement` (an INSERT with a bind parameter per column) once per row."""
        ...


ReadConnection: TypeAlias = Callable[[], AbstractAsyncContextManager[Reader]]


class Psycopg:
    """The hot path on PostgreSQL: each statement as compiled for psycopg, prepared; several
    reads sent together and answered in one round trip (psycopg's pipeline mode)."""

    __slots__ = ("connection",)

    def __init__(self, connection: DriverConnection[Any]) -> None:
        self.connection = connection

    async def read(self, queries: Sequence[Query]) -> list[list[Any]]:
        connection = self.connection
        if len(queries) == 1:
            (query,) = queries
            compiled = query.statement.psycopg
            cursor = await connection.execute(
                compiled.sql, compiled.params(query.values), prepare=True
            )
            return [await cursor.fetchall()]
        async with connection.pipeline():
            cursors = []
            for query in queries:
                compiled = query.statement.psycopg
                params = compiled.params(query.values)
                cursors.append(await connection.execute(compiled.sql, params, prepare=True))
        return [await cursor.fetchall() for cursor in cursors]

    async def insert(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        compiled = statement.psycopg
        async with self.connection.cursor() as cursor:
            await cursor.executemany(compiled.sql, [compiled.params(row) for row in rows])


class Core:
    """The hot path through SQLAlchemy Core, one statement after the other: on SQLite, and
    on a session (a read inside a transaction, on either database)."""

    __slots__ = ("connection",)

    def __init__(self, connection: AsyncConnection | AsyncSession) -> None:
        self.connection = connection

    async def read(self, queries: Sequence[Query]) -> list[list[Any]]:
        execute = self.connection.execute
        return [list((await execute(q.statement.construct, dict(q.values))).all()) for q in queries]

    async def insert(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        await self.connection.execute(statement.construct, [dict(row) for row in rows])


async def rows_of(reader: Reader, query: Query) -> list[Any]:
    """The rows of one query."""
    (rows,) = await reader.read([query])
    return rows


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

        async def configure(connection: DriverConnection[Any]) -> None:
            # JSON as the SQLAlchemy engine writes and reads it (orjson).
            set_json_dumps(json_text, connection)
            set_json_loads(orjson.loads, connection)
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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Reader]:
        """A connection for reads, in autocommit."""
        if self._pool is None:
            async with self._autocommit.connect() as connection:
                yield Core(connection)
            return
        async with self._pool.connection() as driver:
            yield Psycopg(driver)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        """A connection in a transaction, committed if the block ends normally."""
        if self._writer_engine is not None:
            async with self._writer_engine.begin() as connection:
                yield Core(connection)
            return
        assert self._writer is not None
        async with self._writer.connection() as driver, driver.transaction():
            yield Psycopg(driver)
