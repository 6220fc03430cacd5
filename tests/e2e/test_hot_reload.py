"""A real two-worker server switching champions under steady traffic.

Promotions from the CLI and over HTTP reach both worker processes within a few poll
intervals with no failed request, and a broken version named by hand is refused by both
while they keep serving the champion before it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_server import mint_key, run, serving
from tests.model_versions import (
    corrupt,
    point_by_hand,
    service_features,
    service_registry,
    write_version,
)
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
pytestmark = pytest.mark.e2e
WORKERS = 2
PAUSE = 0.05  # seconds between one client's asks


@dataclass
class Traffic:
    """Client threads asking `GET /v1/models` and `/readyz` steadily (each at most 20 times a
    second: unpaused, they took both cores from the workers they test), on new connections (a
    kept-alive connection would stay with one worker), recording what each worker serves."""

    base: str
    token: str
    failures: list[str] = field(default_factory=list)
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, limits=limits, timeout=10) as http:
            while not self._stop.wait(PAUSE):
                self._ask(http)

    def _ask(self, http: httpx.Client) -> None:
        try:
            models, ready = http.get("/v1/models"), http.get("/readyz")
        except httpx.HTTPError as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
            return
        with self._lock:
            self.requests += 2
            for response in (models, ready):
                if response.status_code != 200:
                    self.failures.append(f"{response.request.url}: {response.text}")
            if models.status_code == 200:
                body = models.json()
                self.seen[body["served_by"]] = {m["name"]: m for m in body["models"]}

    def forget(self) -> None:
        with self._lock:
            self.seen.clear()

    def every_worker(self, check: Callable[[dict[str, Any]], bool]) -> bool:
        with self._lock:
            return len(self.seen) == WORKERS and all(check(m) for m in self.seen.values())

    def stop(self) -> None:
        self._stop.set()


def wait_for(what: str, condition: Callable[[], bool], traffic: Traffic, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} within {seconds} s; workers saw {traffic.seen}")


@contextmanager
def _served(
    db_url: str, tmp_path: Path, root: Path, **settings: str
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Two workers on the registry `root`, polling it often; the operator's admin key."""
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": db_url,
        "CLIENTSCORE_MODELS_DIR": str(root),
        "CLIENTSCORE_MODEL_RELOAD_SECONDS": "0.3",
        **settings,
    }
    token = mint_key(db_url, "admin", name="operator")  # the database is migrated by its fixture
    with serving(env, tmp_path / "server.log", workers=WORKERS) as base:
        yield base, token, env


@pytest.fixture
def registry_server(
    db_url: str, tmp_path: Path
) -> Iterator[tuple[str, str, dict[str, str], Path, dict[str, str]]]:
    root = tmp_path / "models"
    champions = service_registry(root)
    with _served(db_url, tmp_path, root) as (base, token, env):
        yield base, token, env, root, champions


