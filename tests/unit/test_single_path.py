"""One client through the scalar path equals the same client in a batch, result for result."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.classification.batch import classify_profiles
from app.classification.single import classify_one
from app.demo.synthetic import generate_book
from app.profiles.schemas import ClientProfile, profile_example
from app.rules.ruleset import Ruleset
from app.serving.predictor import Champions
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def profiles() -> list[ClientProfile]:
    book = generate_book(400, 23, as_of=AS_OF)
    extra = [
        profile_example(),
        {"kind": "individual"},
        {"kind": "corporate", "industry": "mining", "employees": 900, "ownership": "state_owned"},
        {"kind": "individual", "first_policy_date": "2020-01-01", "in_force_policies": 0},
    ]
    return [ClientProfile.model_validate(r) for r in [*book.records(), *extra]]


@pytest.mark.parametrize("explain", [False, True])
def test_one_client_alone_equals_the_same_client_in_a_batch(
    profiles: list[ClientProfile], champions: Champions, calibrated_rules: Path, explain: bool
) -> None:
    ruleset = Ruleset.load(calibrated_rules)
    batch = classify_profiles(
        profiles, champions=champions, ruleset=ruleset, as_of=AS_OF, explain=explain
    )
    for profile, expected in zip(profiles, batch, strict=True):
        alone = classify_one(
            profile, champions=champions, ruleset=ruleset, as_of=AS_OF, explain=explain
        )
        assert alone == expected


def test_compiled_tables_classify_the_batch_as_zen_engine_does(
    profiles: list[ClientProfile], champions: Champions, calibrated_rules: Path
) -> None:
    compiled = Ruleset.load(calibrated_rules)
    zen = Ruleset.load(calibrated_rules)
    zen.compiled = None  # every client through zen-engine, one call each
    assert compiled.compiled is not None
    for explain in (False, True):
        fast = classify_profiles(
            profiles, champions=champions, ruleset=compiled, as_of=AS_OF, explain=explain
        )
        plain = classify_profiles(
            profiles, champions=champions, ruleset=zen, as_of=AS_OF, explain=explain
        )
        assert fast == plain
