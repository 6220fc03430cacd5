"""What the classification use cases report to the metrics, and the versions each worker serves.

The use cases call `classified` with the results they are about to return; counting works
on the results themselves, so the metrics say exactly what callers were told.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

import numpy as np
from prometheus_client import Counter

from app.errors import Unavailable
from app.observability.metrics import ServiceMetrics, observe_many
from app.rules.store import ActiveRuleset
from app.serving.drift import ScoreWindow
from app.serving.predictor import Champions
from app.serving.registry import ModelRegistry
from app.serving.repository import LoadedModel

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
FLUSH_SECONDS = 1.0


class Monitor:
    """One per worker: counts what it decided and watches its scores for drift.

    A request only adds to plain dictionaries; `flush` (every second, and before a scrape)
    moves the sums to the metrics. In multiprocess mode each increment writes to a shared
    file under a lock, which for the two dozen labels one classification touches would cost
    more than the classification.
    """

    def __init__(self, metrics: ServiceMetrics, *, drift_window: int) -> None:
        self.metrics = metrics
        self.drift_window = drift_window
        self._children: dict[tuple[str, ...], Any] = {}
        self._counts: Tally[tuple[str, ...]] = Tally()
        # The rows that fired, counted per list: a result shares its outcome's list with every
        # other result of that outcome (held here, so its id stays its own until the flush).
        self._fired: dict[int, list[Any]] = {}
        # Scores by model version: a promotion between two flushes keeps them apart.
        self._scores: dict[tuple[str, str], tuple[LoadedModel, list[float]]] = {}
        self._windows: dict[str, tuple[str, ScoreWindow]] = {}
        self._served: dict[str, str | None] = {}
        self._ruleset: str | None = None

    def classified(self, champions: Champions, results: list[dict[str, Any]]) -> None:
        counts, fired = self._counts, self._fired
        for result in results:
            for dimension, (part, field) in DIMENSIONS.items():
                section = result[part]
                if section is not None and section[field] is not None:
                    counts["class", dimension, section[field]] += 1
            for action in result["strategy"]:
                counts["action", action["code"]] += 1
            rules = result["rules_fired"]
            held = fired.get(id(rules))
            if held is None:
                fired[id(rules)] = [rules, 1]
            else:
                held[1] += 1
        for name, (part, field) in SCORES.items():
            model = champions.model(name)
            pending = self._scores.get((name, model.version))
            if pending is None:
                pending = self._scores[name, model.version] = (model, [])
            scores = pending[1]
            for result in results:
                score = result[part][field]
                if score is not None:
                    scores.append(score)

    def flush(self) -> None:
        """Add what was counted since the last flush to the metrics; update the PSI."""
        counts, self._counts = self._counts, Tally()
        fired, self._fired = self._fired, {}
        for rules, times in fired.values():
            for rule in rules:
                counts["rule", rule["table"], str(rule["row"])] += times
        for key, count in counts.items():
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._counter(key[0]).labels(*key[1:])
            child.inc(count)
        pending, self._scores = self._scores, {}
        for (name, version), (model, given) in pending.items():
            scores = np.array(given, dtype=np.float64)
            observe_many(self.metrics.scores.labels(name, version), scores)
            window = self._window(model)
            window.add(scores)
            self.metrics.psi.labels(name, version).set(window.psi())
            self.metrics.psi_window.labels(name, version).set(window.scores)

    def _counter(self, kind: str) -> Counter:
        kinds = {
            "class": self.metrics.classifications,
            "action": self.metrics.actions,
            "rule": self.metrics.rules_fired,
        }
        return kinds[kind]

    def _window(self, model: LoadedModel) -> ScoreWindow:
        name = model.name
        held = self._windows.get(name)
        if held is None or held[0] != model.version:
            # A new version has its own reference: its drift starts from an empty window, and
            # the version no longer served stops reporting one.
            if held is not None:
                self.metrics.psi.labels(name, held[0]).set(float("nan"))
                self.metrics.psi_window.labels(name, held[0]).set(0)
            held = (model.version, ScoreWindow(model.metadata.score_histogram, self.drift_window))
            self._windows[name] = held
        return held[1]

    def audit_failed(self, count: int = 1) -> None:
        self.metrics.audit_failures.inc(count)

    def sync_versions(self, registry: ModelRegistry, rules: ActiveRuleset) -> None:
        """Set the version gauges to what this worker serves now."""
        for name in registry.required:
            slot = registry.states.get(name)
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
