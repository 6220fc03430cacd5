"""Arbitration: the eligible actions ranked by priority = acceptance x value x weight.

The strategy table decides which actions a client is eligible for. Each eligible action's
value comes from its formula over the client's numbers as shown, its acceptance from the
learned rate of the client's segment; the contact policy suppresses some, the control group
holds some out. The first `top_n` are the client's strategy, the rest are listed as others.
Ties keep the catalogue's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.rules.formula import Formula
from app.rules.outcome import Action, RuleOutcome
from app.rules.parameters import ActionSpec, RulesetDocument
from app.rules.ruleset import Ruleset
from app.strategy.control import held_out, period_of
from app.strategy.policy import History, suppressed
from app.strategy.rates import Rates

DEFAULT_TOP_N = 3


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A ruleset's actions with their compiled value formulas."""

    document: RulesetDocument
    specs: Mapping[str, ActionSpec]
    formulas: Mapping[str, Formula]
    constants: Mapping[str, Mapping[str, float]]
    channels: dict[str, str]

    @classmethod
    def of(cls, document: RulesetDocument) -> Catalogue:
        specs = {a.code: a for a in document.actions}
        return cls(
            document,
            specs,
            {code: a.formula() for code, a in specs.items()},
            {code: a.constants() for code, a in specs.items()},
            {code: a.channel for code, a in specs.items()},
        )

    def segment(self, outcome: RuleOutcome) -> str:
        return "/".join(str(getattr(outcome, d)) for d in self.document.strategy.segment_by)

    def value(self, code: str, numbers: Mapping[str, Any]) -> float:
        return float(self.formulas[code].evaluate(numbers, self.constants[code]))


_CATALOGUES: dict[str, Catalogue] = {}


def catalogue(ruleset: Ruleset) -> Catalogue:
    """The ruleset's catalogue, compiled once per ruleset version."""
    found = _CATALOGUES.get(ruleset.version)
    if found is None:
        if len(_CATALOGUES) > 16:
            _CATALOGUES.clear()
        found = _CATALOGUES[ruleset.version] = Catalogue.of(ruleset.document)
    return found


@dataclass(frozen=True, slots=True)
class Arbiter:
    """What one request, command or run arbitrates with: the catalogue, the learned rates as
    they were when it began, how many actions to return, and the day."""

    catalogue: Catalogue
    rates: Rates
    today: date
    top_n: int
    period: str  # the first day of the contact period `today` is in
    period_start: date
    # The acceptance of each action and segment met so far (a batch meets few segments).
    _rates_seen: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def of(
        cls, ruleset: Ruleset, today: date, rates: Rates | None = None, top_n: int = DEFAULT_TOP_N
    ) -> Arbiter:
        found = catalogue(ruleset)
        period = period_of(today, found.document.strategy.period_days)
        return cls(found, rates or Rates(), today, top_n, period, date.fromisoformat(period))

    def arbitrate(
        self,
        outcome: RuleOutcome,
        numbers: Mapping[str, Any],
        *,
        client_id: str | None,
        history: History | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The client's strategy (top N, best first) and the arbitration's other parts."""
        doc = self.catalogue.document
        segment = self.catalogue.segment(outcome)
        ranked: list[tuple[float, int, Action, float, float, float]] = []
        quiet: list[dict[str, Any]] = []
        for order, action in enumerate(outcome.actions):
            spec = self.catalogue.specs[action.code]
            why_not = (
                suppressed(
                    spec,
                    history,
                    doc.contact_policy,
                    today=self.today,
                    period_start=self.period_start,
                    channel_of=self.catalogue.channels,
                )
                if history is not None
                else None
            )
            if why_not is not None:
                quiet.append({"code": action.code, "channel": spec.channel, "why": why_not})
                continue
            value = round(self.catalogue.value(action.code, numbers), 2)
            p = self._acceptance(spec, segment)
            expected = round(p * value, 2)
            ranked.append((-round(expected * spec.weight, 2), order, action, p, value, expected))
        ranked.sort(key=lambda item: (item[0], item[1]))
        top = [self._entry(segment, client_id, *item) for item in ranked[: self.top_n]]
        others = [
            {
                "code": action.code,
                "channel": self.catalogue.channels[action.code],
                "priority": -negative,
                "expected_value": expected,
            }
            for negative, _, action, _, _, expected in ranked[self.top_n :]
        ]
        return top, {
            "segment": segment,
            "period": self.period,
            "others": others,
            "suppressed": quiet,
        }

    def _acceptance(self, spec: ActionSpec, segment: str) -> float:
        key = (spec.code, segment)
        found = self._rates_seen.get(key)
        if found is None:
            found = self._rates_seen[key] = round(self.rates.mean(spec, segment), 6)
        return found

    def _entry(
        self,
        segment: str,
        client_id: str | None,
        negative: float,
        _order: int,
        action: Action,
        p: float,
        value: float,
        expected: float,
    ) -> dict[str, Any]:
        """One action of the strategy as the caller is shown it."""
        spec = self.catalogue.specs[action.code]
        share = self.catalogue.document.strategy.control_share
        answered = self.rates.of(action.code, segment).answered
        return {
            "code": action.code,
            "title_zh": action.title_zh,
            "title_en": action.title_en,
            "reason_zh": action.reason_zh,
            "reason_en": action.reason_en,
            "channel": spec.channel,
            "priority": -negative,
            "expected_value": expected,
            "acceptance": p,
            "value": value,
            "held_out": held_out(client_id, action.code, self.period, share),
            "why": _why(p, value, spec.weight, answered),
        }


def _why(p: float, value: float, weight: float, answered: int) -> str:
    learned = f"{answered} recorded answers" if answered else "the starting rate"
    return f"acceptance {p:.1%} ({learned}) x value {value:,.2f} yuan x weight {weight:g}"
