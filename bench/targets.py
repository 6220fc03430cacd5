"""The issue's targets, and ratios of two cases measured in interleaved rounds.

Two cases compared in one process run in turn (a, c, a, c, ...) for several rounds, so a
slow moment of a shared machine falls on both; each round gives one ratio, and the line
shows the median with the spread (lowest to highest) and whether the target is met.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    label: str
    bound: float | None  # None: shown, no target
    at_most: bool = False  # the figure must be <= bound (else >=)
    unit: str = "x"

    def met(self, value: float) -> bool | None:
        if self.bound is None:
            return None
        return value <= self.bound if self.at_most else value >= self.bound

    def text(self) -> str:
        if self.bound is None:
            return "none"
        return f"{'<=' if self.at_most else '>='} {self.bound:g}{self.unit}"


ONE_CLIENT = Target("one client, vs the lapse model's one-row predict", 3.0, at_most=True)
ONE_CLIENT_REASONS = Target("one client with reasons, vs the same", 8.0, at_most=True)
BATCH = Target("batch of 10,000, vs the lapse model's own predict", 0.05, at_most=False)
BOOK = Target("book embedded, vs the claims model's own predict", 0.30, at_most=False)
BOOK_REASONS = Target("book with reasons, vs the same", 0.05, at_most=False)
BIG_BOOK_RSS = Target("10,000,000-client book, peak RSS", 1536, at_most=True, unit=" MB")


def verdict(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "MISSED"


def interleaved(cases: dict[str, Callable[[int], float]], rounds: int) -> dict[str, list[float]]:
    """Each case's figure per round, the cases run in turn within each round."""
    figures: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(rounds):
        for name, case in cases.items():
            figures[name].append(case(r))
    return figures


def ratio_line(target: Target, ratios: list[float]) -> str:
    """The median ratio with its spread over the rounds, against the target."""
    median = statistics.median(ratios)
    spread = f"{min(ratios):.3f}-{max(ratios):.3f}"
    return (
        f"  {target.label:<52}{median:>8.3f}x  ({len(ratios)} rounds, {spread})  "
        f"target {target.text():<11}{verdict(target.met(median))}"
    )


def figure_line(target: Target, value: float) -> str:
    return (
        f"  {target.label:<52}{value:>8.0f}{target.unit}  "
        f"target {target.text():<11}{verdict(target.met(value))}"
    )


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
