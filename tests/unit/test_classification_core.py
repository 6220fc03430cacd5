"""The batch classification path (`app/classification/batch.py`) on real trained models and
the shipped ruleset, calibrated."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.classification.batch import classify_profiles, profile_columns
from app.classification.clv import book_percentile, grid_percentile, quantile_grid, sorted_book
from app.classification.schemas import Classification
from app.demo.synthetic import generate_book
from app.profiles.schemas import ClientProfile, profile_example
from app.rules.ruleset import Ruleset
from app.serving.features import encode
from app.serving.predictor import Champions, predict
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
TODAY = date.today()


def years_ago(years: float) -> str:
    return (TODAY - timedelta(days=int(365.25 * years))).isoformat()


def profile(**changes: Any) -> ClientProfile:
    base = profile_example()
    base.pop("personal")
    return ClientProfile.model_validate(base | changes)


PROFILES = {
    "loyal": profile(annual_premium=60_000, premium_paid_12m=60_000, renewals=9),
    "at_risk": profile(
        missed_payments_12m=3, interactions_12m=0, renewal_intent=False, premium_paid_12m=9000
    ),
    "churned": profile(
        in_force_policies=0, products_held=[], annual_premium=0, premium_paid_12m=0, lapses=3
    ),
    "lead": ClientProfile(
        kind="individual", birth_year=1990, channel="online", campaign_target=True, referrals=2
    ),
    "high_risk": profile(
        flood_zone=True, property_condition="poor", claim_count_3y=4, claim_amount_3y=90_000
    ),
    "state_company": ClientProfile(
        kind="corporate",
        industry="manufacturing",
        employees=5000,
        annual_revenue=5e9,
        ownership="state_owned",
        first_policy_date=years_ago(6),
        products_held=["group_health", "property"],
        in_force_policies=2,
        annual_premium=900_000,
        premium_paid_12m=900_000,
        renewals=5,
        interactions_12m=12,
        last_interaction_date=years_ago(0.1),
        renewal_intent=True,
    ),
}


@pytest.fixture(scope="module")
def ruleset(calibrated_rules: Path) -> Ruleset:
    return Ruleset.load(calibrated_rules)


def classify(
    champions: Champions, ruleset: Ruleset, profiles: list[ClientProfile], explain: bool = True
) -> list[dict[str, Any]]:
    return classify_profiles(
        profiles, champions=champions, ruleset=ruleset, as_of=TODAY, explain=explain
    )


@pytest.fixture(scope="module")
def results(champions: Champions, ruleset: Ruleset) -> dict[str, dict[str, Any]]:
    classified = classify(champions, ruleset, list(PROFILES.values()))
    return dict(zip(PROFILES, classified, strict=True))


def codes(result: dict[str, Any]) -> list[str]:
    """Every eligible action not suppressed, by priority: the top N, then the others."""
    return [a["code"] for a in result["strategy"] + result["arbitration"]["others"]]


def test_each_result_meets_the_contract(results: dict[str, dict[str, Any]]) -> None:
    for result in results.values():
        stamped = result | {
            "client_id": None,
            "request_id": "r",
            "classified_at": "2026-11-23T00:00:00Z",
        }
        Classification.model_validate(stamped)


def test_a_loyal_high_premium_client_is_high_value_with_an_account_manager(
    results: dict[str, dict[str, Any]],
) -> None:
    loyal = results["loyal"]
    assert loyal["value"]["tier"] == "high"
    assert loyal["value"]["grade"] == "A"
    assert loyal["value"]["percentile"] >= 80
    assert loyal["lifecycle"]["stage"] == "active"
    assert 0 < loyal["lifecycle"]["lapse_probability_12m"] < 1
    assert loyal["lifecycle"]["purchase_probability"] is None
    assert "dedicated_account_manager" in codes(loyal)


def test_missed_payments_and_no_contact_make_a_client_at_risk(
    results: dict[str, dict[str, Any]],
) -> None:
    at_risk = results["at_risk"]
    assert at_risk["lifecycle"]["stage"] == "at_risk"
    assert "retention_offer" in codes(at_risk)[:3]
    lifecycle_features = [f["feature"] for f in at_risk["reasons"]["lifecycle"]]
    assert "missed_payments_12m" in lifecycle_features


def test_a_former_client_is_churned_and_not_graded(results: dict[str, dict[str, Any]]) -> None:
    churned = results["churned"]
    assert churned["lifecycle"]["stage"] == "churned"
    assert (churned["value"]["grade"], churned["value"]["percentile"]) == (None, None)
    assert churned["lifecycle"]["lapse_probability_12m"] is None
    assert churned["lifecycle"]["purchase_probability"] is None
    assert "abc_grade" not in {r["table"] for r in churned["rules_fired"]}
    assert "retention_offer" in codes(churned)


def test_a_pursued_lead_is_a_graded_target(results: dict[str, dict[str, Any]]) -> None:
    lead = results["lead"]
    assert lead["lifecycle"]["stage"] == "target"
    assert lead["lifecycle"]["prospect_grade"] in {"A", "B", "C", "D", "E"}
    assert 0 < lead["lifecycle"]["purchase_probability"] < 1
    assert lead["lifecycle"]["lapse_probability_12m"] is None
    assert lead["value"]["grade"] is None
    assert lead["value"]["tier"] == "low"
    assert [f["feature"] for f in lead["reasons"]["lifecycle"]]  # propensity factors
    assert "attractive_offer" in codes(lead)


def test_claims_in_a_flood_zone_with_poor_property_are_high_risk(
    results: dict[str, dict[str, Any]],
) -> None:
    risky = results["high_risk"]
    assert risky["risk"]["tier"] == "high"
    assert "risk_assessment_report" in codes(risky)
    assert (
        risky["risk"]["expected_claim_frequency"]
        > results["loyal"]["risk"]["expected_claim_frequency"]
    )


def test_a_large_state_owned_company_gets_a_customised_plan(
    results: dict[str, dict[str, Any]],
) -> None:
    company = results["state_company"]
    assert company["segment"] == {
        "scale": "large",
        "ownership": "state_owned",
        "industry": "manufacturing",
    }
    assert {"customised_plan", "offline_events"} <= set(codes(company))
    assert results["loyal"]["segment"] is None


def test_reasons_come_with_explain_only_and_read_in_both_languages(
    champions: Champions, ruleset: Ruleset, results: dict[str, dict[str, Any]]
) -> None:
    factor = results["at_risk"]["reasons"]["lifecycle"][0]
    assert set(factor) == {"feature", "value", "contribution", "text_zh", "text_en"}
    missed = next(
        f
        for f in results["at_risk"]["reasons"]["lifecycle"]
        if f["feature"] == "missed_payments_12m"
    )
    assert missed["value"] == 3
    assert missed["text_en"] == "3 missed payments in 12 months raise the lapse risk"
    assert missed["text_zh"] == "近12个月3次缺缴保费\uff0c提高了流失风险"
    (plain,) = classify(champions, ruleset, [PROFILES["at_risk"]], explain=False)
    assert plain["reasons"] is None
    assert {k: v for k, v in plain.items() if k != "reasons"} == {
        k: v for k, v in results["at_risk"].items() if k != "reasons"
    }


def test_no_personal_data_reaches_the_result(champions: Champions, ruleset: Ruleset) -> None:
    person = ClientProfile.model_validate(profile_example())
    assert person.personal is not None
    (result,) = classify(champions, ruleset, [person])
    text = str(result)
    for secret in (person.personal.name, person.personal.phone, person.personal.national_id):
        assert secret is not None
        assert secret not in text


def test_the_batch_predicts_exactly_what_the_booster_predicts_row_by_row(
    champions: Champions,
) -> None:
    book = generate_book(300, 3, as_of=TODAY)
    batch = predict(champions, book.profiles, as_of=TODAY, explain=True)
    for i in range(0, 300, 7):
        row = {name: column[i : i + 1] for name, column in book.profiles.items()}
        one = predict(champions, row, as_of=TODAY, explain=False)
        for name in ("lapse_probability", "claim_frequency", "purchase_probability"):
            np.testing.assert_array_equal(getattr(one, name), getattr(batch, name)[i : i + 1])
    claims = champions.claims
    matrix = encode(batch.features, claims.metadata.features)
    np.testing.assert_array_equal(batch.claim_frequency, claims.booster.predict(matrix))
    # TreeSHAP contributions plus the expected value add up to the raw score.
    explained = batch.explanations["claims"].contributions.sum(axis=1)
    np.testing.assert_allclose(explained, claims.booster.predict(matrix, raw_score=True), atol=1e-9)
    assert np.isnan(batch.lapse_probability[~batch.client]).all()
    assert np.isnan(batch.purchase_probability[~batch.prospect]).all()
    assert not np.isnan(batch.lapse_probability[batch.client]).any()


def test_single_and_batch_classification_agree(champions: Champions, ruleset: Ruleset) -> None:
    book = generate_book(1_000, 5, as_of=TODAY)
    profiles = [ClientProfile.model_validate(record) for record in book.records()]
    batch = classify(champions, ruleset, profiles, explain=True)
    for i, one in enumerate(profiles):
        assert classify(champions, ruleset, [one], explain=True) == [batch[i]], i
    assert profile_columns(profiles[:2])["kind"] == [profiles[0].kind, profiles[1].kind]


def test_the_grid_percentile_follows_the_book() -> None:
    rng = np.random.default_rng(0)
    values = np.r_[rng.lognormal(8, 1, 4000), np.zeros(500)]
    grid = quantile_grid(values)
    probe = np.r_[rng.choice(values, 500), -1.0, 1e12, np.nan]
    got = grid_percentile(grid, probe)
    want = book_percentile(sorted_book(values), probe)
    np.testing.assert_allclose(got[:-1], want[:-1], atol=0.1)
    assert (got[-3], got[-2]) == (0.0, 100.0)
    assert np.isnan(got[-1])
    # The 500 equal values get the middle of their run, as in the whole book.
    assert grid_percentile(grid, np.array([0.0]))[0] == pytest.approx(500 / 4500 * 50, abs=0.1)
