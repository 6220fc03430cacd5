"""A database outage: telling it from other database errors, and saying so once per outage."""

from __future__ import annotations

import logging
import time

import psycopg
from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("clientscore.database")

# What the driver raises when the server cannot be reached or the connection is lost, and
# what the pool raises when no connection can be had in time.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.TimeoutError,
    psycopg.OperationalError,  # the hot path's reads on PostgreSQL (also the pool's timeout)
)


# SQLite reports a missing table as an OperationalError too: that is a fault, not an outage.
_SQLITE_OUTAGES = ("locked", "unable to open", "disk i/o", "readonly")


def is_outage(error: BaseException) -> bool:
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OUTAGE_ERRORS):
        return False
    cause = getattr(error, "orig", None)
    if type(cause).__module__.startswith("sqlite3"):
        return any(phrase in str(cause).lower() for phrase in _SQLITE_OUTAGES)
    return True


class OutageLog:
    """One log line when the database goes away and one when it is back, whatever the number
    of requests that fail in between. Back means a new connection was made."""

    def __init__(self) -> None:
        self.down_since: float | None = None

    def watch(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine.pool, "connect", lambda *_: self.up())

    def down(self, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            cause = getattr(error, "orig", None) or error
            reason = f"{type(cause).__name__}: {str(cause).strip().splitlines()[0][:200]}"
            logger.warning("the database is unavailable (%s)", reason)

    def up(self) -> None:
        if self.down_since is not None:
            lasted = time.monotonic() - self.down_since
            self.down_since = None
            logger.warning("the database is available again after %.1f s", lasted)
