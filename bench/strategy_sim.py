"""Next best action, simulated: does the strategy learn the right action, and is its uplift
estimate honest?

A synthetic world where the true acceptance of each action depends on the client's segment
(value tier x lifecycle stage) in a way the catalogue's starting rates get wrong. The book is
a population of clients who call again and again, one simulated day after another. Each
call, the real arbitration (`app.strategy.arbitrate`, the shipped catalogue, value formulas
and contact policy) ranks the caller's eligible actions with the acceptance learned so far
and the client's own contact history; the agent presents the top three except those held
out (the control group): each is an offer event. The client accepts, declines or asks to be
called back; accepted and declined answers are counted, and the counts are read back every
`refresh` answers, as the workers read them from the database. A callback keeps its action
on the client's card until a later call answers it. Meanwhile a CRM batch classifies clients
every day without contacting them: those classifications record no offer and change nothing
the strategy learns from or the contact policy counts. Twelve months after a call the client
is retained or not, more likely when it accepted an offer, and the uplift of each action
(treated over control, `app.strategy.uplift`) is compared with the world's true uplift.

Reported after 1k, 10k and 100k answers: the share of calls whose first action is the
oracle's best (the one with the highest true acceptance x value x weight among the actions the
contact policy lets through), the regret against the oracle (its expected value less the
first action's, per call), and per action
the uplift estimate, its 95% interval and the true uplift. Then, over seeded runs, how often
the interval holds the true uplift.

    make bench-strategy        # or: python -m bench.strategy_sim --answers 100000 --runs 40
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from app.rules.outcome import Action, RuleOutcome
from app.rules.ruleset import Ruleset
from app.strategy.arbitrate import Arbiter, Catalogue, catalogue
from app.strategy.control import held_out
from app.strategy.policy import Contact, History, Presented
from app.strategy.rates import Counts, Rates
from app.strategy.uplift import Uplift, uplift

TODAY = date(2026, 12, 1)
TIERS = ("high", "medium", "low")
STAGES = ("active", "at_risk")
# The true acceptance per action and value tier (at-risk clients a little more receptive);
# the shipped starting rates are 0.30, 0.20, 0.50, 0.12 and 0.70.
TRUE_ACCEPTANCE = {
    "retention_offer": {"high": 0.10, "medium": 0.25, "low": 0.45},
    "care_activities": {"high": 0.55, "medium": 0.30, "low": 0.10},
    "regular_visits": {"high": 0.12, "medium": 0.20, "low": 0.08},
    "cross_sell": {"high": 0.35, "medium": 0.20, "low": 0.05},
    "priority_claims": {"high": 0.30, "medium": 0.30, "low": 0.30},
}
AT_RISK_BONUS = 0.05
# The share of a would-be leaver an accepted offer keeps.
SAVE = {
    "retention_offer": 0.5,
    "care_activities": 0.2,
    "regular_visits": 0.15,
    "cross_sell": 0.05,
    "priority_claims": 0.05,
}
ELIGIBLE = {
    "at_risk": tuple(TRUE_ACCEPTANCE),
    "active": ("care_activities", "regular_visits", "cross_sell", "priority_claims"),
}
CLV = {"high": 60_000.0, "medium": 20_000.0, "low": 6_000.0}
PREMIUM = {"high": 8_000.0, "medium": 4_000.0, "low": 1_500.0}
LAPSE = {"active": (2.0, 14.0), "at_risk": (6.0, 8.0)}  # Beta parameters
SHOWN = 3
CALLBACK_SHARE = 0.1  # of the offers not accepted, asked to be called back instead


def true_acceptance(code: str, tier: str, stage: str) -> float:
    return TRUE_ACCEPTANCE[code][tier] + (AT_RISK_BONUS if stage == "at_risk" else 0.0)


@dataclass
class Client:
    client_id: str
    tier: str
    stage: str
    numbers: dict[str, float | None]


def draw_client(rng: np.random.Generator, index: int) -> Client:
    tier = str(rng.choice(TIERS, p=(0.2, 0.3, 0.5)))
    stage = str(rng.choice(STAGES, p=(0.6, 0.4)))
    lapse = float(rng.beta(*LAPSE[stage]))
    numbers: dict[str, float | None] = {
        "clv": round(CLV[tier] * float(rng.lognormal(0.0, 0.3)), 2),
        "lapse_probability": round(lapse, 6),
        "purchase_probability": None,
        "expected_claim_frequency": round(float(rng.gamma(2.0, 0.1)), 6),
        "expected_loss_ratio": round(float(rng.uniform(0.3, 0.9)), 6),
        "annual_premium": PREMIUM[tier],
    }
    return Client(f"S-{index:07d}", tier, stage, numbers)


def rule_outcome(cat: Catalogue, client: Client) -> RuleOutcome:
    actions = tuple(
        Action(code, cat.specs[code].zh, cat.specs[code].en, "simulated", "simulated")
        for code in ELIGIBLE[client.stage]
    )
    return RuleOutcome(client.tier, "A", "low", client.stage, None, None, actions, ())  # type: ignore[arg-type]


def true_ev(cat: Catalogue, code: str, client: Client) -> float:
    spec = cat.specs[code]
    return (
        true_acceptance(code, client.tier, client.stage)
        * cat.value(code, client.numbers)
        * spec.weight
    )


@dataclass
class Arm:
    """One action's treated and control clients: retained counts and the true uplift summed."""

    treated: int = 0
    treated_kept: int = 0
    control: int = 0
    control_kept: int = 0
    true_sum: float = 0.0

    def estimate(self) -> Uplift:
        return uplift(self.treated, self.treated_kept, self.control, self.control_kept)

    @property
    def true(self) -> float:
        n = self.treated + self.control
        return self.true_sum / n if n else math.nan


