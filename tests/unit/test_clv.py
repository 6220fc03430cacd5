"""Customer lifetime value and the book percentile (pure NumPy)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.classification.clv import ClvResult, book_percentile, customer_lifetime_value, sorted_book
from app.rules.parameters import ClvParameters, SegmentCosts
from app.rules.ruleset import Ruleset

PARAMS = ClvParameters(
    horizon_years=3,
    discount_rate=0.05,
    expense_ratio=0.2,
    segments={
        "individual": SegmentCosts(
            service_cost_per_year=100, average_claim_amount=5000, first_year_premium=2500
        ),
        "corporate": SegmentCosts(
            service_cost_per_year=2000, average_claim_amount=40000, first_year_premium=30000
        ),
    },
)


def clv(params: ClvParameters = PARAMS, **rows: Any) -> ClvResult:
    n = len(next(iter(rows.values())))
    given: dict[str, Any] = {
        "segment": ["individual"] * n,
        "annual_premium": [0.0] * n,
        "in_force": [True] * n,
        "prospect": [False] * n,
        "lapse_probability": [np.nan] * n,
        "expected_claim_frequency": [0.1] * n,
        "purchase_probability": [np.nan] * n,
    }
    given.update(rows)
    return customer_lifetime_value(params, **given)


def test_a_client_against_a_hand_computed_value() -> None:
    # margin = 10,000 x 0.8 - 0.1 x 5,000 - 100 = 7,400 a year;
    # q = (1 - 0.1) / 1.05 = 0.857142857; q + q^2 + q^3 = 2.221574344
    result = clv(annual_premium=[10_000.0], lapse_probability=[0.1])
    assert result.clv[0] == pytest.approx(7400 * 2.221574344, rel=1e-9)
    assert result.clv[0] == pytest.approx(16439.65, abs=0.01)
    assert result.expected_claims_cost[0] == pytest.approx(500.0)
    assert result.expected_loss_ratio[0] == pytest.approx(0.05)


def test_survival_starts_after_the_first_renewal() -> None:
    one_year = ClvParameters(1, 0.05, 0.2, PARAMS.segments)
    result = clv(one_year, annual_premium=[10_000.0], lapse_probability=[0.1])
    assert result.clv[0] == pytest.approx(7400 * 0.9 / 1.05)
    certain_loss = clv(one_year, annual_premium=[10_000.0], lapse_probability=[1.0])
    assert certain_loss.clv[0] == 0.0


def test_a_corporate_client_uses_its_segment_costs() -> None:
    # 200,000 x 0.8 - 2 x 40,000 - 2,000 = 78,000 a year, no lapse: 78,000 x sum(1.05^-t)
    result = clv(
        segment=["corporate"],
        annual_premium=[200_000.0],
        lapse_probability=[0.0],
        expected_claim_frequency=[2.0],
    )
    assert result.clv[0] == pytest.approx(78_000 * (1 / 1.05 + 1 / 1.05**2 + 1 / 1.05**3))
    assert result.expected_loss_ratio[0] == pytest.approx(0.4)


def test_prospects_and_former_clients() -> None:
    result = clv(
        in_force=[False, False],
        prospect=[True, False],
        purchase_probability=[0.4, np.nan],
    )
    # a prospect: 0.4 x (2,500 x 0.8 - 500 - 100) / 1.05; a former client: nothing modelled
    assert result.clv[0] == pytest.approx(0.4 * 1400 / 1.05)
    assert result.clv[1] == 0.0
    assert np.isnan(result.expected_loss_ratio).all()  # no premium, no loss ratio


def test_a_loss_making_client_has_a_negative_value() -> None:
    result = clv(annual_premium=[500.0], lapse_probability=[0.1], expected_claim_frequency=[1.0])
    assert result.clv[0] < 0
    assert result.expected_loss_ratio[0] == pytest.approx(10.0)


@settings(max_examples=100, deadline=None)
@given(
    premium=st.floats(1_000, 1e6),
    lapse=st.lists(st.floats(0, 1), min_size=2, max_size=20),
)
def test_clv_falls_as_lapse_probability_rises(premium: float, lapse: list[float]) -> None:
    rising = sorted(lapse)
    result = clv(
        annual_premium=[premium] * len(rising),
        lapse_probability=rising,
        expected_claim_frequency=[0.0] * len(rising),
    )
    assert (np.diff(result.clv) <= 1e-9).all()


@settings(max_examples=100, deadline=None)
@given(
    premiums=st.lists(st.floats(0, 1e7), min_size=2, max_size=20),
    lapse=st.floats(0, 0.99),
)
def test_clv_rises_with_premium(premiums: list[float], lapse: float) -> None:
    rising = sorted(premiums)
    n = len(rising)
    result = clv(annual_premium=rising, lapse_probability=[lapse] * n)
    assert (np.diff(result.clv) >= -1e-9).all()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"lapse_probability": [np.nan]}, "lapse_probability at row 0 must be in [0, 1]"),
        ({"lapse_probability": [1.2]}, "lapse_probability at row 0 must be in [0, 1]"),
        (
            {"expected_claim_frequency": [np.nan], "lapse_probability": [0.1]},
            "expected_claim_frequency at row 0",
        ),
        ({"annual_premium": [-1.0], "lapse_probability": [0.1]}, "annual_premium at row 0"),
        (
            {"segment": ["household"], "lapse_probability": [0.1]},
            "segment at row 0 must be one of individual, corporate",
        ),
        (
            {"in_force": [False], "prospect": [True]},
            "purchase_probability at row 0 must be in [0, 1]",
        ),
        (
            {"segment": ["individual"], "annual_premium": [1.0, 2.0]},
            "annual_premium has shape (2,), expected (1,)",
        ),
    ],
)
def test_missing_or_impossible_inputs_name_the_row(rows: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        clv(**rows)


def test_percentile_in_the_book() -> None:
    book = sorted_book([5.0, 1.0, np.nan, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0])
    assert book.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    percentile = book_percentile(book, book)
    # mid-rank: the top two of ten are exactly those at 80 or above
    assert percentile.tolist() == pytest.approx([5, 15, 25, 35, 45, 55, 65, 75, 85, 95])
    outside = book_percentile(book, [0.0, 11.0, 5.5, np.nan])
    assert outside[:3].tolist() == [0.0, 100.0, 50.0]
    assert np.isnan(outside[3])


def test_ties_share_their_percentile() -> None:
    book = sorted_book([1.0, 2.0, 2.0, 2.0, 3.0])
    assert book_percentile(book, [2.0]).tolist() == [50.0]


def test_an_empty_book_has_no_percentile() -> None:
    with pytest.raises(ValueError, match="the book is empty"):
        book_percentile(sorted_book([np.nan]), [1.0])


def test_the_default_ruleset_gives_clv_parameters() -> None:
    params = Ruleset.load().clv_parameters
    assert (params.horizon_years, params.discount_rate) == (5, 0.05)
    result = clv(params, annual_premium=[6000.0], lapse_probability=[0.09])
    assert result.clv[0] > 0
