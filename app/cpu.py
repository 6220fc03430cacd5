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

WAIT_POLICY = "OMP_WAIT_POLICY"


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


def fair_share(load: float | None = None) -> int:
    """The threads a command may take: the cores it may use less those the load keeps busy.

    `load` is the one-minute load average (read from the system when not given); at least one
    thread, at most every core of the affinity.
    """
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    total = cores()
    return max(1, min(total, total - math.floor(load + 0.5)))