@dataclass
class Checkpoint:
    answers: int
    calls: int
    match: float  # share of calls since the last checkpoint whose first action is the oracle's
    regret: float  # mean per call since the last checkpoint, yuan
    cumulative_regret: float
    arms: dict[str, Uplift]
    true_uplift: dict[str, float]


@dataclass
class Events:
    """What the strategy's tables would hold: each client's offers presented and answers
    recorded, and the answers counted per action and segment."""

    offers: dict[str, list[Presented]] = field(default_factory=lambda: defaultdict(list))
    answers: dict[str, list[Contact]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )

    def history(self, client_id: str) -> History:
        return History(tuple(self.answers[client_id]), tuple(self.offers[client_id]))

    def snapshot(self) -> tuple[int, int, int]:
        """Offers, answers and counted answers: what a classification must never change."""
        return (
            sum(len(o) for o in self.offers.values()),
            sum(len(a) for a in self.answers.values()),
            sum(n for n, _ in self.counts.values()),
        )


@dataclass
class Simulation:
    ruleset: Ruleset
    seed: int
    learn: bool = True
    refresh: int = 50
    control_share: float | None = None
    population: int = 20_000
    calls_per_day: int = 300
    batch_per_day: int = 100  # CRM classifications without a contact
    rng: np.random.Generator = field(init=False)
    events: Events = field(default_factory=Events)
    arms: dict[str, Arm] = field(default_factory=lambda: defaultdict(Arm))
    clients: list[Client] = field(init=False)
    batch_classified: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.clients = [draw_client(self.rng, i) for i in range(self.population)]

    def rates(self) -> Rates:
        if not self.learn:
            return Rates()
        return Rates({key: Counts(n, a) for key, (n, a) in self.events.counts.items()})

    def run(self, checkpoints: tuple[int, ...]) -> list[Checkpoint]:
        cat = catalogue(self.ruleset)
        day = TODAY
        arbiter = Arbiter.of(self.ruleset, day, self.rates(), top_n=SHOWN)
        answers = calls = since_refresh = window_calls = window_match = 0
        window_regret = cumulative = 0.0
        results: list[Checkpoint] = []
        while answers < checkpoints[-1]:
            if calls and calls % self.calls_per_day == 0:
                day += timedelta(days=1)
                self._batch(cat, day)
                arbiter = Arbiter.of(self.ruleset, day, self.rates(), top_n=SHOWN)
            client = self.clients[int(self.rng.integers(self.population))]
            calls += 1
            top, detail = arbiter.arbitrate(
                rule_outcome(cat, client),
                client.numbers,
                client_id=client.client_id,
                history=self.events.history(client.client_id),
            )
            top = self._control(client, top, arbiter)
            if not top:  # the contact policy holds every eligible action back
                continue
            quiet = {str(s["code"]) for s in detail["suppressed"]}
            evs = {
                code: true_ev(cat, code, client)
                for code in ELIGIBLE[client.stage]
                if code not in quiet
            }
            best = max(evs, key=lambda c: evs[c])
            first = str(top[0]["code"])
            window_calls += 1
            window_match += first == best
            regret = evs[best] - evs[first]
            window_regret += regret
            cumulative += regret
            kept_chance, answers_now = self._offer(client, top, day)
            answers += answers_now
            since_refresh += answers_now
            self._retention(client, top, kept_chance)
            if since_refresh >= self.refresh:
                arbiter = Arbiter.of(self.ruleset, day, self.rates(), top_n=SHOWN)
                since_refresh = 0
            if answers >= checkpoints[len(results)]:
                results.append(
                    Checkpoint(
                        answers,
                        calls,
                        window_match / window_calls,
                        window_regret / window_calls,
                        cumulative,
                        {code: arm.estimate() for code, arm in self.arms.items()},
                        {code: arm.true for code, arm in self.arms.items()},
                    )
                )
                window_calls = window_match = 0
                window_regret = 0.0
        return results

    def _control(
        self, client: Client, top: list[dict[str, object]], arbiter: Arbiter
    ) -> list[dict[str, object]]:
        """The control group drawn with a share other than the ruleset's, for a test."""
        if self.control_share is not None:
            for entry in top:
                entry["held_out"] = held_out(
                    client.client_id, str(entry["code"]), arbiter.period, self.control_share
                )
        return top

    def _batch(self, cat: Catalogue, day: date) -> None:
        """The CRM's daily batch: classifications with no contact, so no event. Checked: the
        events before and after are the same."""
        before = self.events.snapshot()
        arbiter = Arbiter.of(self.ruleset, day, self.rates(), top_n=SHOWN)
        for index in self.rng.integers(self.population, size=self.batch_per_day):
            client = self.clients[int(index)]
            arbiter.arbitrate(
                rule_outcome(cat, client),
                client.numbers,
                client_id=client.client_id,
                history=self.events.history(client.client_id),
            )
        self.batch_classified += self.batch_per_day
        assert self.events.snapshot() == before, "a classification recorded an event"

    def _offer(
        self, client: Client, top: list[dict[str, object]], day: date
    ) -> tuple[dict[str, float], int]:
        """Present the shown actions not held out: each an offer event, answered accepted,
        declined or call back. Returns, per shown action, its true chance of being accepted
        (0 when held out), and how many answers were counted."""
        segment = f"{client.tier}/{client.stage}"
        accepted_chance: dict[str, float] = {}
        self._accepted: dict[str, bool] = {}
        counted = 0
        for entry in top:
            code = str(entry["code"])
            p = true_acceptance(code, client.tier, client.stage)
            if entry["held_out"]:
                accepted_chance[code] = 0.0
                self._accepted[code] = False
                continue
            self.events.offers[client.client_id].append(Presented(code, str(entry["channel"]), day))
            accepted = bool(self.rng.random() < p)
            if not accepted and self.rng.random() < CALLBACK_SHARE:
                result = "call_back"
            else:
                result = "accepted" if accepted else "declined"
            self.events.answers[client.client_id].append(Contact(code, result, day))
            self._accepted[code] = accepted
            accepted_chance[code] = p if result != "call_back" else 0.0
            if result != "call_back":
                count = self.events.counts[(code, segment)]
                count[0] += 1
                count[1] += accepted
                counted += 1
        return accepted_chance, counted

    def _retention(
        self, client: Client, top: list[dict[str, object]], chance: dict[str, float]
    ) -> None:
        """Twelve months on: the client leaves with its lapse probability, less the share each
        accepted offer saves; the true uplift of each shown action is its expected effect
        given the other offers as they were made."""
        lapse = float(client.numbers["lapse_probability"] or 0.0)
        keep = 1.0
        for code, accepted in self._accepted.items():
            if accepted:
                keep *= 1 - SAVE[code]
        retained = bool(self.rng.random() >= lapse * keep)
        for entry in top:
            code = str(entry["code"])
            others = 1.0
            for other, p in chance.items():
                if other != code:
                    others *= 1 - SAVE[other] * p
            effect = lapse * SAVE[code] * true_acceptance(code, client.tier, client.stage) * others
            arm = self.arms[code]
            arm.true_sum += effect
            if entry["held_out"]:
                arm.control += 1
                arm.control_kept += retained
            else:
                arm.treated += 1
                arm.treated_kept += retained


