"""Acceptance rates: the catalogue's starting rate, smoothed with the recorded outcomes.

The rate of an action in a segment is the mean of a Beta posterior whose prior is the
starting rate `acceptance` counted as `evidence` outcomes: (acceptance x evidence + accepted)
/ (evidence + answered). With few outcomes the starting rate dominates; after many more than
`evidence` the learned rate does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.rules.parameters import ActionSpec

Key = tuple[str, str]  # (action code, segment)


@dataclass(frozen=True, slots=True)
class Counts:
    answered: int  # accepted or declined
    accepted: int


NONE = Counts(0, 0)


@dataclass(frozen=True, slots=True)
class Rate:
    mean: float
    low: float  # 95% credible interval
    high: float
    answered: int
    accepted: int


@dataclass(frozen=True, slots=True)
class Rates:
    """The recorded answers per action and segment, as last read from the database."""

    counts: Mapping[Key, Counts] = field(default_factory=dict)

    def of(self, code: str, segment: str) -> Counts:
        return self.counts.get((code, segment), NONE)

    def mean(self, spec: ActionSpec, segment: str) -> float:
        seen = self.of(spec.code, segment)
        return posterior_mean(spec, seen)

    def rate(self, spec: ActionSpec, segment: str) -> Rate:
        # scipy.stats takes most of a second to import: only the reports ask for intervals.
        from scipy.stats import beta

        seen = self.of(spec.code, segment)
        a, b = _posterior(spec, seen)
        low, high = (
            (float(beta.ppf(0.025, a, b)), float(beta.ppf(0.975, a, b)))
            if a > 0 and b > 0
            else (posterior_mean(spec, seen),) * 2
        )
        return Rate(posterior_mean(spec, seen), low, high, seen.answered, seen.accepted)


def _posterior(spec: ActionSpec, seen: Counts) -> tuple[float, float]:
    alpha = spec.acceptance * spec.evidence + seen.accepted
    return alpha, (1 - spec.acceptance) * spec.evidence + seen.answered - seen.accepted


def posterior_mean(spec: ActionSpec, seen: Counts) -> float:
    a, b = _posterior(spec, seen)
    return a / (a + b) if a + b > 0 else spec.acceptance


NO_ANSWERS = Rates()  # the starting rates only
