"""Who owns a transaction: the unit of work of a request, a command or a job, never a service.

Services take the `Session` they are handed and never commit. The HTTP edge gives each
request one `UnitOfWork`: its transaction begins when something first asks for the session
(an inline classification never does, so it never touches the database) and is committed
when the request's work is done, before the response is sent, so a 2xx means stored.

Reads that need no transaction (classifying a stored client: its profile and its contact
history) take the unit's `reads()` connection instead (`app.db.hot`), in autocommit: no
BEGIN and no COMMIT around them, and no ORM on the hot path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.hot import ReadConnection, Reader

Session: TypeAlias = AsyncSession
SessionFactory: TypeAlias = async_sessionmaker[AsyncSession]


class UnitOfWork:
    """One transaction, begun on first use; and a connection for reads, taken on first use."""

    def __init__(self, session_factory: SessionFactory, reads: ReadConnection) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self._connect = reads
        self._reads: tuple[AbstractAsyncContextManager[Reader], Reader] | None = None

    async def reads(self) -> Reader:
        """Autocommit reads, each statement seeing what is committed when it runs."""
        if self._reads is None:
            held = self._connect()
            self._reads = (held, await held.__aenter__())
        return self._reads[1]

    async def session(self) -> Session:
        if self._session is None:
            session = self._session_factory()
            await session.begin()
            self._session = session
        return self._session

    async def finish(self, *, commit: bool) -> None:
        """Commit (or roll back) and close, if the transaction was begun."""
        reads, self._reads = self._reads, None
        if reads is not None:
            await reads[0].__aexit__(None, None, None)
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()


@asynccontextmanager
async def transaction(session_factory: SessionFactory) -> AsyncIterator[Session]:
    """A transaction of its own, for a job's step (one batch of an import, one command):
    committed if the block ends normally, rolled back if it raises."""
    async with session_factory() as session, session.begin():
        yield session
