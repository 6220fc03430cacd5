"""Arbitration: the eligible actions ranked by priority = acceptance x value x weight.

The strategy table decides which actions a client is eligible for. Each eligible action's
value comes from its formula over the client's numbers as shown, its acceptance from the
learned rate of the client's segment; the contact policy suppresses some, the control group
holds some out. The first `top_n` are the client's strategy, the rest are listed as others.
Ties keep the catalogue's order. This is one client's arbitration; `app.strategy.columns`
arbitrates a batch at once with the same arithmetic and gives the same results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.rules.outcome import Action, RuleOutcome
from app.rules.parameters import ActionSpec, RulesetDocument
from app.rules.ruleset import Ruleset
from app.strategy.control import held_out, period_of
from app.strategy.policy import History, suppressed
from app.strategy.rates import Rates
from app.strategy.values import Value, known_numbers

DEFAULT_TOP_N = 3


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A ruleset's actions with their compiled value formulas."""

    document: RulesetDocument
    specs: Mapping[str, ActionSpec]
    values: Mapping[str, Value]
    channels: dict[str, str]
    codes: tuple[str, ...]  # the catalogue's order

    @classmethod
    def of(cls, document: RulesetDocument) -> Catalogue:
        specs = {a.code: a for a in document.actions}
        return cls(
            document,
            specs,
            {code: Value.of(a) for code, a in specs.items()},
            {code: a.channel for code, a in specs.items()},
            tuple(specs),
        )

    def segment(self, outcome: RuleOutcome) -> str:
        return "/".join(str(getattr(outcome, d)) for d in self.document.strategy.segment_by)

    def value(self, code: str, numbers: Mapping[str, Any]) -> float:
        """The action's value for one client, rounded as shown (None and NaN count as 0)."""
        return self.values[code].client(known_numbers(numbers))


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
class Accepted:
    """An action's acceptance in a segment as arbitration uses it, and the text around the
    value in the `why` it shows."""

    p: float
    before: str
    after: str

    def why(self, value: float) -> str:
        return f"{self.before}{value:,.2f}{self.after}"


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
    _rates_seen: dict[tuple[str, str], Accepted] = field(default_factory=dict)

    @classmethod
    def of(
        cls, ruleset: Ruleset, today: date, rates: Rates | None = None, top_n: int = DEFAULT_TOP_N
    ) -> Arbiter:
        found = catalogue(ruleset)
        period = period_of(today, found.document.strategy.period_days)
        return cls(found, rates or Rates(), today, top_n, period, date.fromisoformat(period))

    @property
    def share(self) -> float:
        """The control group's share."""
        return self.catalogue.document.strategy.control_share

    def arbitrate(
        self,
        outcome: RuleOutcome,
        numbers: Mapping[str, Any],
        *,
        client_id: str | None,
        history: History | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The client's strategy (top N, best first) and the arbitration's other parts."""
        specs, values = self.catalogue.specs, self.catalogue.values
        segment = self.catalogue.segment(outcome)
        known = known_numbers(numbers)
        ranked: list[tuple[float, int, Action, Accepted, float, float]] = []
        quiet: list[dict[str, Any]] = []
        for order, action in enumerate(outcome.actions):
            spec = specs[action.code]
            if history is not None:
                why_not = self.why_not(spec, history)
                if why_not is not None:
                    quiet.append({"code": action.code, "channel": spec.channel, "why": why_not})
                    continue
            value = values[action.code].client(known)
            accepted = self.acceptance(action.code, segment)
            expected = round(accepted.p * value, 2)
            ranked.append(
                (round(expected * spec.weight, 2), order, action, accepted, value, expected)
            )
        ranked.sort(key=lambda item: (-item[0], item[1]))
        top = [self._entry(client_id, *item) for item in ranked[: self.top_n]]
        others = [
            {
                "code": action.code,
                "channel": self.catalogue.channels[action.code],
                "priority": priority,
                "expected_value": expected,
            }
            for priority, _, action, _, _, expected in ranked[self.top_n :]
        ]
        return top, {
            "segment": segment,
            "period": self.period,
            "others": others,
            "suppressed": quiet,
        }

    def why_not(self, spec: ActionSpec, history: History) -> str | None:
        """Why the contact policy does not offer `spec` to a client with `history` now."""
        return suppressed(
            spec,
            history,
            self.catalogue.document.contact_policy,
            today=self.today,
            period_start=self.period_start,
            channel_of=self.catalogue.channels,
        )

    def acceptance(self, code: str, segment: str) -> Accepted:
        key = (code, segment)
        found = self._rates_seen.get(key)
        if found is None:
            spec = self.catalogue.specs[code]
            p = round(self.rates.mean(spec, segment), 6)
            answered = self.rates.of(code, segment).answered
            learned = f"{answered} recorded answers" if answered else "the starting rate"
            found = self._rates_seen[key] = Accepted(
                p, f"acceptance {p:.1%} ({learned}) x value ", f" yuan x weight {spec.weight:g}"
            )
        return found

    def _entry(
        self,
        client_id: str | None,
        priority: float,
        _order: int,
        action: Action,
        accepted: Accepted,
        value: float,
        expected: float,
    ) -> dict[str, Any]:
        """One action of the strategy as the caller is shown it."""
        entry = shown_action(action, self.catalogue.channels[action.code])
        entry["priority"] = priority
        entry["expected_value"] = expected
        entry["acceptance"] = accepted.p
        entry["value"] = value
        entry["held_out"] = held_out(client_id, action.code, self.period, self.share)
        entry["why"] = accepted.why(value)
        return entry


def shown_action(action: Action, channel: str) -> dict[str, Any]:
    """The parts of a strategy entry that are the action's own, in the order shown."""
    return {
        "code": action.code,
        "title_zh": action.title_zh,
        "title_en": action.title_en,
        "reason_zh": action.reason_zh,
        "reason_en": action.reason_en,
        "channel": channel,
    }
