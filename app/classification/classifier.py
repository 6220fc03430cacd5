"""The one way in to classification: the models and ruleset in service, taken once per use.

The service holds one `Classifier` in its state, following the registry's champions and the
active ruleset; a command or a batch run makes one from the folders. Each request, command
or run calls `pin()` once and classifies with the `PinnedModels` it got, so a champion
promoted or a ruleset activated meanwhile never mixes into it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from app.classification import batch
from app.classification.monitor import Monitor
from app.classification.results import Subject
from app.profiles.schemas import ClientProfile
from app.rules.ruleset import Ruleset
from app.rules.store import ActiveRuleset, RulesetStore
from app.serving.predictor import Champions
from app.serving.registry import ModelRegistry, load_champions
from app.strategy.arbitrate import DEFAULT_TOP_N, Arbiter
from app.strategy.learned import LearnedRates
from app.strategy.rates import NO_ANSWERS, Rates


@dataclass(frozen=True, slots=True)
class PinnedModels:
    """The champion models and the ruleset, fixed for one request, command or run."""

    champions: Champions
    ruleset: Ruleset
    monitor: Monitor | None = None
    rates: Rates = NO_ANSWERS
    top_n: int = DEFAULT_TOP_N

    def arbiter(self, as_of: date) -> Arbiter:
        return Arbiter.of(self.ruleset, as_of, self.rates, self.top_n)

    def versions(self) -> dict[str, Any]:
        return {"models": self.champions.versions(), "ruleset": self.ruleset.version}

    def classify_profiles(
        self,
        profiles: Sequence[ClientProfile],
        *,
        as_of: date,
        explain: bool,
        subjects: Sequence[Subject] | None = None,
    ) -> list[dict[str, Any]]:
        """One result per profile, in order (see `batch.classify_profiles`)."""
        results = batch.classify_profiles(
            profiles,
            champions=self.champions,
            ruleset=self.ruleset,
            as_of=as_of,
            explain=explain,
            arbiter=self.arbiter(as_of),
            subjects=subjects,
        )
        self._observe(results)
        return results

    def classify_columns(
        self, columns: Mapping[str, Any], *, as_of: date, explain: bool, threads: int = 1
    ) -> list[dict[str, Any]]:
        """One result per row of profile columns (see `batch.classify_columns`)."""
        results = batch.classify_columns(
            columns,
            champions=self.champions,
            ruleset=self.ruleset,
            as_of=as_of,
            explain=explain,
            threads=threads,
            arbiter=self.arbiter(as_of),
        )
        self._observe(results)
        return results

    def _observe(self, results: list[dict[str, Any]]) -> None:
        if self.monitor is not None:
            self.monitor.classified(self.champions, results)


class Classifier:
    """Where the champions and the ruleset come from, and who counts what was decided."""

    def __init__(
        self,
        champions: Callable[[], Champions],
        ruleset: Callable[[], Ruleset],
        monitor: Monitor | None = None,
        rates: Callable[[], Rates] = Rates,
        top_n: int = DEFAULT_TOP_N,
    ) -> None:
        self._champions = champions
        self._ruleset = ruleset
        self._rates = rates
        self.monitor = monitor
        self.top_n = top_n

    @classmethod
    def serving(
        cls,
        registry: ModelRegistry,
        rules: ActiveRuleset,
        monitor: Monitor,
        learned: LearnedRates,
        top_n: int = DEFAULT_TOP_N,
    ) -> Classifier:
        """A worker's: the registry's loaded champions, the active ruleset and the learned
        acceptance rates, as they move. `pin()` raises `Unavailable` (503) while a model or
        the ruleset is not loaded."""
        return cls(
            lambda: Champions.from_registry(registry),
            rules.current,
            monitor,
            learned.current,
            top_n,
        )

    @classmethod
    def from_folders(cls, models_dir: Path, rules_dir: Path) -> Classifier:
        """A command's or a batch run's: the champions and the active ruleset as they are now,
        loaded once and kept for the whole run."""
        champions = load_champions(models_dir)
        ruleset = RulesetStore(rules_dir).load_active()
        return cls.fixed(champions, ruleset)

    @classmethod
    def fixed(cls, champions: Champions, ruleset: Ruleset) -> Classifier:
        return cls(lambda: champions, lambda: ruleset)

    def pin(self) -> PinnedModels:
        """The champions, ruleset and rates as they are now, fixed for one use."""
        return PinnedModels(
            self._champions(), self._ruleset(), self.monitor, self._rates(), self.top_n
        )
