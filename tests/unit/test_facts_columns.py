"""The batch facts columns equal `facts_from_profile`, client by client."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from app.classification.core import profile_columns
from app.classification.facts_columns import facts_columns, rounded
from app.profiles.schemas import ClientProfile
from app.rules.facts import facts_from_profile
from app.scoring.synthetic import generate_book

AS_OF = date(2026, 6, 30)


def edge_profiles() -> list[ClientProfile]:
    bare = ClientProfile.model_validate({"kind": "individual"})
    company = ClientProfile.model_validate(
        {
            "kind": "corporate",
            "industry": "mining",
            "employees": 0,
            "renewal_intent": False,
            "flood_zone": True,
            "first_policy_date": "2026-06-30",
            "last_interaction_date": "2026-06-29",
        }
    )
    return [bare, company]


@pytest.fixture(scope="module")
def profiles() -> list[ClientProfile]:
    book = generate_book(1500, 5, as_of=AS_OF)
    return [ClientProfile.model_validate(r) for r in book.records()] + edge_profiles()


def as_fact(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def test_every_column_equals_the_one_client_facts(profiles: list[ClientProfile]) -> None:
    n = len(profiles)
    rng = np.random.default_rng(3)
    outputs = {
        "lapse_probability": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
        "expected_claim_frequency": rng.gamma(1.0, 0.3, n),
        "expected_loss_ratio": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(1.0, 0.5, n)),
        "purchase_probability": np.where(rng.random(n) < 0.7, np.nan, rng.random(n)),
    }
    clv = rng.normal(5000, 3000, n)
    percentile = rng.uniform(0, 100, n)
    columns = facts_columns(
        profile_columns(profiles),
        as_of=np.datetime64(AS_OF, "D"),
        model_outputs=outputs,
        clv=clv,
        clv_percentile=percentile,
    )
    for i, profile in enumerate(profiles):
        given = {k: as_fact(v[i]) for k, v in outputs.items()}
        facts = facts_from_profile(
            profile,
            as_of=AS_OF,
            **{k: None if v is None else round(v, 6) for k, v in given.items()},
            clv=float(clv[i]),
            clv_percentile=float(percentile[i]),
        )
        expected = facts.model_dump() | {"renewal_rate": facts.renewal_rate}
        for name, value in expected.items():
            got = as_fact(columns[name][i])
            if name == "products_held":
                assert tuple(got) == value, (i, name)
            else:
                assert got == value, (i, name, got, value)


def test_rounding_is_pythons() -> None:
    values = np.array([0.1234565, 2.675e-7, np.nan, 0.30000049999999997])
    assert [None if v != v else v for v in rounded(values).tolist()] == [
        None if v != v else round(v, 6) for v in values.tolist()
    ]
