"""The threads a command takes on a shared machine, and OpenMP's wait policy."""

from __future__ import annotations

import os
import threading

import pytest

from app.cpu import WAIT_POLICY, busy_cores, cores, fair_share, passive_waits


def test_the_fair_share_is_the_free_cores_at_least_one() -> None:
    total = cores()
    assert total == len(os.sched_getaffinity(0))
    assert fair_share(load=0.0) == total
    assert fair_share(load=total - 1.0) == 1
    assert fair_share(load=10.0 * total) == 1
    if total >= 2:
        assert fair_share(load=0.6) == total - 1
        assert fair_share(load=0.4) == total


def test_busy_cores_see_a_core_spinning_now() -> None:
    quiet = busy_cores(0.3)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        busy = busy_cores(0.3)
    finally:
        stop.set()
        spinner.join()
    assert 0.0 <= quiet <= (os.cpu_count() or 1)
    assert busy >= 0.5  # the spinning thread's core, whatever else the machine does


def test_waits_are_passive_unless_the_environment_says_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(WAIT_POLICY, raising=False)
    passive_waits()
    assert os.environ[WAIT_POLICY] == "PASSIVE"
    monkeypatch.setenv(WAIT_POLICY, "ACTIVE")
    passive_waits()
    assert os.environ[WAIT_POLICY] == "ACTIVE"
