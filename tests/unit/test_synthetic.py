"""The synthetic book: deterministic, valid against the schema, drawn from its documentation.
The strongest checks refit the documented models on features computed from the profile columns
alone: every true coefficient of docs/synthetic-data.md must lie within 4 standard errors."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from app.demo.params import PARAMETERS, REF_LOG_EMPLOYEES, REF_LOG_INCOME
from app.demo.synthetic import NULLABLE_BOOL, NULLABLE_INT, SyntheticBook, generate_book
from app.profiles.identifiers import is_credit_code, is_resident_id
from app.profiles.schemas import COMPANY_ONLY, PERSON_ONLY, ClientCreate, ClientProfile

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
AS_OF = datetime.date(2026, 6, 30)
N = 50_000
SEED = 20_240_601


@pytest.fixture(scope="module")
def book() -> SyntheticBook:
    return generate_book(N, SEED, as_of=AS_OF)


def _status(book: SyntheticBook) -> tuple[BoolArray, BoolArray, BoolArray]:
    """Current, prospect and former clients, read from the profile as a model would."""
    p = book.profiles
    current = p["in_force_policies"] > 0
    prospect = np.isnat(p["first_policy_date"])
    return current, prospect, ~current & ~prospect


def _corporate(book: SyntheticBook) -> BoolArray:
    return np.asarray(book.profiles["kind"] == "corporate")


def _segments(book: SyntheticBook, mask: BoolArray) -> dict[str, BoolArray]:
    corporate = _corporate(book)
    return {"individual": mask & ~corporate, "corporate": mask & corporate}


def _assert_same(a: SyntheticBook, b: SyntheticBook) -> None:
    assert a.profiles.keys() == b.profiles.keys()
    right = b.profiles | b.outcomes
    for name, left in (a.profiles | a.outcomes).items():
        if left.dtype == object:
            assert left.tolist() == right[name].tolist(), name
        else:
            np.testing.assert_array_equal(left, right[name], err_msg=name)


# --- determinism and shape ---------------------------------------------------------------


def test_same_seed_gives_identical_book() -> None:
    _assert_same(generate_book(5000, 3, as_of=AS_OF), generate_book(5000, 3, as_of=AS_OF))


def test_other_seed_gives_other_book() -> None:
    a, b = generate_book(5000, 3, as_of=AS_OF), generate_book(5000, 4, as_of=AS_OF)
    assert not np.array_equal(a.profiles["annual_premium"], b.profiles["annual_premium"])
    assert a.profiles["name"].tolist() != b.profiles["name"].tolist()


def test_columns_are_the_profile_fields(book: SyntheticBook) -> None:
    added = {"client_id", "name", "phone", "national_id"}
    none = {"personal", "extra", "contact_consent", "policies", "claims"}  # not in the book
    assert set(book.profiles) == (set(ClientProfile.model_fields) - none) | added
    assert set(book.outcomes) == {"lapse_12m", "claim_count_next_year", "exposure", "purchase_6m"}
    assert all(len(column) == N for column in (*book.profiles.values(), *book.outcomes.values()))
    assert book.profiles["client_id"][:2].tolist() == ["S0000001", "S0000002"]
    assert len(set(book.profiles["client_id"].tolist())) == N


def test_book_is_read_only_and_its_parameters_a_copy(book: SyntheticBook) -> None:
    with pytest.raises(ValueError, match="read-only"):
        book.profiles["annual_premium"][0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.profiles = {}  # type: ignore[misc]
    assert book.parameters == PARAMETERS.as_dict()
    book.parameters["lapse"]["intercept"] = 99.0
    assert generate_book(10, 1, as_of=AS_OF).parameters["lapse"]["intercept"] == -2.2


def test_empty_and_negative_sizes() -> None:
    assert len(generate_book(0, 1, as_of=AS_OF)) == 0
    assert list(generate_book(0, 1, as_of=AS_OF).records()) == []
    with pytest.raises(ValueError, match="negative"):
        generate_book(-1, 1, as_of=AS_OF)


# --- validity against the schema -----------------------------------------------------------


def test_a_sample_of_records_validates(book: SyntheticBook) -> None:
    rows = np.random.default_rng(0).choice(N, size=2000, replace=False)
    records = [next(book.records(int(i), int(i) + 1)) for i in rows]
    for record in records:
        ClientCreate.model_validate(record)
    assert {r["kind"] for r in records} == {"individual", "corporate"}
    for names, kind in ((NULLABLE_INT, int), (NULLABLE_BOOL, bool)):
        assert all(type(r[k]) is kind for r in records for k in names if k in r), kind
    assert all(isinstance(r.get("first_policy_date", AS_OF), datetime.date) for r in records)


def test_records_slice_across_chunks(book: SyntheticBook) -> None:
    window = list(book.records(9_990, 10_020))
    assert len(window) == 30
    assert window[0] == next(book.records(9_990, 9_991))
    assert window[-1] == next(book.records(10_019))
    assert sum(1 for _ in book.records(N - 5)) == 5


def test_kind_specific_fields_are_absent_for_the_other_kind(book: SyntheticBook) -> None:
    corporate = _corporate(book)
    p = book.profiles
    for names, other_kind in ((PERSON_ONLY, corporate), (COMPANY_ONLY, ~corporate)):
        for name in names:
            missing = _missing(p[name])
            assert missing[other_kind].all(), name
            # Each field is known for most clients of its own kind.
            assert missing[~other_kind].mean() < 0.1, name


def _missing(column: npt.NDArray[Any]) -> BoolArray:
    if column.dtype == object:
        return np.array([v is None for v in column.tolist()])
    return np.asarray(np.isnan(column))


def test_dates_counts_and_rates_obey_the_schema(book: SyntheticBook) -> None:
    p = book.profiles
    as_of = np.datetime64(AS_OF)
    for name in ("first_policy_date", "last_purchase_date", "last_interaction_date"):
        dates = p[name][~np.isnat(p[name])]
        assert (dates <= as_of).all(), name
    both = ~np.isnat(p["first_policy_date"]) & ~np.isnat(p["last_purchase_date"])
    assert (p["last_purchase_date"][both] >= p["first_policy_date"][both]).all()
    ages = AS_OF.year - p["birth_year"][~_corporate(book)]
    assert 18 <= ages.min() <= ages.max() <= 90
    numeric = [name for name, column in p.items() if column.dtype.kind in "if"]
    assert all((np.nan_to_num(p[name]) >= 0).all() for name in numeric)
    rate = p["premium_discount_rate"][~np.isnan(p["premium_discount_rate"])]
    assert ((rate >= 0) & (rate <= 1)).all()
    assert all(len(set(held)) == len(held) for held in p["products_held"].tolist())


def test_lifecycle_states_are_consistent(book: SyntheticBook) -> None:
    p = book.profiles
    current, prospect, former = _status(book)
    held, products = p["products_held"], np.array([len(h) for h in p["products_held"]])
    assert (p["lapses"][former] > 0).all()
    assert products[current].min() >= 1
    assert (products[~current] == 0).all()
    assert (p["in_force_policies"][current] >= products[current]).all()
    assert (p["annual_premium"][~current] == 0).all()
    assert (p["annual_premium"][current] > 0).all()
    corporate, policies = _corporate(book), PARAMETERS.policies
    assert {x for h in held[~corporate] for x in h} <= set(policies.individual_products)
    assert {x for h in held[corporate] for x in h} <= set(policies.corporate_products)
    assert np.isnat(p["last_purchase_date"][prospect]).all()
    assert p["campaign_target"][prospect].any()
    assert not p["campaign_target"][~prospect].any()


def test_identifiers_pass_their_check_characters(book: SyntheticBook) -> None:
    p, corporate = book.profiles, _corporate(book)
    ids = p["national_id"].tolist()
    for i, value in enumerate(ids):
        if value is not None:
            assert (is_credit_code if corporate[i] else is_resident_id)(value), value
    person = np.flatnonzero(~corporate & ~_missing(p["national_id"]))
    for i in person[:2000]:
        value = ids[i]
        assert int(value[6:10]) == p["birth_year"][i]
        assert int(value[16]) % 2 == (p["gender"][i] == "male")
    phone = re.compile(r"^1[3-9]\d{9}$")
    assert all(phone.match(v) for v in p["phone"].tolist() if v is not None)
    assert all(v and len(v) >= 2 for v in p["name"].tolist())


def test_companies_span_micro_to_large_across_industries(book: SyntheticBook) -> None:
    p, corporate = book.profiles, _corporate(book)
    employees = p["employees"][corporate]
    assert (employees < 10).mean() > 0.2
    assert (employees >= 1000).sum() > 30
    assert len(set(p["industry"][corporate].tolist())) == len(PARAMETERS.firms.industry_weights)
    revenue = p["annual_revenue"][corporate]
    assert revenue.min() < 1e6 < 1e9 < revenue.max()
    assert set(p["ownership"][corporate].tolist()) == {"private", "foreign", "state_owned"}


def test_risk_zones_follow_the_provinces(book: SyntheticBook) -> None:
    p, geo = book.profiles, PARAMETERS.geography
    _, prospect, _ = _status(book)
    assert np.isnan(p["typhoon_zone"][prospect]).all()
    assert np.isnan(p["flood_zone"][prospect]).all()
    typhoon_area = ~prospect & np.isin(p["province"], geo.typhoon_provinces)
    flood_area = ~prospect & np.isin(p["province"], geo.flood_provinces)
    assert (p["typhoon_zone"][~prospect & ~typhoon_area] == 0).all()
    shares = {
        geo.typhoon_in_zone_province: p["typhoon_zone"][typhoon_area].mean(),
        geo.flood_in_zone_province: p["flood_zone"][flood_area].mean(),
        geo.flood_elsewhere: p["flood_zone"][~prospect & ~flood_area].mean(),
    }
    for expected, share in shares.items():
        assert share == pytest.approx(expected, abs=0.02)


# --- marginal distributions match the parameters -----------------------------------------


def test_segment_and_status_shares(book: SyntheticBook) -> None:
    assert _corporate(book).mean() == pytest.approx(PARAMETERS.mix.corporate_share, abs=0.01)
    shares = PARAMETERS.mix.status_shares
    for status, mask in zip(("current", "prospect", "former"), _status(book), strict=True):
        assert mask.mean() == pytest.approx(shares[status], abs=0.01), status


def test_premium_is_lognormal_around_the_documented_base(book: SyntheticBook) -> None:
    """ln(premium) on the documented mix, policy and size terms: true coefficients and spread."""
    p, prem = book.profiles, PARAMETERS.premium
    current, _, _ = _status(book)
    means = {}
    for segment, mask in _segments(book, current).items():
        relativity = prem.relativity | (
            prem.corporate_relativity_override if segment == "corporate" else {}
        )
        held = p["products_held"][mask].tolist()
        design = {
            "base": np.ones(len(held)),
            "log_mix": np.log([sum(relativity[x] for x in h) for h in held]),
            "extra_policy": p["in_force_policies"][mask] - np.array([len(h) for h in held]),
        }
        if segment == "corporate":
            design["size_elasticity"] = np.log(p["employees"][mask]) - REF_LOG_EMPLOYEES
        truth = {"base": prem.base[segment], "log_mix": 1.0, "extra_policy": prem.extra_policy}
        truth["size_elasticity"] = prem.size_elasticity
        log_premium = np.log(p["annual_premium"][mask])
        fitted = _assert_recovered(design, truth, log_premium, family="normal")
        assert np.std(log_premium - fitted) == pytest.approx(prem.sd[segment], rel=0.03)
        means[segment] = log_premium.mean()
        target = PARAMETERS.targets.mean_log_premium[segment]
        tolerance = PARAMETERS.targets.log_premium_tolerance
        assert means[segment] == pytest.approx(target, abs=tolerance), segment
    assert means["corporate"] > means["individual"] + 2


def test_outcome_rates_match_the_targets(book: SyntheticBook) -> None:
    o, targets = book.outcomes, PARAMETERS.targets
    current, prospect, _ = _status(book)
    tolerance = targets.rate_tolerance
    assert np.isnan(o["lapse_12m"][~current]).all()
    assert np.isnan(o["purchase_6m"][~prospect]).all()
    assert o["lapse_12m"][current].mean() == pytest.approx(targets.lapse_rate, rel=tolerance)
    assert o["purchase_6m"][prospect].mean() == pytest.approx(targets.purchase_rate, rel=tolerance)
    for segment, mask in _segments(book, current).items():
        frequency = o["claim_count_next_year"][mask].sum() / o["exposure"][mask].sum()
        assert frequency == pytest.approx(targets.claim_frequency[segment], rel=tolerance)


def test_exposure_ends_at_the_next_policy_anniversary(book: SyntheticBook) -> None:
    o = book.outcomes
    current, _, _ = _status(book)
    exposure, lapsed = o["exposure"], o["lapse_12m"] == 1
    assert ((exposure[current] > 0) & (exposure[current] <= 1)).all()
    assert (exposure[current] == 1).mean() > 0.85
    assert (exposure[current & ~lapsed] == 1).all()
    days = (np.datetime64(AS_OF) - book.profiles["first_policy_date"][lapsed]).astype(np.int64)
    np.testing.assert_allclose(exposure[lapsed], (365 - days % 365) / 365)


# --- the documented effects --------------------------------------------------------------


def _rate(outcome: FloatArray, mask: BoolArray) -> float:
    return float(outcome[mask].mean())


def _frequency(book: SyntheticBook, mask: BoolArray) -> float:
    o = book.outcomes
    return float(o["claim_count_next_year"][mask].sum() / o["exposure"][mask].sum())


def test_lapse_effects_have_the_documented_direction(book: SyntheticBook) -> None:
    p, lapse = book.profiles, book.outcomes["lapse_12m"]
    current, _, _ = _status(book)
    missed, complaints, channel = p["missed_payments_12m"], p["complaints_12m"], p["channel"]
    tenure = (np.datetime64(AS_OF) - p["first_policy_date"]).astype(np.int64) / 365.25
    pairs = {  # (more likely to lapse, less likely to lapse)
        "missed payments": (missed >= 1, missed == 0),
        "complaints": (complaints >= 1, complaints == 0),
        "new clients": (tenure < 1, tenure >= 5),
        "online": (channel == "online", channel == "agent"),
    }
    for name, (high, low) in pairs.items():
        assert _rate(lapse, current & high) > 1.5 * _rate(lapse, current & low), name


def test_claim_effects_have_the_documented_direction(book: SyntheticBook) -> None:
    p = book.profiles
    current, _, _ = _status(book)
    person = current & ~_corporate(book)
    occupation, condition, industry = p["occupation_class"], p["property_condition"], p["industry"]
    pairs = {  # (more claims per exposure-year, fewer)
        "typhoon": (current & (p["typhoon_zone"] == 1), current & (p["typhoon_zone"] == 0)),
        "flood": (current & (p["flood_zone"] == 1), current & (p["flood_zone"] == 0)),
        "condition": (current & (condition == "poor"), current & (condition == "good")),
        "occupation": (person & (occupation >= 4), person & (occupation == 1)),
        "past claims": (person & (p["claim_count_3y"] > 0), person & (p["claim_count_3y"] == 0)),
        "industry": (
            current & np.isin(industry, ["mining", "construction"]),
            current & np.isin(industry, ["software_it", "finance"]),
        ),
    }
    for name, (high, low) in pairs.items():
        assert _frequency(book, high) > 1.2 * _frequency(book, low), name


def test_purchase_effects_have_the_documented_direction(book: SyntheticBook) -> None:
    p, buy = book.profiles, book.outcomes["purchase_6m"]
    _, prospect, _ = _status(book)
    income, referrals = p["annual_income"], p["referrals"]
    low, high = np.nanquantile(income[prospect], [0.25, 0.75])
    pairs = {  # (more likely to buy, less likely)
        "campaign": (p["campaign_target"], ~p["campaign_target"]),
        "referrals": (referrals > 0, referrals == 0),
        "income": (income >= high, income <= low),
    }
    for name, (more, less) in pairs.items():
        assert _rate(buy, prospect & more) > 1.2 * _rate(buy, prospect & less), name


def test_missed_payments_and_complaints_drive_lapse_most(book: SyntheticBook) -> None:
    """Strength = standard deviation of the driver's term in the log-odds, over current clients."""
    lapse = PARAMETERS.lapse
    strength = {  # the channel term is already on the log-odds scale
        name: float(np.std(column * (1.0 if name == "channel" else getattr(lapse, name))))
        for name, column in _lapse_terms(book).items()
    }
    ranked = tuple(sorted(strength, key=strength.__getitem__, reverse=True))
    assert ranked == lapse.strength_order
    assert ranked[:2] == ("missed_payments_12m", "complaints_12m")


