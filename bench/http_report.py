"""The HTTP benchmark's table, ratios against the targets, and its JSON record."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.wrk.runner import Load, WrkResult

RSS_TARGET_MB = 300
A_P99_TARGET_MS = 10.0
B_P99_TARGET_MS = 30.0
# "At the rate of (b)": within 5%, the run-to-run spread of one case on this machine.
SAME_RATE = 0.95
CARD_RATE = 0.5  # the desk's card, a page with the client's history, at half the rate of (b)


@dataclass(frozen=True)
class Measured:
    key: str
    label: str
    result: WrkResult

    @property
    def errors(self) -> int:
        return self.result.http_errors + self.result.socket_errors


@dataclass(frozen=True)
class Memory:
    """The clientscore worker's resident memory, from /proc/<pid>/status, in MB."""

    pid: int
    ready_mb: float
    after_mb: float
    peak_mb: float


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB: now and the peak."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["VmHWM"][0]) / 1024


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def ratios(cases: dict[str, Measured]) -> list[dict[str, Any]]:
    rps = {key: case.result.requests_per_s for key, case in cases.items()}
    a_p99_ms = cases["a"].result.p99_us / 1000
    b_p99_ms = cases["b"].result.p99_us / 1000
    rows: list[tuple[str, float, str, bool | None]] = [
        (
            "a/c",
            rps["a"] / rps["c"],
            f">= 1.5, with a's p99 <= {A_P99_TARGET_MS:.0f} ms",
            rps["a"] >= 1.5 * rps["c"] and a_p99_ms <= A_P99_TARGET_MS,
        ),
        ("a'/c", rps["a'"] / rps["c"], ">= 1.0", rps["a'"] >= 1.0 * rps["c"]),
        (
            "b/c",
            rps["b"] / rps["c"],
            f">= 0.5, with b's p99 <= {B_P99_TARGET_MS:.0f} ms",
            rps["b"] >= 0.5 * rps["c"] and b_p99_ms <= B_P99_TARGET_MS,
        ),
        (
            "e/b",
            rps["e"] / rps["b"],
            f">= {SAME_RATE} (the rate of b)",
            rps["e"] >= SAME_RATE * rps["b"],
        ),
        ("f/b", rps["f"] / rps["b"], f">= {CARD_RATE}", rps["f"] >= CARD_RATE * rps["b"]),
        ("a/d", rps["a"] / rps["d"], "none: d is the framework's ceiling", None),
    ]
    return [{"ratio": n, "value": v, "target": t, "met": m} for n, v, t, m in rows]


def _verdict(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "MISSED"


def print_table(cases: dict[str, Measured], load: Load, memory: Memory) -> None:
    print(
        f"\nHTTP: one server worker each, OMP_NUM_THREADS=1; wrk {load.threads} thread, "
        f"{load.connections} connections, {load.duration_s} s after a {load.warmup_s} s "
        f"warm-up; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'case':<76}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'4xx/5xx':>9}{'socket':>8}")
    for case in cases.values():
        r = case.result
        print(
            f"{f'({case.key})':<5}{case.label:<71}{r.requests_per_s:>8.0f}"
            f"{r.p50_us / 1000:>8.2f}{r.p99_us / 1000:>8.2f}{r.http_errors:>9}{r.socket_errors:>8}"
        )
    print(f"\n{'ratio of req/s':<16}{'value':>7}   {'target':<40}")
    for row in ratios(cases):
        print(f"{row['ratio']:<16}{row['value']:>7.2f}   {row['target']:<40}{_verdict(row['met'])}")
    met = memory.after_mb <= RSS_TARGET_MB
    print(
        f"\nclientscore worker RSS (pid {memory.pid}, uvicorn serving in-process): "
        f"{memory.ready_mb:.0f} MB with the models loaded, {memory.after_mb:.0f} MB after the "
        f"runs (peak {memory.peak_mb:.0f} MB); target <= {RSS_TARGET_MB} MB: {_verdict(met)}"
    )
    bad = [case for case in cases.values() if case.errors]
    for case in bad:
        r = case.result
        print(
            f"ERRORS in ({case.key}): {r.http_errors} responses 4xx/5xx, socket errors: "
            f"connect {r.connect}, read {r.read}, write {r.write}, timeout {r.timeout}"
        )


def record(
    cases: dict[str, Measured], load: Load, memory: Memory, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        **extra,
        "cores": os.cpu_count(),
        "load": load.__dict__,
        "cases": {
            key: {"label": case.label, "errors": case.errors, **case.result.as_dict()}
            for key, case in cases.items()
        },
        "ratios": ratios(cases),
        "rss_mb": {**memory.__dict__, "target": RSS_TARGET_MB},
    }


def write_record(folder: Path, stamp: str, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"http-{stamp}.json"
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return path
