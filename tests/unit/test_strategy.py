"""Next best action: value formulas, arbitration, contact policy, learning, control group."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, get_args

import pytest
import yaml

from app.profiles.enums import ContactChannel
from app.rules.errors import RulesetRefused
from app.rules.formula import Formula, FormulaError
from app.rules.outcome import Action, RuleOutcome
from app.rules.parameters import Channel
from app.rules.ruleset import DEFAULT_RULESET_DIR, Ruleset, read_ruleset_files
from app.strategy.arbitrate import Arbiter, catalogue
from app.strategy.control import held_out, period_of
from app.strategy.policy import Contact, History, Presented
from app.strategy.rates import Counts, Rates

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return Ruleset.load()


def with_document(change: Callable[[dict[str, Any]], None]) -> dict[str, bytes]:
    files = read_ruleset_files(DEFAULT_RULESET_DIR)
    document = yaml.safe_load(files["ruleset.yaml"])
    change(document)
    return {**files, "ruleset.yaml": yaml.safe_dump(document, allow_unicode=True).encode()}


def test_a_formula_evaluates_on_numbers_and_counts_unknown_numbers_as_zero() -> None:
    formula = Formula.parse("lapse_probability * clv * save_rate - cost", {"save_rate", "cost"})
    numbers = {"lapse_probability": 0.5, "clv": 1000.0}
    assert formula.evaluate(numbers, {"save_rate": 0.4, "cost": 10}) == pytest.approx(190)
    assert (
        formula.evaluate({"lapse_probability": None, "clv": 1000.0}, {"save_rate": 0.4, "cost": 10})
        == -10
    )
    assert formula.fields == {"lapse_probability", "clv"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lapse_probability * clv * save_rat", "unknown field 'save_rat'"),
        ("__import__('os')", "is not allowed"),
        ("clv ** 2", "is not allowed"),
        ("clv *", "does not parse"),
        ("clv.real", "is not allowed"),
    ],
)
def test_a_bad_formula_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=re.escape(message)):
        Formula.parse(text, {"save_rate", "cost"})


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("value", "clv * margn", "unknown field 'margn'"),
        ("evidence", -1, "greater than or equal to 0"),
        ("acceptance", 1.5, "less than 1"),
        ("channel", "fax", "'call', 'visit', 'sms', 'app' or 'mail'"),
    ],
)
def test_a_catalogue_entry_that_breaks_the_contract_refuses_the_ruleset(
    key: str, bad: object, message: str
) -> None:
    def change(document: dict[str, object]) -> None:
        document["actions"][0][key] = bad  # type: ignore[index]

    with pytest.raises(RulesetRefused) as refused:
        Ruleset.from_files(with_document(change))
    assert "ruleset.yaml: actions.0" in refused.value.detail
    assert message in refused.value.detail


def outcome(*codes: str, value: str = "high", stage: str = "at_risk") -> RuleOutcome:
    actions = tuple(Action(c, c, c, "why", "why") for c in codes)
    return RuleOutcome(value, "A", "low", stage, None, None, actions, ())  # type: ignore[arg-type]


NUMBERS = {
    "clv": 20000.0,
    "lapse_probability": 0.4,
    "purchase_probability": None,
    "expected_claim_frequency": 0.2,
    "expected_loss_ratio": 0.5,
    "annual_premium": 5000.0,
}


def arbitrate(
    arbiter: Arbiter, *codes: str, history: History | None = None, client: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return arbiter.arbitrate(outcome(*codes), NUMBERS, client_id=client, history=history)


def test_actions_are_ranked_by_acceptance_times_value_times_weight(ruleset: Ruleset) -> None:
    arbiter = Arbiter.of(ruleset, TODAY)
    codes = [
        "priority_claims",
        "retention_offer",
        "care_activities",
        "regular_visits",
        "cross_sell",
    ]
    top, detail = arbitrate(arbiter, *codes)
    assert len(top) == 3
    every = top + detail["others"]
    assert {a["code"] for a in every} == set(codes)
    priorities = [a["priority"] for a in every]
    assert priorities == sorted(priorities, reverse=True)
    retention = next(a for a in top if a["code"] == "retention_offer")
    # 0.4 lapse x 20000 CLV x 0.4 save rate - 200 cost = 3000 yuan, accepted 30% of the time
    assert retention["value"] == 3000
    assert retention["acceptance"] == 0.3
    assert retention["expected_value"] == 900
    assert retention["priority"] == 900
    assert top[0]["code"] == "retention_offer"
    assert "acceptance 30.0% (the starting rate)" in retention["why"]
    assert detail["segment"] == "high/at_risk"


def test_the_top_n_is_a_setting(ruleset: Ruleset) -> None:
    top, detail = arbitrate(
        Arbiter.of(ruleset, TODAY, top_n=1), "priority_claims", "retention_offer"
    )
    assert [a["code"] for a in top] == ["retention_offer"]
    assert [a["code"] for a in detail["others"]] == ["priority_claims"]


def test_learned_acceptance_in_the_segment_changes_the_order(ruleset: Ruleset) -> None:
    codes = ("retention_offer", "regular_visits")
    before, _ = arbitrate(Arbiter.of(ruleset, TODAY), *codes)
    assert before[0]["code"] == "retention_offer"
    learned = Rates({("retention_offer", "high/at_risk"): Counts(1000, 10)})
    after, _ = arbitrate(Arbiter.of(ruleset, TODAY, learned), *codes)
    assert after[0]["code"] == "regular_visits"
    # another segment still has the starting rate
    other, _ = Arbiter.of(ruleset, TODAY, learned).arbitrate(
        outcome(*codes, value="medium"), NUMBERS, client_id=None, history=None
    )
    assert other[0]["code"] == "retention_offer"


def test_the_beta_posterior_moves_from_the_starting_rate_to_the_recorded_one(
    ruleset: Ruleset,
) -> None:
    spec = catalogue(ruleset).specs["retention_offer"]  # 30%, evidence 50
    assert Rates().mean(spec, "s") == pytest.approx(0.3)
    few = Rates({("retention_offer", "s"): Counts(10, 10)})
    assert few.mean(spec, "s") == pytest.approx((15 + 10) / 60)
    many = Rates({("retention_offer", "s"): Counts(100_000, 80_000)})
    rate = many.rate(spec, "s")
    assert rate.mean == pytest.approx(0.8, abs=0.001)
    assert rate.low < rate.mean < rate.high
    assert rate.high - rate.low < 0.01


def test_the_contact_policy_suppresses_with_a_reason(ruleset: Ruleset) -> None:
    arbiter = Arbiter.of(ruleset, TODAY)
    codes = ("retention_offer", "care_activities", "regular_visits")
    declined = History((Contact("retention_offer", "declined", date(2026, 11, 1)),))
    top, detail = arbitrate(arbiter, *codes, history=declined)
    assert "retention_offer" not in {a["code"] for a in top}
    (quiet,) = detail["suppressed"]
    assert quiet["code"] == "retention_offer"
    assert quiet["why"] == "declined on 2026-11-01: no offer for 90 days"
    long_ago = History((Contact("retention_offer", "declined", date(2026, 1, 1)),))
    assert arbitrate(arbiter, *codes, history=long_ago)[1]["suppressed"] == []
    period = date.fromisoformat(arbiter.period)
    offered = History(offers=(Presented("care_activities", "sms", period),))
    (capped,) = arbitrate(arbiter, *codes, history=offered)[1]["suppressed"]
    assert capped["code"] == "care_activities"
    assert capped["why"] == "offered 1 time(s) by sms this period (at most 1)"
    # Another channel's offer is not this channel's contact; a classification is none.
    elsewhere = History(offers=(Presented("care_activities", "app", period),))
    assert arbitrate(arbiter, *codes, history=elsewhere)[1]["suppressed"] == []
    # A callback asked for keeps the action until it is done.
    pending = History((Contact("care_activities", "call_back", period),), offered.offers)
    assert arbitrate(arbiter, *codes, history=pending)[1]["suppressed"] == []
    done = History(
        (*pending.contacts, Contact("care_activities", "accepted", period)), offered.offers
    )
    assert [s["code"] for s in arbitrate(arbiter, *codes, history=done)[1]["suppressed"]] == [
        "care_activities"
    ]
    refused = History(refused=frozenset({"sms"}))
    (closed_channel,) = arbitrate(arbiter, *codes, history=refused)[1]["suppressed"]
    assert closed_channel == {
        "code": "care_activities",
        "channel": "sms",
        "why": "the client refused contact by sms",
    }
    complaint = History(
        (
            Contact("care_activities", "complaint", date(2026, 11, 20)),
            Contact("care_activities", "complaint_closed", date(2026, 11, 21)),
            Contact("care_activities", "complaint", date(2026, 11, 22)),
        )
    )
    top, detail = arbitrate(arbiter, *codes, history=complaint)
    assert top == []
    assert {s["why"] for s in detail["suppressed"]} == {"a complaint is open"}
    closed = History((*complaint.contacts, Contact("care_activities", "complaint_closed", TODAY)))
    assert len(arbitrate(arbiter, *codes, history=closed)[0]) == 3


def test_the_control_group_is_stable_and_near_its_share() -> None:
    period = period_of(TODAY, 30)
    first = [held_out(f"C-{i:06d}", "retention_offer", period, 0.05) for i in range(20_000)]
    again = [held_out(f"C-{i:06d}", "retention_offer", period, 0.05) for i in range(20_000)]
    assert first == again
    assert 0.045 < sum(first) / len(first) < 0.055
    other_action = [held_out(f"C-{i:06d}", "cross_sell", period, 0.05) for i in range(20_000)]
    assert other_action != first
    assert not held_out(None, "retention_offer", period, 0.05)
    assert period_of(date(2026, 12, 1), 30) == period_of(date.fromisoformat(period), 30)


def test_held_out_actions_are_marked_in_the_result(ruleset: Ruleset) -> None:
    arbiter = Arbiter.of(ruleset, TODAY)
    marks = [
        arbitrate(arbiter, "retention_offer", client=f"C-{i:05d}")[0][0]["held_out"]
        for i in range(2000)
    ]
    assert 50 < sum(marks) < 150


def test_the_profile_s_contact_channels_are_the_catalogue_s_channels() -> None:
    """Consent is given per channel an action goes out on: the two lists are twins (the
    profile cannot import the rules), held equal here."""
    assert {c.value for c in ContactChannel} == set(get_args(Channel))