def coverage(
    ruleset: Ruleset, runs: int, answers: int, control_share: float | None = None
) -> tuple[int, int]:
    """How many of the (run, action) uplift intervals hold the true uplift, of how many."""
    held = total = 0
    for seed in range(runs):
        (last,) = Simulation(ruleset, seed=1000 + seed, control_share=control_share).run((answers,))
        for code, estimate in last.arms.items():
            if estimate.low is None or estimate.control < 30:
                continue
            total += 1
            held += estimate.low <= last.true_uplift[code] <= estimate.high  # type: ignore[operator]
    return held, total


def _print(name: str, points: list[Checkpoint]) -> None:
    print(f"\n{name}")
    print(
        f"{'answers':>8} {'calls':>7} {'best action':>12} {'regret/call':>12} {'cum. regret':>13}"
    )
    for p in points:
        print(
            f"{p.answers:>8} {p.calls:>7} {p.match:>12.1%} {p.regret:>12.2f} "
            f"{p.cumulative_regret:>13,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40, help="seeded runs for the coverage")
    parser.add_argument("--run-answers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ruleset = Ruleset.load()
    marks = (*tuple(m for m in (1000, 10000, 100000) if m < args.answers), args.answers)
    world = Simulation(ruleset, seed=args.seed)
    learned = world.run(marks)
    fixed = Simulation(ruleset, seed=args.seed, learn=False).run(marks)
    offers, answered, counted = world.events.snapshot()
    print(
        f"{world.population:,} clients calling again; {offers:,} offers presented, {answered:,} "
        f"answers recorded ({counted:,} accepted or declined, the rest callbacks); "
        f"{world.batch_classified:,} batch classifications without contact recorded no event"
    )
    _print("learning (Beta-smoothed acceptance per action and segment)", learned)
    _print("starting rates only (baseline, same world and seed)", fixed)
    print(
        f"\nbest-action share at {marks[-1]:,} answers: learning / starting rates = "
        f"{learned[-1].match / max(fixed[-1].match, 1e-9):.2f}x; regret per call "
        f"{learned[-1].regret / max(fixed[-1].regret, 1e-9):.2f}x the baseline's"
    )
    last = learned[-1]
    print(f"\nuplift in 12-month retention after {last.answers:,} answers (treated - control)")
    print(
        f"{'action':<18} {'treated':>8} {'control':>8} {'estimate':>9} {'95% interval':>20} "
        f"{'true':>8}"
    )
    for code in sorted(last.arms):
        u = last.arms[code]
        interval = f"[{u.low:+.4f}, {u.high:+.4f}]" if u.low is not None else "-"
        est = f"{u.estimate:+.4f}" if u.estimate is not None else "-"
        print(
            f"{code:<18} {u.treated:>8} {u.control:>8} {est:>9} {interval:>20} "
            f"{last.true_uplift[code]:+.4f}"
        )
    held, total = coverage(ruleset, args.runs, args.run_answers)
    print(
        f"\ninterval holds the true uplift in {held}/{total} = {held / max(total, 1):.1%} of "
        f"(run, action) pairs ({args.runs} seeded runs of {args.run_answers:,} answers)"
    )


if __name__ == "__main__":
    main()
