"""The service's Prometheus metrics, correct with one worker process or several.

`clientscore serve` always runs in prometheus-client's multiprocess mode (see `prepare`):
each worker writes its values to memory-mapped files in one directory, and whichever
worker answers `/metrics` adds up the files of all of them. An app built in-process (tests,
notebooks) keeps its metrics in a registry of its own instead.

Names follow Prometheus conventions: base units (`_seconds`), `_total` for counters,
`_info` gauges set to 1 for versions.
"""

from __future__ import annotations

import os
import platform
import re
from importlib.metadata import version
from pathlib import Path

import numpy as np
import numpy.typing as npt
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from app import __version__

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Per-request latency: a classification takes under a millisecond; imports take seconds.
LATENCY_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1)
LATENCY_BUCKETS += (0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# One scale for probabilities (lapse, purchase) and expected claims per year (claims).
SCORE_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.05,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    1.0,
)
SCORE_BUCKETS += (1.5, 2.0, 3.0, 5.0)
_LIVE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    found = os.environ.get(MULTIPROC_ENV)
    return Path(found) if found else None


def prepare(directory: Path) -> None:
    """Start-up of a served process tree: an empty metrics directory, multiprocess mode on.

    Values of an earlier run would otherwise be added to this one's. Called by the parent
    before any worker starts; the workers inherit the environment variable.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    # prometheus-client picks its value class when imported; metrics made from now on
    # (the app factory makes them) must write to the shared files.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_workers(directory: Path) -> None:
    """A worker that died (and was replaced) must not keep its gauges in the sums."""
    for path in directory.iterdir():
        found = _LIVE_FILE.match(path.name)
        if found and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), str(directory))  # type: ignore[no-untyped-call]


class ServiceMetrics:
    """Every metric the service exports; one instance per app."""

    def auth_refused(self, by: str) -> None:
        self.auth_throttled.labels(by=by).inc()

    def __init__(self) -> None:
        self.directory = multiprocess_dir()
        # In multiprocess mode the files are the registry; metrics register nowhere.
        self.registry = CollectorRegistry() if self.directory is None else None
        r = self.registry
        self.http_requests = Counter(
            "clientscore_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "clientscore_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_shed = Counter(
            "clientscore_http_shed",
            "Requests answered 503 `overloaded` at once: their worker had its bound of "
            "requests in hand (CLIENTSCORE_MAX_REQUESTS_IN_FLIGHT).",
            registry=r,
        )
        self.http_in_progress = Gauge(
            "clientscore_http_requests_in_progress",
            "Requests being handled now.",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.classifications = Counter(
            "clientscore_classifications",
            "Clients classified, by dimension and the class given (tier, grade or stage).",
            ["dimension", "class"],
            registry=r,
        )
        self.actions = Counter(
            "clientscore_strategy_actions",
            "Actions recommended, by action code.",
            ["action"],
            registry=r,
        )
        self.rules_fired = Counter(
            "clientscore_rules_fired",
            "Decision-table rows that matched, by table and 1-based row.",
            ["table", "row"],
            registry=r,
        )
        self.scores = Histogram(
            "clientscore_model_score",
            "Scores the models gave: P(lapse in 12 months), expected claims per year, "
            "P(first purchase); by model and version, so a promotion starts a new series.",
            ["model", "version"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self._drift_gauges(r)
        self._version_gauges(r)
        self.auth_throttled = Counter(
            "clientscore_auth_throttled",
            "Authentications refused with 429 after too many failures, by what was throttled "
            "(the client's address or the key id).",
            ["by"],
            registry=r,
        )
        for by in ("address", "key"):  # exported at 0 before the first refusal
            self.auth_throttled.labels(by=by)
        self.audit_failures = Counter(
            "clientscore_audit_write_failures",
            "Classifications of stored clients whose audit record could not be written.",
            registry=r,
        )
        self.db_connections = Gauge(
            "clientscore_db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            multiprocess_mode="livesum",
            registry=r,
        )
        build = Gauge(
            "clientscore_build_info",
            "The running build (always 1).",
            ["version", "python_version", "lightgbm_version"],
            multiprocess_mode="livemax",
            registry=r,
        )
        build.labels(__version__, platform.python_version(), version("lightgbm")).set(1)

    def _drift_gauges(self, r: CollectorRegistry | None) -> None:
        # One series per worker (label pid): each worker watches the scores it produced.
        self.psi = Gauge(
            "clientscore_model_score_psi",
            "Population stability index of the worker's recent scores against the training "
            "reference of the model version.",
            ["model", "version"],
            multiprocess_mode="liveall",
            registry=r,
        )
        self.psi_window = Gauge(
            "clientscore_model_score_psi_window_scores",
            "Scores in the window the PSI is computed on.",
            ["model", "version"],
            multiprocess_mode="liveall",
            registry=r,
        )

    def _version_gauges(self, r: CollectorRegistry | None) -> None:
        self.model_info = Gauge(
            "clientscore_model_info",
            "Model versions served (1) or no longer served (0).",
            ["model", "version"],
            multiprocess_mode="livemax",
            registry=r,
        )
        self.model_loaded = Gauge(
            "clientscore_model_loaded",
            "1 when every worker has a champion of the model loaded.",
            ["model"],
            multiprocess_mode="livemin",
            registry=r,
        )
        self.ruleset_info = Gauge(
            "clientscore_ruleset_info",
            "Ruleset versions active (1) or no longer active (0).",
            ["version"],
            multiprocess_mode="livemax",
            registry=r,
        )
        self.ruleset_loaded = Gauge(
            "clientscore_ruleset_loaded",
            "1 when every worker has a ruleset loaded.",
            multiprocess_mode="livemin",
            registry=r,
        )

    def exposition(self) -> bytes:
        """The text a scrape of `/metrics` gets."""
        if self.directory is None:
            assert self.registry is not None
            return generate_latest(self.registry)
        _forget_dead_workers(self.directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, str(self.directory))  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def observe_many(histogram: Histogram, amounts: npt.NDArray[np.float64]) -> None:
    """`histogram.observe` for each amount, in one pass per bucket instead of per value.

    Relies on the child's bucket values and sum (prometheus-client's Histogram layout);
    tests check it against `observe` one by one.
    """
    amounts = amounts[~np.isnan(amounts)]
    if amounts.size == 0:
        return
    bounds = np.asarray(histogram._upper_bounds)
    per_bucket = np.bincount(np.searchsorted(bounds, amounts, side="left"), minlength=bounds.size)
    histogram._sum.inc(float(amounts.sum()))
    for bucket, count in zip(histogram._buckets, per_bucket.tolist(), strict=True):
        if count:
            bucket.inc(count)
