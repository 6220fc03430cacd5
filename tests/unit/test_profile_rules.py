"""The profile's validation rules and the pure helpers around it (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from app.profiles.identifiers import (
    credit_code_check_char,
    is_credit_code,
    is_resident_id,
    resident_id_check_digit,
)
from app.profiles.mapping import merge_patch, to_row
from app.profiles.schemas import ClientCreate, profile_example


def rules(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        ClientCreate.model_validate(body)
    from app.profiles.validation import field_errors

    return {e.field: e.rule for e in field_errors(caught.value)}


def test_the_example_is_valid() -> None:
    assert ClientCreate.model_validate(profile_example()).kind == "individual"


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        # The cases are made when the tests are collected: dates a few days (a year) off the
        # limit, so a run that crosses midnight (or New Year) still tests the same rule.
        ({"birth_year": date.today().year - 122}, "birth_year", "age_range"),
        ({"birth_year": date.today().year + 2}, "birth_year", "age_range"),
        ({"annual_premium": -0.01}, "annual_premium", "greater_than_equal"),
        ({"claim_count_3y": -1}, "claim_count_3y", "greater_than_equal"),
        ({"premium_discount_rate": 1.01}, "premium_discount_rate", "less_than_equal"),
        ({"occupation_class": 7}, "occupation_class", "less_than_equal"),
        ({"city_tier": 0}, "city_tier", "greater_than_equal"),
        ({"gender": "other"}, "gender", "enum"),
        ({"channel": "pigeon"}, "channel", "enum"),
        ({"province": "california"}, "province", "enum"),
        ({"products_held": ["auto", "auto"]}, "products_held", "unique_items"),
        (
            {"last_purchase_date": str(date.today() + timedelta(days=7))},
            "last_purchase_date",
            "date_not_in_future",
        ),
        ({"shoe_size": 42}, "shoe_size", "extra_forbidden"),
        ({"employees": 12}, "employees", "kind_mismatch"),
        ({"kind": "corporate", "personal": None}, "birth_year", "kind_mismatch"),
        ({"last_purchase_date": "2010-01-01"}, "last_purchase_date", "date_order"),
    ],
)
def test_each_rule_names_its_field(change: dict[str, Any], field: str, rule: str) -> None:
    found = rules(profile_example() | change)
    assert found.get(field) == rule, found


def test_national_id_is_checked_for_its_check_character() -> None:
    person = profile_example()
    person["personal"] = {"national_id": "110105194912310021"}
    assert rules(person) == {"personal.national_id": "national_id_checksum"}
    company = {"kind": "corporate", "personal": {"national_id": "91350100M000100Y44"}}
    assert rules(company) == {"personal.national_id": "national_id_checksum"}
    company["personal"] = {"national_id": "91350100M000100Y43"}
    assert ClientCreate.model_validate(company).personal is not None


def test_national_id_must_agree_with_birth_year_and_gender() -> None:
    # 11010519491231002X: born 1949-12-31, sex digit 2 (female).
    person = profile_example() | {"personal": {"national_id": "11010519491231002X"}}
    assert rules(person) == {"personal.national_id": "national_id_mismatch"}
    assert rules(person | {"birth_year": 1949, "gender": "male"}) == {
        "personal.national_id": "national_id_mismatch"
    }
    assert ClientCreate.model_validate(person | {"birth_year": 1949}).birth_year == 1949


def test_check_characters() -> None:
    assert resident_id_check_digit("11010519491231002") == "X"
    assert is_resident_id("11010519491231002X")
    assert not is_resident_id("11010519491231002Y")
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert is_credit_code("91350100M000100Y43")
    assert not is_credit_code("91350100M000100Y4I")


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    patch = {"a": "z", "c": {"f": None}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch({"a": 1}, ["x"]) == ["x"]


def test_fingerprint_changes_with_any_fact_and_only_then() -> None:
    one = ClientCreate.model_validate(profile_example())
    same = ClientCreate.model_validate(profile_example())
    other = ClientCreate.model_validate(profile_example() | {"referrals": 3})
    moved = ClientCreate.model_validate(
        profile_example() | {"personal": {"name": "王芳", "phone": "13900000000"}}
    )
    prints = [to_row("C", p)[0]["fingerprint"] for p in (one, same, other, moved)]
    assert prints[0] == prints[1]
    assert len(set(prints)) == 3
