"""The throttle of failed authentications, on a clock the test moves."""

from __future__ import annotations

import pytest

from app.auth.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_or_a_key_id_past_the_limit_waits_until_the_window_moves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, refused = Clock(), list[str]()
    throttle = Throttle(3, 60.0, on_refused=refused.append, clock=clock)
    for i in range(3):
        assert throttle.wait("10.0.0.1", f"k{i}") is None
        throttle.failed("10.0.0.1", f"k{i}")
        clock.now += 1
    assert throttle.wait("10.0.0.1", "other") == pytest.approx(57.0)
    assert throttle.wait("10.0.0.2", "other") is None  # another address may try
    assert refused == ["address"]
    for address in ("10.0.0.3", "10.0.0.4", "10.0.0.5"):  # one key id guessed from three
        throttle.failed(address, "victim")
    assert throttle.wait("10.0.0.9", "victim") == pytest.approx(60.0)
    assert refused == ["address", "key"]
    clock.now += 61
    assert throttle.wait("10.0.0.1", "victim") is None
    lines = [r.getMessage() for r in caplog.records if "failed authentications" in r.getMessage()]
    assert len(lines) == 2  # one per burst: the address's and the key id's
    assert "10.0.0.1" not in caplog.text
    assert "key id victim" in caplog.text


def test_failures_spread_over_more_than_the_window_are_never_refused() -> None:
    clock = Clock()
    throttle = Throttle(3, 60.0, clock=clock)
    for _ in range(10):
        throttle.failed("10.0.0.1", None)
        assert throttle.wait("10.0.0.1", None) is None
        clock.now += 31
