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
from app.strategy.control import held_out_key, key_of, period_of
from app.strategy.policy import History, suppressed
from app.strategy.rates import NO_ANSWERS, Rates
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
    # The segment and eligible actions of outcomes met, by identity: the compiled tables
    # hand out one object per distinct outcome, kept here with its plan.
    _plans: dict[int, tuple[RuleOutcome, Plan]] = field(default_factory=dict, compare=False)

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

    def plan(self, outcome: RuleOutcome) -> Plan:
        """The outcome's segment and its eligible actions with their specs and values."""
        held = self._plans.get(id(outcome))
        if held is not None and held[0] is outcome:
            return held[1]
        if len(self._plans) >= 8192:
            self._plans.clear()
        plan = Plan(
            self.segment(outcome),
            tuple((a, self.specs[a.code], self.values[a.code]) for a in outcome.actions),
        )
        self._plans[id(outcome)] = (outcome, plan)
        return plan

    def value(self, code: str, numbers: Mapping[str, Any]) -> float:
        """The action's value for one client, rounded as shown (None and NaN count as 0)."""
        return self.values[code].client(known_numbers(numbers))


@dataclass(frozen=True, slots=True)
class Plan:
    segment: str
    actions: tuple[tuple[Action, ActionSpec, Value], ...]


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


_ARBITERS: dict[tuple[str, date, int, int], Arbiter] = {}


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
        """The arbiter of a ruleset, day, rates snapshot and top N: one per process while
        they are the same, so each request does not work out the acceptances again."""
        rates = NO_ANSWERS if rates is None else rates
        key = (ruleset.version, today, id(rates), top_n)
        found = _ARBITERS.get(key)
        if found is not None and found.rates is rates:
            return found
        if len(_ARBITERS) >= 32:
            _ARBITERS.clear()
        known = catalogue(ruleset)
        period = period_of(today, known.document.strategy.period_days)
        found = _ARBITERS[key] = cls(known, rates, today, top_n, period, date.fromisoformat(period))
        return found

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
        plan = self.catalogue.plan(outcome)
        segment = plan.segment
        known = known_numbers(numbers)
        seen = self._rates_seen
        # (-priority, order, ...): ties keep the outcome's order.
        ranked: list[tuple[float, int, Action, Accepted, float, float]] = []
        quiet: list[dict[str, Any]] = []
        for order, (action, spec, value_of) in enumerate(plan.actions):
            if history is not None:
                why_not = self.why_not(spec, history)
                if why_not is not None:
                    quiet.append({"code": action.code, "channel": spec.channel, "why": why_not})
                    continue
            value = value_of.client(known)
            accepted = seen.get((action.code, segment)) or self.acceptance(action.code, segment)
            expected = round(accepted.p * value, 2)
            ranked.append(
                (-round(expected * spec.weight, 2), order, action, accepted, value, expected)
            )
        ranked.sort()
        top_n, channels, period, share = (
            self.top_n,
            self.catalogue.channels,
            self.period,
            self.share,
        )
        key = key_of(client_id) if client_id is not None and share > 0 and ranked else None
        top = [
            {
                "code": action.code,
                "title_zh": action.title_zh,
                "title_en": action.title_en,
                "reason_zh": action.reason_zh,
                "reason_en": action.reason_en,
                "channel": channels[action.code],
                "priority": -negative,
                "expected_value": expected,
                "acceptance": accepted.p,
                "value": value,
                "held_out": key is not None and held_out_key(key, action.code, period, share),
                "why": accepted.why(value),
            }
            for negative, _, action, accepted, value, expected in ranked[:top_n]
        ]
        others = [
            {
                "code": action.code,
                "channel": channels[action.code],
                "priority": -negative,
                "expected_value": expected,
            }
            for negative, _, action, _, _, expected in ranked[top_n:]
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