def _lapse_terms(book: SyntheticBook) -> dict[str, FloatArray]:
    p = book.profiles
    current, _, _ = _status(book)
    prices = PARAMETERS.premium.base
    base = np.where(_corporate(book), prices["corporate"], prices["individual"])
    tenure = (np.datetime64(AS_OF) - p["first_policy_date"]).astype(np.int64) / 365.25
    channel = np.array([PARAMETERS.lapse.channel[c] for c in p["channel"].tolist()])
    terms = {
        "missed_payments_12m": p["missed_payments_12m"],
        "complaints_12m": p["complaints_12m"],
        "log1p_tenure_years": np.log1p(np.where(current, tenure, 0.0)),
        "log1p_interactions_12m": np.log1p(p["interactions_12m"]),
        "channel": channel,
        "log_premium_vs_base": np.log(np.where(current, p["annual_premium"], 1.0)) - base,
    }
    return {name: np.asarray(column[current], dtype=np.float64) for name, column in terms.items()}


# --- refitting the documented models recovers the true coefficients ----------------------


def _fit(x: FloatArray, y: FloatArray, family: str) -> tuple[FloatArray, FloatArray]:
    """Maximum likelihood by Newton's method (IRLS) for a normal, logistic or Poisson GLM."""
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        eta = x @ beta
        if family == "poisson":
            mean = weight = np.exp(eta)
        elif family == "logistic":
            mean = 0.5 * (1.0 + np.tanh(0.5 * eta))
            weight = mean * (1.0 - mean)
        else:
            mean, weight = eta, np.ones(len(y))
        information = (x.T * weight) @ x
        step = np.linalg.solve(information, x.T @ (y - mean))
        beta = beta + step
        if np.abs(step).max() < 1e-9:
            break
    dispersion = np.var(y - x @ beta) if family == "normal" else 1.0
    return beta, np.sqrt(np.diag(np.linalg.inv(information)) * dispersion)


