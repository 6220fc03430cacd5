"""One client's CLV and book percentile in plain Python: the single-call twin of `clv.py`.

The same formula in the same operation order as `customer_lifetime_value` and
`grid_percentile`, so each float64 result equals the batch's (tests/unit/test_row_paths.py);
on one client NumPy's per-operation overhead is most of the batch code's cost. docs/rules.md
states the formula; `clv.py` stays the reference.
"""

from __future__ import annotations

import math
import weakref
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from app.arrays import FloatArray
from app.classification.clv import MIN_PREMIUM
from app.rules.parameters import ClvParameters, SegmentCosts

NAN = math.nan


class ClvRow(NamedTuple):
    clv: float
    expected_claims_cost: float  # per year; NaN when no claim frequency was given
    expected_loss_ratio: float  # expected claims cost / annual premium; NaN for no premium


def survival_discount_sum_row(
    params: ClvParameters, lapse_probability: float, segment: str = "", tenure: float = NAN
) -> float:
    """`survival_discount_sum` of one client, term by term as the batch adds them."""
    discount = 1.0 + params.discount_rate
    ratio = (1.0 - lapse_probability) / discount
    curve = params.retention.get(segment)
    total = 0.0
    term = 1.0
    if curve is not None and math.isfinite(tenure) and tenure >= 0:
        # The same operations as the batch's per term; the first year's rate is one number.
        alpha, beta = float(curve.alpha), float(curve.beta)
        first = rate_at_row(alpha, beta, tenure + 1.0)
        for t in range(1, params.horizon_years + 1):
            growth = rate_at_row(alpha, beta, tenure + float(t)) / first
            kept = min(1.0, (1.0 - lapse_probability) * growth)
            term = term * (kept / discount)
            total += term
        return total
    for _ in range(params.horizon_years):
        term = term * ratio
        total += term
    return total


def rate_at_row(alpha: float, beta: float, period: float) -> float:
    """`clv.rate_at` of one value, in its operation order."""
    return (beta + period - 1.0) / (alpha + beta + period - 1.0)


def _require(ok: bool, name: str, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {rule}")


def _validate_inputs(
    premium: float, lapse: float, frequency: float, purchase: float, *, client: bool, new: bool
) -> None:
    # The checks of `clv._validated_book`, in its order; a NaN fails every comparison.
    _require(math.isfinite(premium) and premium >= 0, "annual_premium", "finite and >= 0")
    _require(not client or 0 <= lapse <= 1, "lapse_probability", "in [0, 1]")
    finite = math.isfinite(frequency) and frequency >= 0
    _require(not (client or new) or finite, "expected_claim_frequency", "finite and >= 0")
    _require(not new or 0 <= purchase <= 1, "purchase_probability", "in [0, 1]")


def _segment(params: ClvParameters, segment: str) -> SegmentCosts:
    costs = params.segments.get(segment)
    if costs is None:
        raise ValueError(f"segment must be one of {', '.join(params.segments)}")
    return costs


def customer_lifetime_value_row(
    params: ClvParameters,
    *,
    segment: str,
    annual_premium: float,
    in_force: bool,
    prospect: bool,
    lapse_probability: float,
    expected_claim_frequency: float,
    purchase_probability: float,
    tenure_years: float = NAN,
) -> ClvRow:
    """`customer_lifetime_value` of one client (see there for the formula), in yuan.

    Raises ValueError where the batch does, without a row number.
    """
    # Python floats, even from NumPy scalars: their arithmetic is slower and warns on overflow.
    premium, lapse = float(annual_premium), float(lapse_probability)
    frequency, purchase = float(expected_claim_frequency), float(purchase_probability)
    new = prospect and not in_force
    _validate_inputs(premium, lapse, frequency, purchase, client=in_force, new=new)
    costs = _segment(params, segment)
    # The batch holds the costs in float64 arrays: ints in the ruleset become floats first.
    claims_cost = frequency * float(costs.average_claim_amount)
    keep = 1.0 - params.expense_ratio
    service = float(costs.service_cost_per_year)
    clv = 0.0
    if in_force:
        margin = premium * keep - claims_cost - service
        clv = margin * survival_discount_sum_row(params, lapse, segment, float(tenure_years))
    elif new:
        first_year = float(costs.first_year_premium) * keep - claims_cost - service
        clv = purchase * first_year / (1.0 + params.discount_rate)
    loss_ratio = claims_cost / premium if premium >= MIN_PREMIUM else NAN
    return ClvRow(clv, claims_cost, loss_ratio)


@dataclass(frozen=True, slots=True)
class _Grid:
    points: list[float]
    levels: list[float]  # the percentile at each point, as `grid_percentile` spaces them


_GRIDS: dict[int, _Grid] = {}


def _prepared(grid: FloatArray) -> _Grid:
    # Kept while the grid array lives; a ruleset's grid is never changed in place.
    key = id(grid)
    prepared = _GRIDS.get(key)
    if prepared is None:
        # np.linspace itself, so the levels are the batch's to the last bit.
        levels = np.linspace(0.0, 100.0, grid.size).tolist()
        prepared = _GRIDS[key] = _Grid(np.asarray(grid, dtype=np.float64).tolist(), levels)
        weakref.finalize(grid, _GRIDS.pop, key, None)
    return prepared


def grid_percentile_row(grid: FloatArray, clv: float) -> float:
    """`grid_percentile` of one CLV: interpolated between grid points, the middle of a run of
    equal points, 0 below the grid and 100 above it; NaN for a CLV that is not finite.

    `grid` is sorted ascending, as `quantile_grid` makes it. Its Python copy is cached per
    grid object, so pass the same array (the ruleset's `clv_grid`) on every call.
    """
    if grid.size == 0:
        raise ValueError("array of sample points is empty")
    value = float(clv)  # a NumPy scalar would warn where np.interp silently overflows
    if not math.isfinite(value):
        return NAN
    g = _prepared(grid)
    first = bisect_left(g.points, value)
    after = bisect_right(g.points, value)
    if after > first:
        return (g.levels[first] + g.levels[after - 1]) / 2
    return _interpolated(g, value, after)


def _interpolated(g: _Grid, value: float, after: int) -> float:
    """np.interp's arithmetic for a value strictly between grid points or outside the grid."""
    if after == 0:
        return g.levels[0]
    if after == len(g.points):
        return g.levels[-1]
    j = after - 1
    x0, x1, y0, y1 = g.points[j], g.points[j + 1], g.levels[j], g.levels[j + 1]
    slope = (y1 - y0) / (x1 - x0)
    result = slope * (value - x0) + y0
    if math.isnan(result):  # an infinite span: np.interp retries from the right end
        result = slope * (value - x1) + y1
        if math.isnan(result) and y0 == y1:
            result = y0
    return result
