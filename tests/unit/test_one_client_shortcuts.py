"""What one client's classification works out once and reuses gives the answers it would
give worked out each time: an arbiter's offers per outcome, a weight of 1 without a second
rounding, the formulas' numbers built straight from a client's numbers, each repeated
reason written once, a client's features read through a view."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.classification.reasons import PHRASES, TARGETS, _sentences, written
from app.classification.results import ClientNumbers
from app.classification.single import OneRow
from app.rules.outcome import Action, RuleOutcome
from app.rules.ruleset import Ruleset
from app.strategy.arbitrate import Arbiter, catalogue
from app.strategy.control import period_of
from app.strategy.rates import Counts, Rates
from app.strategy.values import known_numbers

TODAY = date(2026, 12, 1)
SHOWN = st.one_of(st.none(), st.floats(allow_infinity=False), st.sampled_from([0.0, -0.0, 1.0]))
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return Ruleset.load()


def _outcome(codes: tuple[str, ...], value: str = "high") -> RuleOutcome:
    actions = tuple(Action(c, c, c, "why", "why") for c in codes)
    return RuleOutcome(value, "A", "low", "at_risk", None, None, actions, ())  # type: ignore[arg-type]


def _fresh(ruleset: Ruleset, rates: Rates) -> Arbiter:
    """An arbiter with nothing worked out yet (not the shared one `Arbiter.of` keeps)."""
    period = period_of(TODAY, catalogue(ruleset).document.strategy.period_days)
    return Arbiter(catalogue(ruleset), rates, TODAY, 3, period, date.fromisoformat(period))


@given(
    clv=SHOWN,
    percentile=SHOWN,
    claims=SHOWN,
    loss_ratio=SHOWN,
    lapse=SHOWN,
    purchase=SHOWN,
    premium=FINITE,
    client=st.booleans(),
    prospect=st.booleans(),
)
def test_a_client_s_known_numbers_are_those_of_its_formula_numbers(
    clv: float | None,
    percentile: float | None,
    claims: float | None,
    loss_ratio: float | None,
    lapse: float | None,
    purchase: float | None,
    premium: float,
    client: bool,
    prospect: bool,
) -> None:
    numbers = ClientNumbers(
        client, prospect, clv, percentile, claims, loss_ratio, lapse, purchase, premium
    )
    known, reference = numbers.known(), known_numbers(numbers.for_formulas())
    assert list(known) == list(reference)
    for name, value in reference.items():
        assert math.copysign(1.0, known[name]) == math.copysign(1.0, value)
        assert known[name] == value
        assert type(known[name]) is float


@given(FINITE)
def test_a_number_rounded_to_the_fen_rounds_to_itself(x: float) -> None:
    """Why a weight of 1 needs no second rounding of the priority."""
    once = round(x, 2)
    assert round(once * 1.0, 2) == once
    assert math.copysign(1.0, round(once * 1.0, 2)) == math.copysign(1.0, once)


def test_an_outcome_met_again_is_arbitrated_as_the_first_time(ruleset: Ruleset) -> None:
    codes = ("priority_claims", "retention_offer", "care_activities", "regular_visits")
    rates = Rates({("retention_offer", "high/at_risk"): Counts(40, 5)})
    warm = _fresh(ruleset, rates)
    met = _outcome(codes)
    clients = [
        {"clv": clv, "lapse_probability": lapse, "purchase_probability": None,
         "expected_claim_frequency": 0.2, "expected_loss_ratio": 0.5, "annual_premium": 5000.0}
        for clv in (20000.0, 150.5, -30.0, 0.0) for lapse in (0.4, 0.013, None)
    ]  # fmt: skip
    for i, numbers in enumerate(clients):
        for outcome in (met, _outcome(codes), _outcome(codes, value="medium")):
            client_id = f"C-{i:05d}"
            again: Any = warm.arbitrate(outcome, numbers, client_id=client_id, history=None)
            first = _fresh(ruleset, rates).arbitrate(
                outcome, numbers, client_id=client_id, history=None
            )
            assert again == first
    # A different outcome with the id of one dropped is not answered from the cache.
    assert warm.offers(_outcome(("cross_sell",)))[1][0].action.code == "cross_sell"


# Values a factor may show, in an order where equal numbers of another type follow each other.
FACTOR_VALUES = [
    None, 0, 0.0, -0.0, 1, 1.0, True, False, 2, 1234567, 1234567.0, 0.3333, 12.5, -3,
    "agent", "state_owned", "1", "",
]  # fmt: skip


def test_each_reason_written_once_reads_as_written_afresh() -> None:
    features = [*PHRASES, "a_feature_without_a_phrase"]
    for _ in range(2):  # the second time from what the first one kept
        for feature in features:
            for value in FACTOR_VALUES:
                for model in TARGETS:
                    for up in (True, False):
                        args = (feature, value, model, up)
                        assert _answer(written, *args) == _answer(_sentences, *args)


def _answer(write: Any, *args: Any) -> Any:
    try:
        return write(*args)
    except (ValueError, TypeError) as exc:  # a value the feature never has
        return type(exc)


def test_a_client_s_features_read_as_columns_of_one_row() -> None:
    features: dict[str, float | str | None] = {"kind": "corporate", "age": math.nan, "x": None}
    row = OneRow(features)
    assert dict(row) == {name: (value,) for name, value in features.items()}
    assert len(row) == 3
    assert row.get("kind") == ("corporate",)
    assert row.get("missing") is None
    with pytest.raises(KeyError):
        row["missing"]


@given(st.lists(FINITE, min_size=6, max_size=6))
def test_a_value_the_same_for_every_client_is_the_formula_s_value(
    ruleset: Ruleset, numbers: list[float]
) -> None:
    known = dict(zip(("clv", "lapse_probability", "purchase_probability",
                      "expected_claim_frequency", "expected_loss_ratio", "annual_premium"),
                     numbers, strict=True))  # fmt: skip
    codes = catalogue(ruleset).codes
    _, offers = _fresh(ruleset, Rates()).offers(_outcome(codes))
    assert [o.action.code for o in offers] == list(codes)
    assert any(o.fixed is not None for o in offers)  # the shipped catalogue has some
    for offer in offers:
        assert (offer.fixed is None) == bool(offer.value.fields)
        if offer.fixed is not None:
            assert offer.fixed == offer.value.client(known)
