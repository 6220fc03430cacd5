"""The tasks each worker runs beside its requests until it stops: following the model and
rules folders, the versions served, the metrics' sums and the learned acceptance.

Each loop waits its interval, then takes one step (app.polling). A step that raises is logged
("could not look at ...") and the loop goes on at the next interval; the learned acceptance
says a database outage once instead (OutageLog) and keeps its last rates meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from app.db.outage import OutageLog, is_outage
from app.polling import run_periodically

Step = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Loop:
    what: str  # in the log line of a failed step: "could not look at <what>"
    seconds: float
    step: Step


def models_loop(refresh: Step, seconds: float) -> Loop:
    """Champion pointers moved by another worker or the CLI are loaded within `seconds`."""
    return Loop("the model registry folder", seconds, refresh)


def rules_loop(refresh: Step, seconds: float) -> Loop:
    """A ruleset activated by another worker or the CLI is served within `seconds`."""
    return Loop("the rules folder", seconds, refresh)


def versions_loop(sync: Callable[[], None], seconds: float) -> Loop:
    """The gauges of the model and ruleset versions served follow the two folders."""
    return Loop("the versions served", seconds, _each(sync))


def metrics_loop(flush: Callable[[], None], seconds: float) -> Loop:
    """The counts added up in the worker are moved to the shared metrics."""
    return Loop("the metrics", seconds, _each(flush))


def acceptance_loop(refresh: Step, outages: OutageLog, seconds: float) -> Loop:
    """The acceptance rates learned from the recorded answers, read again from the database."""

    async def step() -> None:
        try:
            await refresh()
        except Exception as exc:
            if not is_outage(exc):
                raise
            # Said once per outage; the learned rates keep their last values meanwhile.
            outages.down(exc)

    return Loop("the learned acceptance", seconds, step)


def _each(action: Callable[[], None]) -> Step:
    async def step() -> None:
        action()

    return step


class Background:
    """A worker's loops: started once start-up is done, cancelled and awaited at shutdown."""

    def __init__(self, loops: Sequence[Loop]) -> None:
        self.loops = tuple(loops)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(
                run_periodically(loop.seconds, loop.step, loop.what), name=loop.what
            )
            for loop in self.loops
        ]

    def running(self) -> list[str]:
        """The loops whose task is still going."""
        return [task.get_name() for task in self._tasks if not task.done()]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []
