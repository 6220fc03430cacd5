"""The worker's background loops, each started, failing once and stopped, with no server:
the steps are stand-ins that count their calls, the intervals are zero and the waits are on
events (the timeouts only guard against a hang)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import exc as sa

from app.background import (
    Background,
    Loop,
    acceptance_loop,
    metrics_loop,
    models_loop,
    rules_loop,
    versions_loop,
)
from app.db.outage import OutageLog


class Steps:
    """A loop's step: the first call raises `error`; `done` is set at the `enough`th call."""

    def __init__(self, error: Exception, enough: int = 3) -> None:
        self.error = error
        self.enough = enough
        self.calls = 0
        self.done = asyncio.Event()

    def sync(self) -> None:
        self.calls += 1
        if self.calls >= self.enough:
            self.done.set()
        if self.calls == 1:
            raise self.error

    async def refresh(self) -> None:
        self.sync()


LOOPS: dict[str, Callable[[Steps], Loop]] = {
    "the model registry folder": lambda steps: models_loop(steps.refresh, 0),
    "the rules folder": lambda steps: rules_loop(steps.refresh, 0),
    "the versions served": lambda steps: versions_loop(steps.sync, 0),
    "the metrics": lambda steps: metrics_loop(steps.sync, 0),
    "the learned acceptance": lambda steps: acceptance_loop(steps.refresh, OutageLog(), 0),
}


async def _run_until_done(background: Background, steps: Steps) -> None:
    background.start()
    async with asyncio.timeout(10):
        await steps.done.wait()


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize("what", LOOPS)
def test_a_loop_outlives_a_failed_step_says_so_and_stops(
    what: str, caplog: pytest.LogCaptureFixture
) -> None:
    steps = Steps(RuntimeError("the folder is on a disk that went away"))
    background = Background([LOOPS[what](steps)])

    async def scenario() -> None:
        await _run_until_done(background, steps)
        assert background.running() == [what]  # still going after the failed first step
        await background.stop()
        stopped_at = steps.calls
        await _settle()
        assert steps.calls == stopped_at
        assert background.running() == []

    asyncio.run(scenario())
    (failure,) = [r for r in caplog.records if r.getMessage() == f"could not look at {what}"]
    assert failure.exc_info is not None
    assert "on a disk that went away" in caplog.text


def test_the_learned_acceptance_says_an_outage_once_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = sa.OperationalError("SELECT", None, ConnectionRefusedError("connection refused"))
    steps = Steps(outage)
    outages = OutageLog()
    background = Background([acceptance_loop(steps.refresh, outages, 0)])

    async def scenario() -> None:
        await _run_until_done(background, steps)
        await background.stop()

    asyncio.run(scenario())
    assert outages.down_since is not None  # back only when a new connection is made
    assert "the database is unavailable (ConnectionRefusedError: connection refused)" in (
        caplog.text
    )
    assert "could not look at" not in caplog.text


def test_the_loops_start_together_and_stop_together() -> None:
    steps = {what: Steps(RuntimeError("once"), enough=2) for what in LOOPS}
    background = Background([make(steps[what]) for what, make in LOOPS.items()])

    async def scenario() -> None:
        background.start()
        async with asyncio.timeout(10):
            await asyncio.gather(*(s.done.wait() for s in steps.values()))
        assert background.running() == list(LOOPS)
        await background.stop()
        assert background.running() == []

    asyncio.run(scenario())


def test_stopping_loops_never_started_does_nothing() -> None:
    asyncio.run(Background([LOOPS["the metrics"](Steps(RuntimeError()))]).stop())
