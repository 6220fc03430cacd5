"""Runs wrk against one URL with a file of POST bodies and reads its figures.

wrk is the Debian package; `ensure_wrk` installs it when missing (the harness runs as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

SCRIPT = Path(__file__).with_name("post_bodies.lua")
MARK = "wrk-result "


@dataclass(frozen=True)
class Load:
    """How wrk drives a server: one thread leaves the other core to the server."""

    connections: int = 16
    duration_s: int = 20
    warmup_s: int = 5
    threads: int = 1
    timeout_s: int = 5


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_us: int
    p50_us: float
    p99_us: float
    mean_us: float
    max_us: float
    http_errors: int
    connect: int
    read: int
    write: int
    timeout: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / (self.duration_us / 1e6)

    @property
    def socket_errors(self) -> int:
        return self.connect + self.read + self.write + self.timeout

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "requests_per_s": self.requests_per_s}


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get first if it is not there."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it (`apt-get install -y wrk`) or run as root")
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    # A fresh machine may have no package lists yet.
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for apt in (["update"], ["install", "-y", "wrk"]):
        done = subprocess.run(["apt-get", "-qq", *apt], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"apt-get {' '.join(apt)} failed:\n{done.stdout}{done.stderr}")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get installed wrk but it is not on PATH")
    return found


def run_wrk(
    wrk: str, url: str, bodies: Path, load: Load, *, authorization: str = "", cookie: str = ""
) -> WrkResult:
    """Warms the server up for `load.warmup_s`, then measures for `load.duration_s`."""
    if load.warmup_s > 0:
        _once(wrk, url, bodies, load, load.warmup_s, authorization, cookie)
    return _once(wrk, url, bodies, load, load.duration_s, authorization, cookie)


def _once(
    wrk: str, url: str, bodies: Path, load: Load, seconds: int, authorization: str, cookie: str
) -> WrkResult:
    command = [
        wrk,
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={seconds}s",
        f"--timeout={load.timeout_s}s",
        f"--script={SCRIPT}",
        url,
        "--",
        str(bodies),
        authorization,
        cookie,
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            return WrkResult(**orjson.loads(line.removeprefix(MARK)))
    raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
