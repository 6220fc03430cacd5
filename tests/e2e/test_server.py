"""The real `clientscore` command: migrate, mint a key, serve, and talk to it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.profiles.schemas import profile_example
from app.settings import Settings
from tests.conftest import empty_tables
from tests.integration.conftest import make_key

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "app.cli"]
pytestmark = pytest.mark.e2e


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def mint_key(url: str, *scopes: str, name: str) -> str:
    """A key stored in the database at `url` in-process: the `keys create` command costs a
    Python start, and this module's tests run it (`create_key`)."""
    return make_key(Settings.model_validate({"database_url": url}), *scopes, name=name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(
    backend_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """One served app per backend for the module's tests; each mints the keys it uses."""
    empty_tables(backend_url)
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": backend_url,
        "CLIENTSCORE_AUTH_CACHE_SECONDS": "1",
    }
    assert run(env, "migrate").returncode == 0
    with serving(env, tmp_path_factory.mktemp("server") / "server.log", workers=2) as base:
        yield base, env


def create_key(env: dict[str, str], name: str) -> str:
    made = run(env, "keys", "create", "--name", name, "--scopes", "profiles:read,profiles:write")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


@contextmanager
def serving(
    env: dict[str, str], log: Path, *, workers: int, port: int | None = None
) -> Iterator[str]:
    """A real `clientscore serve` on `port` (a free one by default), ready; its base URL.
    Stopped on exit."""
    port = port or free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    # Two workers each import LightGBM, pandas and scikit-learn: slow on a busy machine.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"server did not become ready: {log.read_text()}")


def test_served_api_round_trip(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    token = create_key(env, "e2e")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        created = http.put("/v1/clients/E-1", json=profile_example())
        assert created.status_code == 201
        assert http.get("/v1/clients/E-1").json()["personal"]["name"] == "王芳"
        assert http.get("/v1/clients/E-404").status_code == 404
        imported = http.post(
            "/v1/clients:import",
            content=b'{"client_id": "E-2", "kind": "corporate"}\n{"broken\n',
            headers={"Content-Type": "application/x-ndjson"},
        ).json()
        assert (imported["created"], imported["rejected"]) == (1, 1)
        assert http.get("/openapi.json").json()["info"]["title"] == "clientscore"
        assert httpx.get(f"{base}/v1/clients").status_code == 401


def test_cli_keys_list_and_revoke(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    token = create_key(env, "to-revoke")
    _, key_id, secret = token.split("_", 2)  # the secret may hold "_" itself
    listed = run(env, "keys", "list")
    assert key_id in listed.stdout
    assert secret not in listed.stdout
    assert run(env, "keys", "revoke", key_id).returncode == 0
    again = run(env, "keys", "revoke", key_id)
    assert again.returncode == 2
    assert "no active key" in again.stderr
    # The server trusts a verified key for at most auth_cache_seconds (1 s here).
    deadline = time.monotonic() + 5
    status = 200
    while time.monotonic() < deadline and status != 401:
        status = httpx.get(
            f"{base}/v1/clients", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        time.sleep(0.5)
    assert status == 401


# The refusals come before any database is used (or from the one that cannot be reached).
@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_cli_reports_bad_input_clearly(db_url: str) -> None:
    env = {**os.environ, "CLIENTSCORE_DATABASE_URL": db_url}
    bad_scope = run(env, "keys", "create", "--name", "x", "--scopes", "everything")
    assert bad_scope.returncode == 2
    assert "unknown scope 'everything'" in bad_scope.stderr
    no_db = run(
        {**env, "CLIENTSCORE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "keys", "list"
    )
    assert no_db.returncode == 2
    assert "CLIENTSCORE_DATABASE_URL" in no_db.stderr
