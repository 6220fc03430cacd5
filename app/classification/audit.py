"""The audit trail's writer: rows of concurrent requests committed together (group commit).

A request classifying a stored client hands its audit rows to the `AuditTrail` and waits; the
writer takes every row queued so far, inserts them in one transaction and commits, then
answers each waiting request. So a request is answered only after its row is committed (a
200 still means recorded), while the service pays one transaction per batch instead of one
per request. Nothing waits on a timer: when the writer is idle a row is written at once, and
under load the rows that arrive during one commit make up the next.

A batch that fails is retried request by request, so one request's bad row (its client erased
meanwhile) fails only that request. A database outage fails the whole batch at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from app.classification import repository
from app.db.hot import HotPath
from app.db.outage import is_outage

# Rows per transaction at most: a large batch of stored clients stays one transaction of its
# own, and a burst of single requests is cut into commits of this size.
MAX_ROWS = 1000


@dataclass
class _Pending:
    rows: Sequence[dict[str, Any]]
    done: asyncio.Future[None]


@dataclass
class AuditTrail:
    """Writes audit rows in group commits; `write` returns once its rows are committed."""

    hot: HotPath
    max_rows: int = MAX_ROWS
    _queue: list[_Pending] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _closing: bool = False
    transactions: int = 0  # committed so far: how many requests shared one shows in tests

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-trail")

    async def stop(self) -> None:
        """Writes what is queued, then stops."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Returns when `rows` are committed; raises what the insert or the commit raised."""
        if not rows:
            return
        if self._task is None or self._task.done():
            # Not started (a command) or stopping: write in a transaction of its own.
            async with self.hot.transaction() as connection:
                await repository.record(connection, rows)
            return
        pending = _Pending(rows, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        self._wake.set()
        # Shielded: a caller that goes away (a client disconnecting) does not take its row
        # out of a batch being committed.
        await asyncio.shield(pending.done)

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    await self._commit(self._take())
                if self._closing:
                    return
        finally:  # never leave a request waiting on a writer that is gone
            while self._queue:
                _answer(self._queue.pop(0), RuntimeError("the audit trail's writer stopped"))

    def _take(self) -> list[_Pending]:
        taken: list[_Pending] = []
        count = 0
        while self._queue and (not taken or count + len(self._queue[0].rows) <= self.max_rows):
            item = self._queue.pop(0)
            taken.append(item)
            count += len(item.rows)
        return taken

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            async with self.hot.transaction() as connection:
                rows = [row for item in batch for row in item.rows]
                await repository.record(connection, rows)
        except Exception as exc:  # answered to the waiting requests, never lost
            if len(batch) == 1 or is_outage(exc):
                for item in batch:
                    _answer(item, exc)
                return
            for item in batch:  # whose row broke it: each request on its own
                await self._commit([item])
            return
        self.transactions += 1
        for item in batch:
            _answer(item, None)


def _answer(item: _Pending, error: BaseException | None) -> None:
    if item.done.done():
        return
    if error is None:
        item.done.set_result(None)
    else:
        item.done.set_exception(error)