def _assert_recovered(
    design: Mapping[str, FloatArray],
    truth: Mapping[str, float],
    y: FloatArray,
    *,
    family: str,
) -> FloatArray:
    """Fit the documented model; every coefficient within 4 standard errors of the truth."""
    x = np.column_stack(list(design.values())).astype(np.float64)
    beta, se = _fit(x, y, family)
    off = {
        name: (round(float(b), 3), truth[name], round(float(s), 3))
        for name, b, s in zip(design, beta, se, strict=True)
        if abs(b - truth[name]) > 4 * s
    }
    assert not off, f"fitted, true, standard error: {off}"
    return np.asarray(x @ beta)


def _channels(book: SyntheticBook, reference: str) -> dict[str, FloatArray]:
    channel = book.profiles["channel"]
    names = [c for c in PARAMETERS.lapse.channel if c != reference]
    return {f"channel_{c}": (channel == c).astype(np.float64) for c in names}


def test_lapse_model_is_recovered(book: SyntheticBook) -> None:
    current, _, _ = _status(book)
    lapse = PARAMETERS.lapse
    terms = _lapse_terms(book)
    channels = {k: v[current] for k, v in _channels(book, "agent").items()}
    design = {"intercept": np.ones(int(current.sum()))}
    design |= {k: v for k, v in terms.items() if k != "channel"} | channels
    truth = {
        "intercept": lapse.intercept,
        **{k: getattr(lapse, k) for k in terms if k != "channel"},
    }
    truth |= {f"channel_{c}": v for c, v in lapse.channel.items()}
    _assert_recovered(design, truth, book.outcomes["lapse_12m"][current], family="logistic")


