"""What the classification use cases report to the metrics, and the versions each worker serves.

The use cases call `classified` with the results they are about to return; counting works
on the results themselves, so the metrics say exactly what callers were told. Label
children are cached: a label lookup costs more than the increment in multiprocess mode.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from prometheus_client import Counter

from app.errors import Unavailable
from app.observability.drift import ScoreWindow
from app.observability.metrics import ServiceMetrics, observe_many
from app.rules.store import ActiveRuleset
from app.scoring.predictor import MODELS, Champions
from app.scoring.registry import ModelRegistry

# Result path of each dimension's class and of each model's score.
DIMENSIONS = {
    "value_tier": ("value", "tier"),
    "abc_grade": ("value", "grade"),
    "risk_tier": ("risk", "tier"),
    "lifecycle_stage": ("lifecycle", "stage"),
    "prospect_grade": ("lifecycle", "prospect_grade"),
    "group_scale": ("segment", "scale"),
}
SCORES = {
    "lapse": ("lifecycle", "lapse_probability_12m"),
    "claims": ("risk", "expected_claim_frequency"),
    "propensity": ("lifecycle", "purchase_probability"),
}
PSI_EVERY_SECONDS = 1.0  # recomputing the PSI per request would cost more than the request


def _at(result: Mapping[str, Any], path: tuple[str, str]) -> Any:
    part = result.get(path[0])
    return part.get(path[1]) if part else None


class _Children:
    """Cached `counter.labels(*key)`."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.cache: dict[tuple[str, ...], Any] = {}

    def add(self, tally: Mapping[tuple[str, ...], int]) -> None:
        for key, count in tally.items():
            child = self.cache.get(key)
            if child is None:
                child = self.cache[key] = self.counter.labels(*key)
            child.inc(count)


class Monitor:
    """One per worker: counts what it decided and watches its scores for drift."""

    def __init__(self, metrics: ServiceMetrics, *, drift_window: int) -> None:
        self.metrics = metrics
        self.drift_window = drift_window
        self._classes = _Children(metrics.classifications)
        self._actions = _Children(metrics.actions)
        self._rules = _Children(metrics.rules_fired)
        self._scores = {name: metrics.scores.labels(name) for name in MODELS}
        self._windows: dict[str, tuple[str, ScoreWindow]] = {}
        self._psi_at = 0.0
        self._served: dict[str, str | None] = {}
        self._ruleset: str | None = None

    def classified(self, champions: Champions, results: list[dict[str, Any]]) -> None:
        if not results:
            return
        classes: Tally[tuple[str, ...]] = Tally()
        actions: Tally[tuple[str, ...]] = Tally()
        rules: Tally[tuple[str, ...]] = Tally()
        for result in results:
            for dimension, path in DIMENSIONS.items():
                given = _at(result, path)
                if given is not None:
                    classes[dimension, given] += 1
            actions.update((action["code"],) for action in result["strategy"])
            rules.update((r["table"], str(r["row"])) for r in result["rules_fired"])
        self._classes.add(classes)
        self._actions.add(actions)
        self._rules.add(rules)
        self._observe_scores(champions, results)

    def _observe_scores(self, champions: Champions, results: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        due = now - self._psi_at >= PSI_EVERY_SECONDS
        for name, path in SCORES.items():
            scores = np.array([_at(r, path) for r in results], dtype=np.float64)
            observe_many(self._scores[name], scores)
            window = self._window(champions, name)
            window.add(scores)
            if due:
                self.metrics.psi.labels(name).set(window.psi())
                self.metrics.psi_window.labels(name).set(window.scores)
        if due:
            self._psi_at = now

    def _window(self, champions: Champions, name: str) -> ScoreWindow:
        model = champions.model(name)
        held = self._windows.get(name)
        if held is None or held[0] != model.version:
            # A new version has its own reference: its drift starts from an empty window.
            held = (model.version, ScoreWindow(model.metadata.score_histogram, self.drift_window))
            self._windows[name] = held
        return held[1]

    def audit_failed(self, count: int = 1) -> None:
        self.metrics.audit_failures.inc(count)

    def sync_versions(self, registry: ModelRegistry, rules: ActiveRuleset) -> None:
        """Set the version gauges to what this worker serves now."""
        for name in registry.required:
            slot = registry.slots.get(name)
            served = slot.served.version if slot and slot.served else None
            self._switch(self.metrics.model_info, (name,), self._served.get(name), served)
            self._served[name] = served
            self.metrics.model_loaded.labels(name).set(1 if served else 0)
        try:
            active: str | None = rules.current().version
        except Unavailable:
            active = None
        self._switch(self.metrics.ruleset_info, (), self._ruleset, active)
        self._ruleset = active
        self.metrics.ruleset_loaded.set(1 if active else 0)

    @staticmethod
    def _switch(gauge: Any, key: Iterable[str], old: str | None, new: str | None) -> None:
        if old == new:
            return
        if old is not None:
            gauge.labels(*key, old).set(0)
        if new is not None:
            gauge.labels(*key, new).set(1)
