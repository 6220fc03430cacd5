"""Customer lifetime value (客户终生价值) and the client's percentile of it in the book.

Pure NumPy, vectorised over clients. The parameters come from the ruleset
(`rules/ruleset.yaml`, section `clv`); docs/rules.md states the formula and its conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.arrays import BoolArray, FloatArray
from app.rules.parameters import ClvParameters, SegmentCosts

MIN_PREMIUM = 0.01  # yuan


@dataclass(frozen=True, slots=True)
class ClvResult:
    clv: FloatArray
    expected_claims_cost: FloatArray  # per year; NaN where no claim frequency was given
    expected_loss_ratio: FloatArray  # expected claims cost / annual premium; NaN for no premium


def _floats(values: ArrayLike, n: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"{name} has shape {array.shape}, expected ({n},)")
    return array


def _require(ok: BoolArray, name: str, rule: str) -> None:
    if not ok.all():
        row = int(np.argmin(ok))
        raise ValueError(f"{name} at row {row} must be {rule}")


def _segment_costs(params: ClvParameters, segment: NDArray[np.str_]) -> dict[str, FloatArray]:
    names = [f.name for f in fields(SegmentCosts)]
    costs = {name: np.zeros(segment.shape) for name in names}
    known = np.zeros(segment.shape, dtype=bool)
    for kind, segment_costs in params.segments.items():
        rows = segment == kind
        known |= rows
        for name in names:
            costs[name][rows] = getattr(segment_costs, name)
    _require(known, "segment", f"one of {', '.join(params.segments)}")
    return costs


def survival_discount_sum(
    params: ClvParameters,
    lapse_probability: FloatArray,
    segment: NDArray[np.str_] | None = None,
    tenure_years: FloatArray | None = None,
) -> FloatArray:
    """Sum over t = 1..H of survival(t) / (1 + r)^t.

    survival(t) = q_1 x ... x q_t. Without a retention curve for the client's segment (or
    without a tenure), q_t = 1 - p, p the client's one-year lapse probability. With the
    segment's sBG curve r(n) and the client's tenure tau in years,
    q_t = min(1, (1 - p) x r(tau + t) / r(tau + 1)): the client's own first-year retention,
    rising with tenure as its segment's does.
    """
    ratio = (1.0 - lapse_probability) / (1.0 + params.discount_rate)
    trend = _trend(params, segment, tenure_years, lapse_probability.shape)
    total = np.zeros_like(ratio)
    term = np.ones_like(ratio)
    for t in range(1, params.horizon_years + 1):
        if trend is None:
            term = term * ratio
        else:
            has, tenure, alpha, beta = trend
            growth = rate_at(alpha, beta, tenure + float(t)) / rate_at(alpha, beta, tenure + 1.0)
            kept = np.minimum(1.0, (1.0 - lapse_probability) * growth)
            term = term * np.where(has, kept / (1.0 + params.discount_rate), ratio)
        total += term
    return total


def rate_at(alpha: FloatArray, beta: FloatArray, period: FloatArray) -> FloatArray:
    """sBG r(n) = (beta + n - 1) / (alpha + beta + n - 1), as `clv_row.rate_at_row` has it."""
    rate: FloatArray = (beta + period - 1.0) / (alpha + beta + period - 1.0)
    return rate


def _trend(
    params: ClvParameters,
    segment: NDArray[np.str_] | None,
    tenure_years: FloatArray | None,
    shape: tuple[int, ...],
) -> tuple[BoolArray, FloatArray, FloatArray, FloatArray] | None:
    """Rows with a curve, their tenure, alpha and beta (1 elsewhere); None if no row has one."""
    if not params.retention or segment is None or tenure_years is None:
        return None
    has = np.zeros(shape, dtype=bool)
    alpha, beta = np.ones(shape), np.ones(shape)
    for kind, curve in params.retention.items():
        rows = (segment == kind) & np.isfinite(tenure_years) & (tenure_years >= 0)
        has |= rows
        alpha[rows], beta[rows] = curve.alpha, curve.beta
    if not has.any():
        return None
    return has, np.where(has, tenure_years, 0.0), alpha, beta


@dataclass(frozen=True, slots=True)
class _Book:
    """Checked inputs, one row per client."""

    segment: NDArray[np.str_]
    premium: FloatArray
    client: BoolArray  # policies in force
    prospect: BoolArray  # never held a policy
    lapse: FloatArray
    frequency: FloatArray
    purchase: FloatArray


def _validated_book(
    segment: ArrayLike,
    annual_premium: ArrayLike,
    in_force: ArrayLike,
    prospect: ArrayLike,
    rates: tuple[ArrayLike, ArrayLike, ArrayLike],
) -> _Book:
    kinds = np.asarray(segment, dtype=np.str_)
    n = kinds.shape[0]
    client = _floats(in_force, n, "in_force").astype(bool)
    new = _floats(prospect, n, "prospect").astype(bool) & ~client
    book = _Book(
        segment=kinds,
        premium=_floats(annual_premium, n, "annual_premium"),
        client=client,
        prospect=new,
        lapse=_floats(rates[0], n, "lapse_probability"),
        frequency=_floats(rates[1], n, "expected_claim_frequency"),
        purchase=_floats(rates[2], n, "purchase_probability"),
    )
    premium, frequency = book.premium, book.frequency
    _require(np.isfinite(premium) & (premium >= 0), "annual_premium", "finite and >= 0")
    _require(~client | ((book.lapse >= 0) & (book.lapse <= 1)), "lapse_probability", "in [0, 1]")
    finite = np.isfinite(frequency) & (frequency >= 0)
    _require(~(client | new) | finite, "expected_claim_frequency", "finite and >= 0")
    probability = (book.purchase >= 0) & (book.purchase <= 1)
    _require(~new | probability, "purchase_probability", "in [0, 1]")
    return book


def customer_lifetime_value(
    params: ClvParameters,
    *,
    segment: ArrayLike,
    annual_premium: ArrayLike,
    in_force: ArrayLike,
    prospect: ArrayLike,
    lapse_probability: ArrayLike,
    expected_claim_frequency: ArrayLike,
    purchase_probability: ArrayLike,
    tenure_years: ArrayLike | None = None,
) -> ClvResult:
    """CLV per client, in yuan.

    - a client with policies in force (`in_force`): the discounted expected margin over the
      horizon, sum_t (premium x (1 - expense ratio) - claims cost - service cost)
      x survival(t) / (1 + discount rate)^t, survival as `survival_discount_sum` says: the
      constant (1 - lapse probability)^t, or with the segment's retention curve and the
      client's `tenure_years`, rising with tenure;
    - a prospect (never held a policy): the first year's margin on the segment's typical
      first-year premium, times the purchase probability, discounted one year;
    - a former client: 0 (no model says whether it comes back).

    Lapse probability is read for clients only, purchase probability for prospects only,
    so NaN may stand where a value does not apply; a NaN or out-of-range value where one is
    needed raises ValueError naming the row.
    """
    rates = (lapse_probability, expected_claim_frequency, purchase_probability)
    book = _validated_book(segment, annual_premium, in_force, prospect, rates)
    costs = _segment_costs(params, book.segment)
    claims_cost = book.frequency * costs["average_claim_amount"]
    keep = 1.0 - params.expense_ratio
    service = costs["service_cost_per_year"]
    clv = np.zeros(book.premium.shape)
    margin = book.premium * keep - claims_cost - service
    tenure = None if tenure_years is None else _floats(tenure_years, book.premium.size, "tenure")
    survival = survival_discount_sum(params, book.lapse, book.segment, tenure)
    clv[book.client] = (margin * survival)[book.client]
    first_year = costs["first_year_premium"] * keep - claims_cost - service
    discounted = book.purchase * first_year / (1.0 + params.discount_rate)
    clv[book.prospect] = discounted[book.prospect]
    # Below one fen there is no premium to speak of (and dividing by it overflows).
    loss_ratio = np.full(book.premium.shape, np.nan)
    np.divide(claims_cost, book.premium, out=loss_ratio, where=book.premium >= MIN_PREMIUM)
    return ClvResult(clv=clv, expected_claims_cost=claims_cost, expected_loss_ratio=loss_ratio)


def sorted_book(values: ArrayLike) -> FloatArray:
    """The book's CLV values, finite ones only, sorted: what `book_percentile` ranks against."""
    array = np.asarray(values, dtype=np.float64).ravel()
    return np.sort(array[np.isfinite(array)])


