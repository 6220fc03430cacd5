"""The single-client paths give the batch code's numbers, bit for bit.

`row_features`/`encode_row` against `profile_features`/`encode`, `customer_lifetime_value_row`
against `customer_lifetime_value`, `grid_percentile_row` against `grid_percentile`: on a
synthetic book scored by the shipped models and on edge profiles and inputs from hypothesis.
Equal means the same float64 bits (NaN equals NaN, 0.0 differs from -0.0).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.arrays import FloatArray
from app.classification.batch import profile_columns, score
from app.classification.clv import MIN_PREMIUM, customer_lifetime_value, grid_percentile
from app.classification.clv_row import ClvRow, customer_lifetime_value_row, grid_percentile_row
from app.demo.synthetic import generate_book
from app.profiles.enums import (
    Channel,
    Gender,
    Industry,
    Ownership,
    Product,
    PropertyCondition,
    Province,
)
from app.profiles.schemas import MAX_AGE, ClientProfile
from app.rules.parameters import ClvParameters, SegmentCosts
from app.rules.ruleset import Ruleset
from app.rules.store import RulesetStore
from app.serving.features import FEATURE_NAMES, PROFILE_LEVELS, encode, profile_features
from app.serving.metadata import FeatureSpec
from app.serving.predictor import MODELS, Champions, applicable_rows
from app.serving.registry import load_champions
from app.serving.row_features import (
    RowFeatures,
    applicable,
    encode_row,
    encoding_plan,
    plan_for,
    row_features,
    row_values,
)

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 6, 30)
TODAY = date.today()
# Dates the book is read on: its own, years before it (policies dated after the reference
# date) and a year after it.
READ_ON = (AS_OF, date(2019, 1, 1), AS_OF + timedelta(days=400))
BOOK_CLIENTS = 3000


def assert_same_floats(scalar: Sequence[float] | FloatArray, batch: FloatArray, what: str) -> None:
    got = np.asarray(scalar, dtype=np.float64)
    expected = np.ascontiguousarray(batch, dtype=np.float64)
    assert got.shape == expected.shape, what
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan), f"{what}: NaN in different places"
    differ = got[~nan].view(np.int64) != expected[~nan].view(np.int64)
    assert not differ.any(), f"{what}: {got[~nan][differ][:3]} != {expected[~nan][differ][:3]}"


def assert_same_features(rows: list[RowFeatures], batch: dict[str, Any]) -> None:
    for row in rows:
        assert set(row) == set(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        values = [row[name] for row in rows]
        if name in PROFILE_LEVELS:
            assert values == list(batch[name]), name
        else:
            assert_same_floats(np.array(values, dtype=np.float64), batch[name], name)


@functools.cache
def shipped_models() -> Champions:
    """Loaded once; a hypothesis test reads it directly, so a failure does not print it."""
    return load_champions(ROOT / "models")


@pytest.fixture(scope="module")
def shipped() -> Champions:
    return shipped_models()


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return RulesetStore(ROOT / "rules").load_active()


@pytest.fixture(scope="module")
def book() -> list[ClientProfile]:
    records = generate_book(BOOK_CLIENTS, 29, as_of=AS_OF).records()
    return [ClientProfile.model_validate(record) for record in records]


@pytest.fixture(scope="module")
def read_on() -> list[date]:
    return [READ_ON[i % len(READ_ON)] for i in range(BOOK_CLIENTS)]


def test_book_features_are_the_batch_features(
    book: list[ClientProfile], read_on: list[date]
) -> None:
    batch = profile_features(profile_columns(book), np.array(read_on, dtype="datetime64[D]"))
    assert_same_features([row_features(p, d) for p, d in zip(book, read_on, strict=True)], batch)
    # The profile's attribute dict is read the same way.
    assert_same_features(
        [row_features(p.__dict__, d) for p, d in zip(book, read_on, strict=True)], batch
    )


@pytest.mark.parametrize("name", MODELS)
def test_book_rows_are_the_encoded_batch(
    shipped: Champions, book: list[ClientProfile], read_on: list[date], name: str
) -> None:
    specs = shipped.model(name).metadata.features
    batch = encode(
        profile_features(profile_columns(book), np.array(read_on, dtype="datetime64[D]")), specs
    )
    plan = plan_for(shipped.model(name).metadata)
    rows = np.stack(
        [encode_row(row_features(p, d), plan) for p, d in zip(book, read_on, strict=True)]
    )
    assert_same_floats(rows, batch, name)
    assert rows.flags.c_contiguous


def test_a_row_written_into_a_buffer_and_scored_alone(
    shipped: Champions, book: list[ClientProfile]
) -> None:
    model = shipped.model("claims")
    plan = plan_for(model.metadata)
    batch = encode(profile_features(profile_columns(book[:50]), AS_OF), model.metadata.features)
    expected = np.asarray(model.booster.predict(batch), dtype=np.float64)
    buffer = np.empty(plan.size, dtype=np.float64)
    scores = []
    for i, profile in enumerate(book[:50]):
        row = encode_row(row_features(profile, AS_OF), plan, buffer)
        assert row is buffer
        assert_same_floats(row, batch[i], f"row {i}")
        scores.append(float(model.booster.predict(row[None, :])[0]))
    assert_same_floats(scores, expected, "claims scores")


@pytest.mark.parametrize("name", ["lapse", "claims", "propensity"])
def test_a_row_s_values_scored_without_an_array_are_the_batch_scores(
    shipped: Champions, book: list[ClientProfile], name: str
) -> None:
    model = shipped.model(name)
    plan = plan_for(model.metadata)
    assert not plan.transforms  # else the scalar path scores the transformed array
    batch = encode(profile_features(profile_columns(book[:80]), AS_OF), model.metadata.features)
    scores, contributions = [], []
    for profile in book[:80]:
        values = row_values(row_features(profile, AS_OF), plan)
        scores.append(model.fast.predict_values(values))
        contributions.append(model.fast.contrib_values(values))
    expected = np.asarray(model.booster.predict(batch), dtype=np.float64)
    assert_same_floats(scores, expected, f"{name} scores")
    expected = np.asarray(model.booster.predict(batch, pred_contrib=True), dtype=np.float64)
    assert_same_floats(np.array(contributions), expected, f"{name} contributions")


def test_a_plan_is_built_once_per_loaded_model(shipped: Champions) -> None:
    metadata = shipped.model("lapse").metadata
    assert plan_for(metadata) is plan_for(metadata)
    assert plan_for(metadata) is not plan_for(metadata.model_copy(deep=True))


def test_plans_check_what_encode_checks_and_code_unknown_levels_as_missing() -> None:
    with pytest.raises(ValueError, match="no features to encode"):
        encoding_plan([])
    no_levels = [FeatureSpec(name="kind", type="categorical")]
    with pytest.raises(ValueError, match="categorical feature kind has no levels"):
        encoding_plan(no_levels)
    # A level the model never saw, a missing one, and a one-feature plan.
    specs = [FeatureSpec(name="channel", type="categorical", levels=["agent", "online"])]
    for channel in ("online", "branch", None):
        features: RowFeatures = {"channel": channel}
        batch = encode({"channel": [channel]}, specs)
        assert_same_floats(encode_row(features, encoding_plan(specs)), batch[0], str(channel))


def test_book_applicability(book: list[ClientProfile]) -> None:
    client, prospect = applicable_rows(profile_columns(book))
    rows = [applicable(p) for p in book]
    assert [r[0] for r in rows] == client.tolist()
    assert [r[1] for r in rows] == prospect.tolist()
    assert any(c for c, _ in rows)
    assert any(p for _, p in rows)
    assert any(not c and not p for c, p in rows)  # former clients too


def _clv_row(ruleset: Ruleset, profile: ClientProfile, p: Any, i: int) -> ClvRow:
    return customer_lifetime_value_row(
        ruleset.clv_parameters,
        segment=profile.kind,
        annual_premium=profile.annual_premium,
        in_force=bool(p.client[i]),
        prospect=bool(p.prospect[i]),
        lapse_probability=float(p.lapse_probability[i]),
        expected_claim_frequency=float(p.claim_frequency[i]),
        purchase_probability=float(p.purchase_probability[i]),
    )


def test_book_clv_and_percentile_are_the_batch_ones(
    shipped: Champions, ruleset: Ruleset, book: list[ClientProfile]
) -> None:
    scored = score(shipped, ruleset, profile_columns(book), as_of=AS_OF, explain=False)
    rows = [_clv_row(ruleset, profile, scored.predictions, i) for i, profile in enumerate(book)]
    assert_same_floats([r.clv for r in rows], scored.clv.clv, "clv")
    assert_same_floats(
        [r.expected_claims_cost for r in rows], scored.clv.expected_claims_cost, "cost"
    )
    assert_same_floats(
        [r.expected_loss_ratio for r in rows], scored.clv.expected_loss_ratio, "loss"
    )
    assert ruleset.clv_grid is not None
    ranks = [grid_percentile_row(ruleset.clv_grid, r.clv) for r in rows]
    assert_same_floats(ranks, scored.percentile, "percentile")


def _probes(grid: FloatArray) -> FloatArray:
    """Each grid point, its neighbours, the midpoints, beyond both ends, and non-finite values."""
    finite = grid[np.isfinite(grid)]
    with np.errstate(over="ignore", invalid="ignore"):  # spans of a grid may overflow
        return np.concatenate([np.asarray(p, dtype=np.float64) for p in _probe_lists(finite)])


def _probe_lists(finite: FloatArray) -> list[Any]:
    return [
        finite,
        np.nextafter(finite, -np.inf),
        np.nextafter(finite, np.inf),
        (finite[:-1] + finite[1:]) / 2,
        finite[:-1] + (finite[1:] - finite[:-1]) / 3,
        [-np.inf, np.inf, np.nan, -1e300, 1e300, -9e307, 9e307, 0.0, -0.0],
    ]


GRIDS = {
    "one point": [5.0],
    "two points": [1.0, 2.0],
    "four with a tie": [0.0, 0.0, 0.0, 1.0],
    "five": [-3.0, -1.0, 0.0, 2.5, 7.0],
    "runs of ties": [0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 10.0, 10.0, 10.0, 10.0],
    "spans that overflow": [-1e308, 1e308],
    "huge spans": [-1e308, 0.0, 1e308],
    "infinite ends": [-np.inf, -1.0, 1.0, np.inf],
    "all equal": [7.0] * 9,
}


@pytest.mark.parametrize("name", GRIDS)
def test_percentile_against_made_up_grids(name: str) -> None:
    grid = np.asarray(GRIDS[name], dtype=np.float64)
    values = _probes(grid)
    assert_same_floats(
        [grid_percentile_row(grid, v) for v in values], grid_percentile(grid, values), name
    )


def test_percentile_against_the_shipped_grid(ruleset: Ruleset) -> None:
    grid = ruleset.clv_grid
    assert grid is not None
    values = _probes(grid)
    assert_same_floats(
        [grid_percentile_row(grid, v) for v in values], grid_percentile(grid, values), "shipped"
    )


def test_an_empty_grid_has_no_percentile() -> None:
    empty = np.empty(0)
    with pytest.raises(ValueError, match="empty"):
        grid_percentile(empty, [1.0])
    with pytest.raises(ValueError, match="empty"):
        grid_percentile_row(empty, 1.0)


@settings(max_examples=300, deadline=None)
@given(
    grid=st.lists(st.floats(-1e9, 1e9) | st.sampled_from([0.0, 1.0, 1e6]), min_size=1, max_size=40),
    extra=st.lists(st.floats(allow_nan=True), max_size=10),
)
def test_percentile_against_drawn_grids(grid: list[float], extra: list[float]) -> None:
    points = np.sort(np.asarray(grid, dtype=np.float64))
    values = np.concatenate([_probes(points), np.asarray(extra, dtype=np.float64)])
    expected = grid_percentile(points, values)
    assert_same_floats([grid_percentile_row(points, v) for v in values], expected, "drawn")


# Edge profiles: every optional fact left out or given, dates from 1900 to today, premiums
# from nothing through below a fen to the largest allowed.
MONEY = st.sampled_from(
    [0.0, 5e-324, 1e-9, 0.005, math.nextafter(MIN_PREMIUM, 0.0), MIN_PREMIUM, 1e13]
) | st.floats(0, 1e13)
DATES = st.dates(date(1900, 1, 1), TODAY)
COUNT = st.integers(0, 1_000_000)
FLAG = st.none() | st.booleans()
COMMON: dict[str, st.SearchStrategy[Any]] = {
    "province": st.sampled_from(list(Province)),
    "city_tier": st.integers(1, 5),
    "industry": st.sampled_from(list(Industry)),
    "first_policy_date": DATES,
    "products_held": st.lists(st.sampled_from([p.value for p in Product]), unique=True),
    "in_force_policies": st.sampled_from([0, 1]) | COUNT,
    "annual_premium": MONEY,
    "premium_paid_12m": MONEY,
    "premium_discount_rate": st.floats(0, 1),
    "renewals": COUNT,
    "lapses": COUNT,
    "claim_count_3y": COUNT,
    "claim_amount_3y": MONEY,
    "last_purchase_date": DATES,
    "last_interaction_date": DATES,
    "interactions_12m": COUNT,
    "complaints_12m": COUNT,
    "missed_payments_12m": COUNT,
    "app_logins_12m": COUNT,
    "referrals": COUNT,
    "channel": st.sampled_from(list(Channel)),
    "campaign_target": st.booleans(),
    "renewal_intent": FLAG,
    "flood_zone": FLAG,
    "typhoon_zone": FLAG,
    "property_condition": st.sampled_from(list(PropertyCondition)),
    "property_value": MONEY,
}
PERSON: dict[str, st.SearchStrategy[Any]] = {
    "birth_year": st.integers(TODAY.year - MAX_AGE, TODAY.year),
    "gender": st.sampled_from(list(Gender)),
    "occupation_class": st.integers(1, 6),
    "annual_income": MONEY,
    "dependents": st.integers(0, 20),
}
COMPANY: dict[str, st.SearchStrategy[Any]] = {
    "employees": st.integers(0, 10_000_000),
    "annual_revenue": MONEY,
    "ownership": st.sampled_from(list(Ownership)),
}


@st.composite
def edge_profiles(draw: st.DrawFn) -> ClientProfile:
    corporate = draw(st.booleans())
    own = COMPANY if corporate else PERSON
    record = draw(st.fixed_dictionaries({}, optional={**COMMON, **own}))
    record["kind"] = "corporate" if corporate else "individual"
    first, last = record.get("first_policy_date"), record.get("last_purchase_date")
    if first is not None and last is not None and last < first:
        record["first_policy_date"], record["last_purchase_date"] = last, first
    return ClientProfile.model_validate(record)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=edge_profiles(), as_of=st.dates(date(1900, 1, 1), date(2100, 12, 31)))
def test_edge_profiles_match_the_batch(profile: ClientProfile, as_of: date) -> None:
    shipped = shipped_models()
    columns = profile_columns([profile])
    # A premium of 5e-324 yuan makes premium_paid_ratio overflow to inf, and NumPy warns.
    with np.errstate(over="ignore"):
        batch = profile_features(columns, as_of)
    row = row_features(profile, as_of)
    assert_same_features([row], batch)
    for name in MODELS:
        metadata = shipped.model(name).metadata
        expected = encode(batch, metadata.features)[0]
        assert_same_floats(encode_row(row, plan_for(metadata)), expected, name)
    client, prospect = applicable_rows(columns)
    assert applicable(profile) == (bool(client[0]), bool(prospect[0]))


SEGMENT_COSTS = st.builds(
    SegmentCosts,
    service_cost_per_year=st.integers(0, 10_000) | st.floats(0, 1e5),
    average_claim_amount=st.integers(0, 100_000) | st.floats(0, 1e6),
    first_year_premium=st.integers(0, 100_000) | st.floats(0, 1e6),
)
CLV_PARAMETERS = st.builds(
    ClvParameters,
    horizon_years=st.integers(0, 30),
    discount_rate=st.floats(0, 0.3),
    expense_ratio=st.floats(0, 1),
    segments=st.fixed_dictionaries({"individual": SEGMENT_COSTS, "corporate": SEGMENT_COSTS}),
)
# Probabilities and rates, with the values the batch refuses where it needs them.
RATE = st.floats(0, 1) | st.sampled_from([0.0, 1.0, math.nan, -0.1, 1.5, math.inf])


def _outcome(call: Any) -> tuple[float, ...] | str:
    try:
        return tuple(call())
    except ValueError:
        return "refused"


@settings(max_examples=1000, deadline=None)
@given(
    params=CLV_PARAMETERS,
    segment=st.sampled_from(["individual", "corporate", "household"]),
    premium=MONEY | st.sampled_from([-1.0, math.nan, math.inf]),
    in_force=st.booleans(),
    prospect=st.booleans(),
    rates=st.tuples(RATE, RATE | st.floats(0, 50), RATE),
)
def test_clv_of_one_client_is_the_batch_clv(
    params: ClvParameters,
    segment: str,
    premium: float,
    in_force: bool,
    prospect: bool,
    rates: tuple[float, float, float],
) -> None:
    inputs: dict[str, Any] = {
        "segment": segment,
        "annual_premium": premium,
        "in_force": in_force,
        "prospect": prospect,
        "lapse_probability": rates[0],
        "expected_claim_frequency": rates[1],
        "purchase_probability": rates[2],
    }

    def batch() -> tuple[float, ...]:
        # Values the batch computes and then masks (a former client's lapse) may overflow.
        with np.errstate(all="ignore"):
            result = customer_lifetime_value(params, **{k: [v] for k, v in inputs.items()})
        return (result.clv[0], result.expected_claims_cost[0], result.expected_loss_ratio[0])

    scalar = _outcome(lambda: customer_lifetime_value_row(params, **inputs))
    expected = _outcome(batch)
    if isinstance(expected, str) or isinstance(scalar, str):
        assert scalar == expected
        return
    assert_same_floats(scalar, np.array(expected), "clv, claims cost, loss ratio")
