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
from app.strategy.control import held_out_salted, key_of, period_of, salt
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


@dataclass(frozen=True, slots=True)
class Offer:
    """An eligible action as one arbiter ranks it for clients of one outcome: its spec, value
    formula, acceptance in the outcome's segment, whether its weight is 1, its control group
    salt in the arbiter's period, and its value if the same for every client."""

    action: Action
    spec: ActionSpec
    value: Value
    accepted: Accepted
    unweighted: bool
    salt: int
    fixed: float | None  # the value, when the formula reads none of the client's numbers


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
    # Each outcome met so far (by identity, with the outcome): its segment and offers.
    _offers_seen: dict[int, tuple[RuleOutcome, str, tuple[Offer, ...]]] = field(
        default_factory=dict
    )

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
        return self.arbitrate_known(
            outcome, known_numbers(numbers), client_id=client_id, history=history
        )

    def arbitrate_known(
        self,
        outcome: RuleOutcome,
        known: Mapping[str, float],
        *,
        client_id: str | None,
        history: History | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """`arbitrate` on the numbers as the formulas read them (`known_numbers`)."""
        segment, offers = self.offers(outcome)
        # (-priority, order, ...): ties keep the outcome's order.
        ranked: list[tuple[float, int, Offer, float, float]] = []
        quiet: list[dict[str, Any]] = []
        for order, offer in enumerate(offers):
            action, spec = offer.action, offer.spec
            if history is not None:
                why_not = self.why_not(spec, history)
                if why_not is not None:
                    quiet.append({"code": action.code, "channel": spec.channel, "why": why_not})
                    continue
            value = offer.value.client(known) if offer.fixed is None else offer.fixed
            expected = round(offer.accepted.p * value, 2)
            # Rounding a rounded number again gives it back: a weight of 1 needs no second round.
            priority = expected if offer.unweighted else round(expected * spec.weight, 2)
            ranked.append((-priority, order, offer, value, expected))
        ranked.sort()
        top_n, period, share = self.top_n, self.period, self.share
        key = key_of(client_id) if client_id is not None and share > 0 and ranked else None
        top = [
            {
                "code": offer.action.code,
                "title_zh": offer.action.title_zh,
                "title_en": offer.action.title_en,
                "reason_zh": offer.action.reason_zh,
                "reason_en": offer.action.reason_en,
                "channel": offer.spec.channel,
                "priority": -negative,
                "expected_value": expected,
                "acceptance": offer.accepted.p,
                "value": value,
                "held_out": key is not None and held_out_salted(key, offer.salt, share),
                "why": offer.accepted.why(value),
            }
            for negative, _, offer, value, expected in ranked[:top_n]
        ]
        others = [
            {
                "code": offer.action.code,
                "channel": offer.spec.channel,
                "priority": -negative,
                "expected_value": expected,
            }
            for negative, _, offer, _, expected in ranked[top_n:]
        ]
        return top, {
            "segment": segment,
            "period": period,
            "others": others,
            "suppressed": quiet,
        }

    def offers(self, outcome: RuleOutcome) -> tuple[str, tuple[Offer, ...]]:
        """The outcome's segment and its eligible actions with what arbitrating them reads
        that does not depend on the client: worked out once per outcome met."""
        held = self._offers_seen.get(id(outcome))
        if held is not None and held[0] is outcome:
            return held[1], held[2]
        if len(self._offers_seen) >= 8192:
            self._offers_seen.clear()
        plan = self.catalogue.plan(outcome)
        offers = tuple(
            Offer(
                action,
                spec,
                value,
                self.acceptance(action.code, plan.segment),
                spec.weight == 1,
                salt(action.code, self.period),
                None if value.fields else value.client(known_numbers({})),
            )
            for action, spec, value in plan.actions
        )
        # Kept with the outcome itself, so its id is not reused while the entry lives.
        self._offers_seen[id(outcome)] = (outcome, plan.segment, offers)
        return plan.segment, offers

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
