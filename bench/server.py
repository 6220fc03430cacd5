"""A scratch Postgres database and a real `clientscore serve` process, for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

ADMIN_URL = os.environ.get(
    "CLIENTSCORE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CLI = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh, migrated database; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"clientscore_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    try:
        env = {**os.environ, "CLIENTSCORE_DATABASE_URL": url}
        subprocess.run([*CLI, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """A running `clientscore serve`: its base URL, an admin key and the server's process id."""

    base_url: str
    token: str
    pid: int


def load_demo_book(url: str, *, clients: int, seed: int) -> None:
    """Stores a synthetic book with `clientscore demo-data`, as an operator would."""
    env = {**os.environ, "CLIENTSCORE_DATABASE_URL": url}
    command = [*CLI, "demo-data", "--clients", str(clients), "--seed", str(seed)]
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)


@contextmanager
def running_server(url: str, *, workers: int = 1) -> Iterator[tuple[str, str]]:
    """Serves the database with `clientscore serve`; yields (base URL, admin key)."""
    with serving(url, workers=workers) as served:
        yield served.base_url, served.token


@contextmanager
def serving(url: str, *, workers: int = 1) -> Iterator[Served]:
    """Serves the database with `clientscore serve` until the block ends."""
    env = {**os.environ, "CLIENTSCORE_DATABASE_URL": url, "CLIENTSCORE_LOG_LEVEL": "WARNING"}
    made = subprocess.run(
        [*CLI, "keys", "create", "--name", "bench", "--scopes", "admin"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", str(workers)], env=env, cwd=ROOT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # two workers each load the models on a busy host
        while True:
            try:
                if httpx.get(f"{base_url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.2)
        yield Served(base_url=base_url, token=token, pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
