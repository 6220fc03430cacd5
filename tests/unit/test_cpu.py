"""The threads a command takes on a shared machine, and OpenMP's wait policy."""

from __future__ import annotations

import os

import pytest

from app.cpu import WAIT_POLICY, cores, fair_share, passive_waits


def test_the_fair_share_is_the_free_cores_at_least_one() -> None:
    total = cores()
    assert total == len(os.sched_getaffinity(0))
    assert fair_share(load=0.0) == total
    assert fair_share(load=total - 1.0) == 1
    assert fair_share(load=10.0 * total) == 1
    if total >= 2:
        assert fair_share(load=0.6) == total - 1
        assert fair_share(load=0.4) == total


def test_waits_are_passive_unless_the_environment_says_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(WAIT_POLICY, raising=False)
    passive_waits()
    assert os.environ[WAIT_POLICY] == "PASSIVE"
    monkeypatch.setenv(WAIT_POLICY, "ACTIVE")
    passive_waits()
    assert os.environ[WAIT_POLICY] == "ACTIVE"
