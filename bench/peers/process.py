"""Starting a peer server as its own process and waiting until it answers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

READY_TIMEOUT_S = 120


@contextmanager
def running_process(
    command: Sequence[str], *, ready_url: str, env: Mapping[str, str], log: Path, cwd: Path
) -> Iterator[int]:
    """Runs `command` until the block ends; yields its process id once `ready_url` says 200.

    Output goes to `log`, shown when the server does not come up.
    """
    with log.open("wb") as out:
        server = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(server, ready_url, log)
        yield server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"{log.stem} did not become ready at {url}:\n{tail}")
