"""Features from profiles: the one definition the models are trained and served with."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.demo.synthetic import generate_book
from app.profiles.enums import Channel, ClientKind
from app.profiles.schemas import ClientProfile
from app.serving.features import (
    FEATURE_NAMES,
    PROFILE_LEVELS,
    SERVICE_FEATURES,
    encode,
    profile_features,
)
from app.serving.metadata import FeatureSpec
from app.training.spec import load_spec

AS_OF = datetime.date(2026, 6, 30)
SPECS = Path(__file__).parents[2] / "examples" / "specs"
OUTCOMES = {"lapse_12m", "claim_count_next_year", "exposure", "purchase_6m"}


def _profiles(*profiles: ClientProfile) -> dict[str, list[Any]]:
    """Profiles as columns of Python values, the way the service holds a request's clients."""
    names = [n for n in ClientProfile.model_fields if n not in {"personal", "extra"}]
    return {name: [getattr(p, name) for p in profiles] for name in names}


def _client() -> ClientProfile:
    return ClientProfile.model_validate(
        {
            "kind": "individual",
            "birth_year": 1980,
            "channel": "online",
            "first_policy_date": "2024-06-30",
            "last_purchase_date": "2026-06-20",
            "products_held": ["life", "auto"],
            "in_force_policies": 2,
            "annual_premium": 3000.0,
            "premium_paid_12m": 2250.0,
            "claim_count_3y": 3,
            "renewal_intent": True,
        }
    )


def _prospect() -> ClientProfile:
    return ClientProfile.model_validate(
        {"kind": "corporate", "employees": 40, "last_interaction_date": "2026-06-29"}
    )


def test_derived_features_of_a_client_and_a_prospect() -> None:
    f = profile_features(_profiles(_client(), _prospect()), AS_OF)

    np.testing.assert_array_equal(f["age"], [46.0, np.nan])
    np.testing.assert_allclose(f["tenure_years"], [730 / 365.25, np.nan])
    np.testing.assert_array_equal(f["days_since_last_purchase"], [10.0, np.nan])
    np.testing.assert_array_equal(f["days_since_last_interaction"], [np.nan, 1.0])
    np.testing.assert_array_equal(f["product_count"], [2.0, 0.0])
    np.testing.assert_array_equal(f["has_auto"], [1.0, 0.0])
    np.testing.assert_array_equal(f["has_life"], [1.0, 0.0])
    np.testing.assert_array_equal(f["has_health"], [0.0, 0.0])
    np.testing.assert_array_equal(f["premium_paid_ratio"], [0.75, np.nan])
    # Three claims in two years insured; nothing insured, nothing to divide by.
    np.testing.assert_allclose(f["claims_per_year_insured"], [3 / (730 / 365.25), np.nan])
    np.testing.assert_array_equal(f["renewal_intent"], [1.0, np.nan])
    np.testing.assert_array_equal(f["employees"], [np.nan, 40.0])
    assert list(f["kind"]) == ["individual", "corporate"]
    assert list(f["channel"]) == ["online", None]
    assert set(f) == set(FEATURE_NAMES)


def test_a_new_clients_single_claim_is_not_read_as_a_huge_yearly_rate() -> None:
    columns = _profiles(_client())
    columns["first_policy_date"] = [datetime.date(2026, 6, 23)]
    columns["claim_count_3y"] = [1]

    f = profile_features(columns, AS_OF)

    assert f["claims_per_year_insured"][0] == pytest.approx(4.0)  # a quarter-year floor


def test_each_row_can_have_its_own_reference_date() -> None:
    columns = _profiles(_client(), _client())
    as_of = np.array(["2026-06-30", "2027-06-30"], dtype="datetime64[D]")

    f = profile_features(columns, as_of)

    np.testing.assert_array_equal(f["age"], [46.0, 47.0])
    np.testing.assert_allclose(np.diff(f["days_since_last_purchase"]), [365.0])


def test_missing_profile_columns_are_named() -> None:
    columns = _profiles(_client())
    del columns["channel"], columns["products_held"]

    with pytest.raises(ValueError, match="channel, products_held"):
        profile_features(columns, AS_OF)


def test_encode_gives_level_codes_and_nan_for_unknown_or_missing() -> None:
    features = [
        FeatureSpec(name="channel", type="categorical", levels=["agent", "online"]),
        FeatureSpec(name="referrals", type="numeric"),
    ]
    frame = {
        "channel": np.array(["online", "agent", "branch", None], dtype=object),
        "referrals": np.array([1.0, np.nan, 0.0, 2.0]),
    }

    matrix = encode(frame, features)

    expected = [[1.0, 1.0], [0.0, np.nan], [np.nan, 0.0], [np.nan, 2.0]]
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.dtype == np.float64


def test_a_categorical_without_levels_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="channel has no levels"):
        encode({"channel": ["agent"]}, [FeatureSpec(name="channel", type="categorical")])


def _with_levels(features: tuple[FeatureSpec, ...]) -> list[FeatureSpec]:
    return [
        f.model_copy(update={"levels": list(PROFILE_LEVELS[f.name])})
        if f.type == "categorical"
        else f
        for f in features
    ]


@pytest.mark.parametrize("model", sorted(SERVICE_FEATURES))
def test_validated_profiles_encode_as_their_rows_in_the_book(model: str) -> None:
    book = generate_book(60, seed=5, as_of=AS_OF)
    features = _with_levels(SERVICE_FEATURES[model])
    batch = encode(profile_features(book.profiles, AS_OF), features)
    # What the service holds: each record validated, one client or many at a time.
    profiles = [
        ClientProfile.model_validate({k: v for k, v in r.items() if k != "personal"})
        for r in book.records()
    ]

    many = encode(profile_features(_profiles(*profiles), AS_OF), features)
    one = encode(profile_features(_profiles(profiles[7]), AS_OF), features)

    np.testing.assert_array_equal(many, batch)
    np.testing.assert_array_equal(one, batch[7:8])


def test_enum_members_encode_like_their_values() -> None:
    features = [FeatureSpec(name="kind", type="categorical", levels=list(PROFILE_LEVELS["kind"]))]
    members = encode({"kind": [ClientKind.corporate, ClientKind.individual]}, features)
    values = encode({"kind": ["corporate", "individual"]}, features)
    np.testing.assert_array_equal(members, values)
    assert PROFILE_LEVELS["channel"] == tuple(c.value for c in Channel)


@pytest.mark.parametrize("model", sorted(SERVICE_FEATURES))
def test_service_features_are_known_and_leak_no_outcome(model: str) -> None:
    names = [f.name for f in SERVICE_FEATURES[model]]
    assert len(names) == len(set(names))
    assert set(names) <= set(FEATURE_NAMES)
    assert not set(names) & OUTCOMES
    for feature in SERVICE_FEATURES[model]:
        assert feature.levels is None
        assert (feature.type == "categorical") == (feature.name in PROFILE_LEVELS)


@pytest.mark.parametrize(
    ("model", "file"),
    [*((m, f"synthetic-{m}.yaml") for m in sorted(SERVICE_FEATURES)), ("lapse", "demo-lapse.yaml")],
)
def test_example_specs_list_exactly_the_service_features(model: str, file: str) -> None:
    spec = load_spec(SPECS / file)

    assert spec.name == model
    assert spec.features == list(SERVICE_FEATURES[model])
    assert spec.derive == "profile"
