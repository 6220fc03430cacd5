"""What-if simulations in a child process of their own: bounded in number, time and memory.

A simulation classifies a sample book twice; a large sample or a candidate that falls back
to zen-engine can take minutes and gigabytes. So each runs in a child process, never on the
worker's own threads (hot reload and the ruleset store keep theirs): at most `concurrency`
at once per worker (past it 429 with `Retry-After`), killed past `timeout_seconds` or once
its resident memory passes `memory_mb` (503 saying which limit). The child pins the models
and ruleset the worker serves (their files, by version), checks the candidate as
`PUT /v1/rules` does, and sends back the summary or the candidate's problems. A job that
explores (`cases="report"`) is not refused for failing example cases: the summary lists
them under `failing_cases`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.forkserver
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.errors import TooManyRequests, Unavailable
from app.rules.errors import RulesetRefused
from app.rules.ruleset import Cases

SEED = 7
_POLL_SECONDS = 0.1
# Children are forked from a server process that has imported what a simulation runs
# (NumPy, LightGBM, pyarrow, the rules compiler: about 1.8 s a start when each child is
# spawned afresh). The server is clean, so nothing of the worker's threads is forked; it
# starts with the first simulation, or earlier from `Sandbox.warm`.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["app.book.sandbox", "app.book.bundle", "app.book.whatif"])


class SimulationLimit(Unavailable):
    code, title = "simulation_limit", "Simulation past its limit"


class SimulationFailed(Unavailable):
    code, title = "simulation_failed", "Simulation failed"


@dataclass(frozen=True)
class Job:
    """What a child needs: where the served versions are, which, and the candidate."""

    models_dir: Path
    rules_dir: Path
    versions: dict[str, Any]
    files: dict[str, bytes]
    sample: int
    as_of: date
    cases: Cases = "enforce"


def _child(job: Job, out: Connection) -> None:  # pragma: no cover - runs in the child
    from app.book.bundle import Bundle, load
    from app.book.whatif import sample_partitions, simulate
    from app.rules.store import check_candidate

    try:
        candidate = check_candidate(job.files, source="upload", cases=job.cases)
    except RulesetRefused as exc:
        out.send(("refused", list(exc.errors)))
        return
    try:
        pinned = load(Bundle.pin(job.models_dir, job.rules_dir, versions=job.versions))
        sim = simulate(
            pinned.champions,
            pinned.ruleset,
            candidate,
            sample_partitions(job.sample, SEED),
            as_of=job.as_of,
        )
    except Exception as exc:
        out.send(("failed", f"the simulation failed: {type(exc).__name__}: {exc}"))
        return
    failing = [asdict(problem) for problem in candidate.failing_cases]
    out.send(("done", {**sim.summary(), "failing_cases": failing}))


def _resident_mb(pid: int) -> float:
    """The process's resident memory, from /proc (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Sandbox:
    concurrency: int
    timeout_seconds: float
    memory_mb: int
    _running: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def warm(self) -> None:
        """Start the fork server in the background, so the next simulation does not wait for
        its imports (the what-if page asks for this when it is opened)."""
        threading.Thread(
            target=multiprocessing.forkserver.ensure_running, name="simulation-warm", daemon=True
        ).start()

    async def simulate(self, job: Job) -> dict[str, Any]:
        """The simulation's summary; 429 when every slot is taken, 422 for a refused
        candidate, 503 past the time or memory limit."""
        with self._lock:
            if self._running >= self.concurrency:
                raise TooManyRequests(
                    f"{self.concurrency} simulation(s) already run on this worker: try again "
                    "when one is done",
                    headers={"Retry-After": str(max(1, round(self.timeout_seconds / 4)))},
                )
            self._running += 1
        try:
            # Its own thread, not the loop's default executor: nothing else waits behind it.
            answer: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
            loop = asyncio.get_running_loop()
            thread = threading.Thread(
                target=self._watch, args=(job, loop, answer), name="simulation", daemon=True
            )
            thread.start()
            kind, value = await answer
        finally:
            with self._lock:
                self._running -= 1
        if kind == "refused":
            raise RulesetRefused("upload", value)
        if kind == "limit":
            raise SimulationLimit(value)
        if kind != "done":
            raise SimulationFailed(value)
        summary: dict[str, Any] = value
        return summary

    def _watch(
        self, job: Job, loop: asyncio.AbstractEventLoop, answer: asyncio.Future[tuple[str, Any]]
    ) -> None:
        result = self._run(job)

        def give() -> None:
            if not answer.done():  # the request may have been cancelled meanwhile
                answer.set_result(result)

        loop.call_soon_threadsafe(give)

    def _run(self, job: Job) -> tuple[str, Any]:
        receiving, sending = _CONTEXT.Pipe(duplex=False)
        child = _CONTEXT.Process(target=_child, args=(job, sending), daemon=True)
        child.start()
        sending.close()
        deadline = time.monotonic() + self.timeout_seconds
        try:
            while True:
                if receiving.poll(_POLL_SECONDS):
                    try:
                        result: tuple[str, Any] = receiving.recv()
                    except EOFError:
                        return "failed", _failed(child)
                    return result
                if not child.is_alive():
                    return "failed", _failed(child)
                if time.monotonic() > deadline:
                    return "limit", (
                        f"the simulation ran past {self.timeout_seconds:g} s and was stopped: "
                        "simulate a smaller `sample` (CLIENTSCORE_SIMULATION_TIMEOUT_SECONDS)"
                    )
                if _resident_mb(child.pid or 0) > self.memory_mb:
                    return "limit", (
                        f"the simulation passed {self.memory_mb} MB of memory and was stopped: "
                        "simulate a smaller `sample` (CLIENTSCORE_SIMULATION_MEMORY_MB)"
                    )
        finally:
            receiving.close()
            if child.is_alive():
                child.kill()
            child.join(timeout=10)


def _failed(child: Any) -> str:
    child.join(timeout=5)
    return f"the simulation stopped without an answer (exit code {child.exitcode})"
