"""Per-test CPU and wall, written as JSON lines when CLIENTSCORE_TEST_CPU_LOG names a folder.

    CLIENTSCORE_TEST_CPU_LOG=/tmp/cpu pytest -p tests.cpu_log -n 2 --dist loadfile
    python -m tests.cpu_log /tmp/cpu          # CPU, wall and processes started, by file

CPU is the test process's plus its reaped children's (servers, commands, browsers), so a
module's servers count at the test whose teardown stops them. Not counted: processes that
are not the test's own children when they end (a simulation's forkserver children, the
PostgreSQL server).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_spawned = [0]
_original_init = subprocess.Popen.__init__


def _counting_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
    _spawned[0] += 1
    _original_init(self, *args, **kwargs)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001
    if os.environ.get("CLIENTSCORE_TEST_CPU_LOG"):
        subprocess.Popen.__init__ = _counting_init  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    folder = os.environ.get("CLIENTSCORE_TEST_CPU_LOG")
    if not folder:
        yield
        return
    cpu, wall, spawned = _cpu(), time.perf_counter(), _spawned[0]
    yield
    record = {
        "test": item.nodeid,
        "cpu": round(_cpu() - cpu, 3),
        "wall": round(time.perf_counter() - wall, 3),
        "spawned": _spawned[0] - spawned,
    }
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (Path(folder) / f"{worker}.jsonl").open("a") as log:
        log.write(json.dumps(record) + "\n")


def summary(folder: Path, top: int = 25) -> str:
    by_file: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for log in folder.glob("*.jsonl"):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            sums = by_file[record["test"].split("::")[0]]
            for index, key in enumerate(("cpu", "wall", "spawned")):
                sums[index] += record[key]
            sums[3] += 1
    total = [sum(sums[i] for sums in by_file.values()) for i in range(4)]
    lines = [f"CPU s  wall s  started  tests  file (of {total[0]:.0f} s CPU, {total[3]:.0f} tests)"]
    for name, (cpu, wall, spawned, tests) in sorted(by_file.items(), key=lambda kv: -kv[1][0])[
        :top
    ]:
        lines.append(f"{cpu:5.1f}  {wall:6.1f}  {spawned:7.0f}  {tests:5.0f}  {name}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])))  # noqa: T201