def book_percentile(book: FloatArray, clv: ArrayLike) -> FloatArray:
    """Percentile (0-100) of each CLV in the book: the share of the book below it, ties half.

    `book` must be sorted ascending (see `sorted_book`). With the mid-rank convention the
    top 20% of a book of distinct values are exactly those at the 80th percentile or above.
    """
    if book.size == 0:
        raise ValueError("the book is empty: no percentile can be computed")
    values = np.asarray(clv, dtype=np.float64)
    below = np.searchsorted(book, values, side="left")
    at_or_below = np.searchsorted(book, values, side="right")
    percentile = 100.0 * (below + at_or_below) / (2.0 * book.size)
    return np.where(np.isfinite(values), percentile, np.nan)


def quantile_grid(values: ArrayLike, points: int = 1001) -> FloatArray:
    """`points` evenly spaced quantiles (0 to 1) of the finite values: a book's CLV in brief."""
    book = sorted_book(values)
    if book.size == 0:
        raise ValueError("the book is empty: no quantiles can be computed")
    grid: FloatArray = np.quantile(book, np.linspace(0.0, 1.0, points))
    return grid


def grid_percentile(grid: FloatArray, clv: ArrayLike) -> FloatArray:
    """Percentile (0-100) of each CLV against a quantile grid (see `quantile_grid`).

    Between grid points the percentile is interpolated linearly; a value equal to a run of
    equal grid points (many clients with the same CLV) gets the middle of the run, as the
    mid-rank convention of `book_percentile` does; below the grid 0, above it 100.
    """
    values = np.asarray(clv, dtype=np.float64)
    levels = np.linspace(0.0, 100.0, grid.size)
    percentile = np.interp(values, grid, levels)
    first = np.searchsorted(grid, values, side="left")
    after = np.searchsorted(grid, values, side="right")
    tied = after > first
    middle = (levels[np.minimum(first, grid.size - 1)] + levels[np.maximum(after - 1, 0)]) / 2
    percentile = np.where(tied, middle, percentile)
    return np.where(np.isfinite(values), percentile, np.nan)
