"""Where a phase's CPU went: the service's workers, this process, Postgres, the machine.

Read from /proc (Linux): a process's user and system time from /proc/<pid>/stat, the
machine's busy time from /proc/stat. What the machine spent beyond the workers, the
generator and Postgres is the kernel's own threads and anything else running.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def machine_busy_seconds() -> float:
    """CPU seconds the machine spent on anything but idle and I/O wait, all cores."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK  # less idle and iowait


def postgres_pids() -> dict[int, float]:
    """CPU seconds so far of every process named postgres (the server and its backends)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found[int(entry.name)] = process_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


@dataclass(frozen=True)
class CpuMark:
    workers: float
    generator: float
    postgres: dict[int, float]
    machine: float


def mark(workers: list[int]) -> CpuMark:
    return CpuMark(
        sum(process_seconds(pid) for pid in workers),
        process_seconds(os.getpid()),
        postgres_pids(),
        machine_busy_seconds(),
    )


def spent(start: CpuMark, end: CpuMark, seconds: float) -> dict[str, float]:
    """Cores used on average between two marks: workers, generator, Postgres, the rest
    (the kernel's threads, anything else running), the machine."""
    workers = (end.workers - start.workers) / seconds
    generator = (end.generator - start.generator) / seconds
    # A backend gone by the end is missed, one started meanwhile counted whole.
    postgres = sum(t - start.postgres.get(pid, 0.0) for pid, t in end.postgres.items()) / seconds
    machine = (end.machine - start.machine) / seconds
    return {
        "workers": workers,
        "generator": generator,
        "postgres": postgres,
        "rest": machine - workers - generator - postgres,
        "machine": machine,
        "cores": float(os.cpu_count() or 1),
    }
