"""A real Prometheus server scraping a real two-worker service under classification traffic.

What the dashboard and the alerts read is what Prometheus stores: the classes given, the
scores and the latencies of both workers added up, with the labels the queries use.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.classification.monitor import DIMENSIONS as CLASSES
from app.classification.monitor import SCORES
from tests.conftest import ON_POSTGRES
from tests.e2e.test_server import free_port, mint_key, serving
from tests.monitoring import PROMETHEUS_DIR, promtool, tool
from tests.traffic import book_clients, inline_profile

pytestmark = pytest.mark.e2e
WORKERS = 2
TARGET = ("instance", "job")  # the labels Prometheus adds
STORED = 12  # clients stored first, then classified by id (and audited)
CLIENTS = 'sum(clientscore_classifications_total{dimension="risk_tier"})'
CLASSIFY_STATUSES = 'sum by (status) (clientscore_http_requests_total{route="/v1/classify"})'
CLASSIFY_LATENCY = 'clientscore_http_request_duration_seconds_bucket{route="/v1/classify"}'


@dataclass
class Sent:
    """What callers were told, tallied the way the service's counters should count it."""

    clients: int = 0
    classes: Counter[tuple[str, str]] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    scores: Counter[str] = field(default_factory=Counter)
    classify_statuses: Counter[str] = field(default_factory=Counter)
    versions: dict[str, str] = field(default_factory=dict)

    def add(self, result: dict[str, Any]) -> None:
        self.clients += 1
        for dimension, (part, name) in CLASSES.items():
            given = (result[part] or {}).get(name)
            if given is not None:
                self.classes[dimension, given] += 1
        for model, (part, name) in SCORES.items():
            self.scores[model] += result[part][name] is not None
        self.actions.update(action["code"] for action in result["strategy"])
        self.versions |= result["versions"]["models"]


@dataclass
class Caller:
    base: str
    token: str
    sent: Sent = field(default_factory=Sent)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # calls run in threads

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        # A new connection per call: a kept-alive one would stay with one worker.
        response = httpx.request(
            method,
            f"{self.base}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        if path == "/v1/classify":
            with self._lock:
                self.sent.classify_statuses[str(response.status_code)] += 1
        return response

    def told(self, results: list[dict[str, Any]]) -> None:
        with self._lock:
            for result in results:
                self.sent.add(result)

    def classify(self, body: dict[str, Any]) -> None:
        response = self.call("POST", "/v1/classify", body)
        assert response.status_code == 200, response.text
        self.told([response.json()])

    def lookup(self, client_id: str) -> None:
        response = self.call("GET", f"/v1/clients/{client_id}/classification")
        assert response.status_code == 200, response.text
        self.told([response.json()])

    def batch(self, items: list[dict[str, Any]], *, explain: bool, failing: int = 0) -> None:
        response = self.call("POST", "/v1/classify:batch", {"items": items, "explain": explain})
        assert response.status_code == 200, response.text
        assert response.json()["failed"] == failing
        self.told([i["result"] for i in response.json()["items"] if i["status"] == 200])


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Caller]:
    for name in ("prometheus", "promtool"):  # a missing tool fails (or skips) before any start
        tool(name)
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": db_url,
        "CLIENTSCORE_METRICS_DIR": str(tmp_path / "metrics"),
    }
    token = mint_key(db_url, "classify", "profiles:write", name="e2e")  # a migrated database
    with serving(env, tmp_path / "server.log", workers=WORKERS) as base:
        yield Caller(base, token)


@contextmanager
def prometheus_server(tmp_path: Path, target: str) -> Iterator[str]:
    """A real Prometheus on a free loopback port scraping `target` every second and
    evaluating the alert rules; its base URL."""
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
        "scrape_configs": [{"job_name": "clientscore", "static_configs": [{"targets": [target]}]}],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = eventually(lambda: _ready(base) and process.poll() is None, seconds=30)
        assert ready, f"prometheus did not become ready: {log.read_text()}"
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def eventually(condition: Callable[[], bool], *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    """The instant vector of `promql` now: [{"metric": labels, "value": [time, "1"]}, ...]."""
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10)
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def by(labels: tuple[str, ...], series: list[dict[str, Any]]) -> dict[tuple[str, ...], float]:
    return {tuple(s["metric"][n] for n in labels): float(s["value"][1]) for s in series}


def label_names(series: list[dict[str, Any]]) -> set[frozenset[str]]:
    return {frozenset(s["metric"]) for s in series}


def workers_that_classified(base: str) -> set[str]:
    """Pids of the workers with a PSI series: each one sets it on its first classification."""
    exposition = httpx.get(f"{base}/metrics", timeout=10).text
    return {
        sample.labels["pid"]
        for family in text_string_to_metric_families(exposition)
        if family.name == "clientscore_model_score_psi"
        for sample in family.samples
    }