def test_claims_model_is_recovered(book: SyntheticBook) -> None:
    p, c = book.profiles, PARAMETERS.claims
    current, _, _ = _status(book)
    firm = _corporate(book).astype(np.float64)
    person = 1.0 - firm
    age = np.nan_to_num(AS_OF.year - p["birth_year"], nan=45.0)
    design: dict[str, FloatArray] = {
        "intercept_individual": person,
        "intercept_corporate": firm,
        "occupation_class": person * np.nan_to_num(p["occupation_class"] - 1),
        "young_per_decade": person * np.maximum(0, 30 - age) / 10,
        "old_per_decade": person * np.maximum(0, age - 60) / 10,
        "log_employees": firm * np.nan_to_num(np.log(p["employees"]) - REF_LOG_EMPLOYEES),
        "typhoon_zone": p["typhoon_zone"],
        "flood_zone": p["flood_zone"],
        "condition_fair": (p["property_condition"] == "fair").astype(np.float64),
        "condition_poor": (p["property_condition"] == "poor").astype(np.float64),
        "log_policies": np.log(np.maximum(p["in_force_policies"], 1)),
        "log1p_past_claims": np.log1p(p["claim_count_3y"]),
        # Fitted rather than an offset: claims must scale with the exposure, coefficient 1.
        "log_exposure": np.log(np.nan_to_num(book.outcomes["exposure"], nan=1.0)),
    }
    industries = [i for i in PARAMETERS.firms.industry_weights if i != "other"]
    design |= {f"industry_{i}": (p["industry"] == i).astype(np.float64) for i in industries}
    truth = {
        "intercept_individual": c.intercept["individual"],
        "intercept_corporate": c.intercept["corporate"],
        "condition_fair": c.condition["fair"],
        "condition_poor": c.condition["poor"],
        "log_exposure": 1.0,
        **{f"industry_{i}": c.industry.get(i, 0.0) for i in industries},
    }
    truth |= {k: getattr(c, k) for k in design if k not in truth}
    claims = book.outcomes["claim_count_next_year"][current]
    _assert_recovered({k: v[current] for k, v in design.items()}, truth, claims, family="poisson")