# Champions live in files: the database only holds the operator's key, so SQLite is enough.
@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_workers_follow_promotions_without_failing_a_request(
    registry_server: tuple[str, str, dict[str, str], Path, dict[str, str]],
) -> None:
    base, token, env, root, champions = registry_server
    traffic = Traffic(base, token)
    clients = [threading.Thread(target=traffic.run) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        wait_for("both workers answer", lambda: len(traffic.seen) == WORKERS, traffic, 30)

        # (a)+(b) The CLI moves the pointer on disk; every worker picks it up by polling.
        lapse = write_version(root, "lapse", service_features()["lapse"], seed=7)
        promoted = run(env, "models", "promote", "lapse", lapse)
        assert promoted.returncode == 0, promoted.stderr
        traffic.forget()
        wait_for(
            "every worker serves the lapse version promoted by the CLI",
            lambda: traffic.every_worker(lambda m: m["lapse"]["served"] == lapse),
            traffic,
            10,
        )

        # Over HTTP the answering worker switches before it answers; the other one follows.
        claims = write_version(root, "claims", service_features()["claims"], seed=7)
        response = httpx.put(
            f"{base}/v1/models/claims/champion",
            json={"version": claims},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["served"] == claims
        traffic.forget()
        wait_for(
            "every worker serves the claims version promoted over HTTP",
            lambda: traffic.every_worker(lambda m: m["claims"]["served"] == claims),
            traffic,
            10,
        )

        # (c) A corrupt version named in champion.json by hand: refused, the old one serves on.
        broken = write_version(root, "lapse", service_features()["lapse"], seed=8)
        corrupt(root, "lapse", broken)
        point_by_hand(root, "lapse", broken)
        traffic.forget()
        wait_for(
            "every worker refuses the corrupt lapse version and keeps the previous one",
            lambda: traffic.every_worker(
                lambda m: (
                    m["lapse"]["champion"] == broken
                    and m["lapse"]["served"] == lapse
                    and "model.txt is corrupt" in (m["lapse"]["error"] or "")
                )
            ),
            traffic,
            10,
        )
    finally:
        traffic.stop()
        for client in clients:
            client.join()
    assert traffic.failures == []
    assert traffic.requests > 50
    untouched = champions["propensity"]
    assert all(m["propensity"]["served"] == untouched for m in traffic.seen.values())


@pytest.fixture
def simulating_server(
    db_url: str, tmp_path: Path, models_dir: Path, calibrated_rules: Path
) -> Iterator[tuple[str, str, dict[str, str], Path, Path]]:
    """Two workers serving trained champions (a simulation classifies with them) and a
    calibrated ruleset, both copies of the test's own."""
    root, rules = tmp_path / "models", tmp_path / "rules"
    shutil.copytree(models_dir, root)
    shutil.copytree(calibrated_rules, rules)
    with _served(db_url, tmp_path, root, CLIENTSCORE_RULES_DIR=str(rules)) as (base, token, env):
        yield base, token, env, root, rules


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_a_promotion_reaches_every_worker_while_simulations_run(
    simulating_server: tuple[str, str, dict[str, str], Path, Path],
) -> None:
    """What-if simulations run in child processes: a worker busy with one still follows a
    promotion within seconds, and one more than its bound is refused at once."""
    base, token, env, root, rules = simulating_server
    files = {
        str(path.relative_to(rules)): path.read_text()
        for path in rules.rglob("*")
        if path.is_file() and path.suffix in {".json", ".yaml"}
    }
    headers = {"Authorization": f"Bearer {token}"}
    answers: list[int] = []
    details: list[str] = []

    def simulate() -> None:
        response = httpx.post(
            f"{base}/v1/rules:simulate",
            json={"files": files, "sample": 100_000},
            headers=headers,
            timeout=600,
        )
        answers.append(response.status_code)
        if response.status_code not in (200, 429):
            details.append(response.text)

    traffic = Traffic(base, token)
    clients = [threading.Thread(target=traffic.run) for _ in range(2)]
    simulations = [threading.Thread(target=simulate) for _ in range(3)]
    for thread in (*clients, *simulations):
        thread.start()
    try:
        wait_for("both workers answer", lambda: len(traffic.seen) == WORKERS, traffic, 30)
        time.sleep(2)  # the simulations' children are at work
        lapse = write_version(root, "lapse", service_features()["lapse"], seed=7)
        promoted = run(env, "models", "promote", "lapse", lapse)
        assert promoted.returncode == 0, promoted.stderr
        traffic.forget()
        wait_for(
            "every worker serves the promoted lapse version while simulating",
            lambda: traffic.every_worker(lambda m: m["lapse"]["served"] == lapse),
            traffic,
            10,
        )
    finally:
        traffic.stop()
        for thread in (*clients, *simulations):
            thread.join()
    assert traffic.failures == []
    assert 429 in answers, answers  # three simulations, one slot on each of two workers
    assert set(answers) <= {200, 429}, details
