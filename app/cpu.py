"""How many threads a command may take on a shared machine, and how they wait.

OpenMP threads that wait for work spin by default (`OMP_WAIT_POLICY=ACTIVE` in effect): on a
machine whose cores are busy with someone else's work, LightGBM's threads then burn the
cores they wait for, and a 200-tree fit took 3 to 6 times as long as on one thread. The
`clientscore` command sets the passive policy before LightGBM is loaded (`passive_waits`),
and each command that fits or predicts takes `fair_share()` threads unless told otherwise.
"""

from __future__ import annotations

import math
import os
import time

WAIT_POLICY = "OMP_WAIT_POLICY"
SAMPLE_SECONDS = 0.1  # how long `busy_cores` watches the machine


def passive_waits() -> None:
    """Waiting OpenMP threads sleep instead of spinning (unless the environment says else).

    OpenMP reads the variable once, when the runtime starts: this must run before LightGBM
    (or anything else using OpenMP) is imported. Child processes inherit it.
    """
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")


def cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy_cores(seconds: float = SAMPLE_SECONDS) -> float:
    """The cores the machine's other work keeps busy now: its CPU time over `seconds`
    (/proc/stat, while this process sleeps), or the one-minute load average where that
    cannot be read.

    Not the load average first: it decays over minutes, so right after a run of one's own it
    still counts that run, and a second run on an idle machine would take one core of two.
    """
    try:
        before = _cpu_times()
        time.sleep(seconds)
        after = _cpu_times()
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0
    spent = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(spent)
    if total <= 0:
        return 0.0
    idle = spent[3] + spent[4]  # idle and iowait
    return (total - idle) / total * (os.cpu_count() or 1)


def _cpu_times() -> list[int]:
    """The machine's CPU time by kind (user, nice, system, idle, iowait, ...), in ticks."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    if fields[0] != "cpu":
        raise ValueError("/proc/stat: no cpu line first")
    return [int(value) for value in fields[1:8]]


def fair_share(load: float | None = None) -> int:
    """The threads a command may take: the cores it may use less those other work keeps busy.

    `load` is the busy cores (`busy_cores()` when not given); at least one thread, at most
    every core of the affinity.
    """
    if load is None:
        load = busy_cores()
    total = cores()
    return max(1, min(total, total - math.floor(load + 0.5)))
