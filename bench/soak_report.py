"""The soak's record (written as JSON) and its printed report."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.loadgen import Run
from bench.loadtally import Tally

SAMPLE_SECONDS = 10


@dataclass(frozen=True)
class Phase:
    """A phase of the soak: what became of its requests, its run, the rate it was sent at
    (0 for the closed loop)."""

    tally: Tally
    run: Run
    rate: float
    cpu: dict[str, float]  # cores used on average (bench.proc_cpu.spent)

    @property
    def answered_rate(self) -> float:
        return self.tally.count() / self.run.seconds

    @property
    def served_rate(self) -> float:
        return self.tally.served / self.run.seconds

    def figures(self) -> dict[str, Any]:
        return {
            "offered_rps": self.rate or None,
            "sent": self.run.sent,
            "seconds": self.run.seconds,
            "answered_rps": self.answered_rate,
            "served_rps": self.served_rate,
            "generator_cpu_us_per_request": self.run.cpu_us_per_request,
            "cores_used": self.cpu,
            **self.tally.summary(),
        }


def flat(series: list[float]) -> tuple[float, float, bool]:
    """Mean RSS of the second minute and of the last one, and whether they are within 5%."""
    per_minute = 60 // SAMPLE_SECONDS
    second = series[per_minute : 2 * per_minute]
    last = series[-per_minute:]
    if not second or len(series) < 3 * per_minute:
        return 0.0, 0.0, True
    a, b = float(np.mean(second)), float(np.mean(last))
    return a, b, abs(b - a) <= 0.05 * a


def record(
    stamp: str,
    args: argparse.Namespace,
    peak: Phase,
    soak: Phase,
    rss: dict[int, list[float]],
    **context: Any,
) -> dict[str, Any]:
    return {
        "when": stamp,
        "load_average_at_end": os.getloadavg(),
        "seconds": args.seconds,
        "clients": args.clients,
        "workers": 2,
        **context,
        "peak_rps": peak.served_rate,
        "fraction": args.fraction,
        "rate_rps": soak.rate,
        "peak": peak.figures(),
        "soak": soak.figures(),
        "rss_every_10s": {str(pid): {"rss_mb": s, "flat": flat(s)} for pid, s in rss.items()},
    }


def steady(result: dict[str, Any]) -> bool:
    return all(entry["flat"][2] for entry in result["rss_every_10s"].values())


def _ms(figures: dict[str, float]) -> str:
    if not figures.get("count"):
        return "none"
    return (
        f"{figures['count']:,}: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
        f"max {figures['max_ms']:.0f} ms"
    )


def print_report(result: dict[str, Any], *, max_connections: int) -> None:
    peak, soak = result["peak"], result["soak"]
    print(f"2 workers, each shedding past {result['max_in_flight']} requests in flight")
    print(
        f"peak {peak['served_rps']:.1f} req/s served (closed loop, {result['connections']} "
        f"connections): {_ms(peak['served_all'])}, {peak['shed']:,} shed; generator "
        f"{peak['generator_cpu_us_per_request']:.0f} us CPU a request"
    )
    unsent = sum(soak["unsent"].values())
    print(
        f"offered {soak['offered_rps']:.1f} req/s for {result['seconds']} s: sent "
        f"{soak['sent']:,}, the generator could not send {unsent:,} (all of its "
        f"{max_connections:,} connections busy)"
    )
    errors = sum(soak["errors"].values())
    print(
        f"served {soak['served_rps']:.1f} req/s: {soak['served']:,} served, {soak['shed']:,} "
        f"shed (503 overloaded), {errors:,} errors {soak['errors'] or ''}"
    )
    print(f"served  {_ms(soak['served_all'])}")
    print(f"shed    {_ms(soak['shed_all'])}")
    for kind, figures in soak["served_kinds"].items():
        print(f"  {kind:7} served {_ms(figures)}; answers {soak['by_status'][kind]}")
    windows = soak["every_10s"]
    p99s = ", ".join(f"{w['served'].get('p99_ms', 0):.0f}" for w in windows)
    print(f"p99 ms of the served every 10 s: {p99s}")
    print(f"shed every 10 s: {', '.join(str(w['shed']) for w in windows)}")
    lag = soak["send_lag"]
    print(
        f"generator: {soak['generator_cpu_us_per_request']:.0f} us CPU a request; a request "
        f"written late by p50 {lag.get('p50_ms', 0):.2f} ms, p99 {lag.get('p99_ms', 0):.2f} ms "
        f"(connects included)"
    )
    for name, phase in (("peak", peak), ("soak", soak)):
        used = phase["cores_used"]
        print(
            f"cores used in the {name}: workers {used['workers']:.2f}, generator "
            f"{used['generator']:.2f}, Postgres {used['postgres']:.2f}, the rest "
            f"{used['rest']:.2f}; "
            f"machine {used['machine']:.2f} of {used['cores']:.0f}"
        )
    for pid, entry in result["rss_every_10s"].items():
        second, last, ok = entry["flat"]
        series = ", ".join(f"{x:.0f}" for x in entry["rss_mb"])
        print(f"worker {pid} RSS MB every 10 s: {series}")
        verdict = "flat" if ok else "NOT FLAT"
        print(f"  2nd minute {second:.0f} MB, last minute {last:.0f} MB: {verdict}")