def drive(caller: Caller) -> None:
    """Single and batch classifications, with and without reasons, stored and inline
    clients, one refused request; from 4 threads, until both workers have classified."""
    wait_for_workers(caller)
    clients = book_clients(60, seed=7)
    for client_id, body in clients[:STORED]:
        stored = caller.call("PUT", f"/v1/clients/{client_id}", body)
        assert stored.status_code in {200, 201}, stored.text
    ids = [client_id for client_id, _ in clients[:STORED]]
    profiles = [inline_profile(body) for _, body in clients[STORED:]]
    refused_item = {"profile": profiles[0] | {"annual_premium": -5}}
    calls: list[Callable[[], None]] = [
        *(lambda p=p: caller.classify({"profile": p, "explain": False}) for p in profiles[:10]),
        *(lambda i=i: caller.classify({"client_id": i, "explain": True}) for i in ids[:6]),
        *(lambda i=i: caller.lookup(i) for i in ids[6:]),
        lambda: caller.batch(
            [{"profile": p} for p in profiles[10:30]] + [{"client_id": i} for i in ids],
            explain=False,
        ),
        lambda: caller.batch(
            [{"profile": p} for p in profiles[30:]] + [refused_item], explain=True, failing=1
        ),
        lambda: _refused(caller, {"profile": profiles[0], "client_id": ids[0]}),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(call) for call in calls]:
            done.result()
    # A worker accepts every pending connection at once, so one may have taken them all:
    # more traffic until both have classified.
    for _ in range(200):
        if len(workers_that_classified(caller.base)) == WORKERS:
            break
        caller.classify({"profile": profiles[0], "explain": False})
    assert len(workers_that_classified(caller.base)) == WORKERS


def wait_for_workers(caller: Caller) -> None:
    """Until both workers answer: on a busy machine uvicorn may still be starting one."""
    seen: set[int] = set()
    deadline = time.monotonic() + 90
    while len(seen) < WORKERS and time.monotonic() < deadline:
        seen.add(caller.call("GET", "/v1/models").json()["served_by"])
    assert len(seen) == WORKERS, f"only the workers {seen} answered"


def _refused(caller: Caller, body: dict[str, Any]) -> None:
    assert caller.call("POST", "/v1/classify", body).status_code == 422


@pytest.mark.parametrize("backend_url", [ON_POSTGRES], indirect=True)
def test_prometheus_stores_what_both_workers_classified(service: Caller, tmp_path: Path) -> None:
    with prometheus_server(tmp_path, service.base.removeprefix("http://")) as prometheus:
        drive(service)
        sent = service.sent
        wait_for_scrapes(prometheus, sent)
        classes_and_actions_add_up(prometheus, sent)
        latencies_and_scores_add_up(prometheus, sent)

        served = query(prometheus, "clientscore_model_info")
        assert by(("model", "version"), served) == dict.fromkeys(sent.versions.items(), 1.0)
        psi = query(prometheus, "clientscore_model_score_psi")
        assert len({s["metric"]["pid"] for s in psi}) == WORKERS

        alerts_evaluate_cleanly_and_none_fires(prometheus)
    exposition_passes_promtool(service.base)


def wait_for_scrapes(prometheus: str, sent: Sent) -> None:
    # The service counts a request after its response has left: wait for both counts.
    statuses = {(s,): float(n) for s, n in sent.classify_statuses.items()}
    caught_up = eventually(
        lambda: (
            by((), query(prometheus, CLIENTS)).get(()) == sent.clients
            and by(("status",), query(prometheus, CLASSIFY_STATUSES)) == statuses
        ),
        seconds=30,
    )
    assert caught_up, f"Prometheus has {query(prometheus, CLIENTS)}, {sent.clients} sent"


def classes_and_actions_add_up(prometheus: str, sent: Sent) -> None:
    classes = query(prometheus, "clientscore_classifications_total")
    assert label_names(classes) == {frozenset({"__name__", "dimension", "class", *TARGET})}
    assert by(("dimension", "class"), classes) == {k: float(n) for k, n in sent.classes.items()}
    assert {d for d, _ in sent.classes} == set(CLASSES)  # the traffic reached every class
    actions = query(prometheus, "clientscore_strategy_actions_total")
    assert by(("action",), actions) == {(a,): float(n) for a, n in sent.actions.items()}


def latencies_and_scores_add_up(prometheus: str, sent: Sent) -> None:
    latency = query(prometheus, CLASSIFY_LATENCY)
    assert label_names(latency) == {
        frozenset({"__name__", "route", "method", "status", "le", *TARGET})
    }
    bounds = sorted({float(s["metric"]["le"]) for s in latency})
    assert (bounds[0], bounds[-2], bounds[-1]) == (0.0005, 10.0, float("inf"))
    requests = by(("method", "status"), [s for s in latency if s["metric"]["le"] == "+Inf"])
    assert requests == {("POST", s): float(n) for s, n in sent.classify_statuses.items()}
    assert set(sent.classify_statuses) == {"200", "422"}

    scores = query(prometheus, "clientscore_model_score_bucket")
    assert label_names(scores) == {frozenset({"__name__", "model", "version", "le", *TARGET})}
    counted = by(("model",), [s for s in scores if s["metric"]["le"] == "+Inf"])
    assert counted == {(m,): float(n) for m, n in sent.scores.items()}
    assert all(sent.scores[m] > 0 for m in SCORES)


def alerts_evaluate_cleanly_and_none_fires(prometheus: str) -> None:
    groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    shipped = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    assert len(rules) == sum(len(group["rules"]) for group in shipped)
    assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []
    alerts = httpx.get(f"{prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    # Pending is not firing: on a busy 2-core machine a scrape can outlast its 1 s timeout,
    # which makes every series briefly absent, and a cold worker's first requests can take
    # over 100 ms. Each alert's `for` exists to absorb exactly that; none may fire.
    firing = {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
    assert firing == set(), alerts


def exposition_passes_promtool(base: str) -> None:
    exposition = httpx.get(f"{base}/metrics", timeout=10)
    assert exposition.headers["content-type"].startswith("text/plain")
    checked = promtool("check", "metrics", stdin=exposition.text)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