def test_purchase_model_is_recovered(book: SyntheticBook) -> None:
    p, pu = book.profiles, PARAMETERS.purchase
    _, prospect, _ = _status(book)
    firm = _corporate(book).astype(np.float64)
    person = 1.0 - firm
    rows = prospect & ~(np.isnan(p["annual_income"]) & (person == 1))  # income declared
    age = np.nan_to_num(AS_OF.year - p["birth_year"], nan=40.0)
    design: dict[str, FloatArray] = {
        "intercept_individual": person,
        "intercept_corporate": firm,
        "log_income": person * np.nan_to_num(np.log(p["annual_income"]) - REF_LOG_INCOME),
        "age_quad": person * ((age - 40.0) / 15.0) ** 2,
        "dependents": person * np.minimum(np.nan_to_num(p["dependents"]), 4),
        "log_employees": firm * np.nan_to_num(np.log(p["employees"]) - REF_LOG_EMPLOYEES),
        "log1p_referrals": np.log1p(p["referrals"]),
        "campaign_target": p["campaign_target"].astype(np.float64),
        **_channels(book, "online"),
    }
    truth = {
        "intercept_individual": pu.intercept["individual"],
        "intercept_corporate": pu.intercept["corporate"],
        **{f"channel_{c}": v for c, v in pu.channel.items()},
    }
    truth |= {k: getattr(pu, k) for k in design if k not in truth}
    bought = book.outcomes["purchase_6m"][rows]
    _assert_recovered({k: v[rows] for k, v in design.items()}, truth, bought, family="logistic")
