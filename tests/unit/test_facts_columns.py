"""The batch facts columns equal `facts_from_profile`, client by client."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.arrays import rounded
from app.classification.batch import profile_columns
from app.classification.facts_columns import facts_columns
from app.demo.synthetic import generate_book
from app.profiles.schemas import ClientProfile
from app.rules.facts import facts_from_profile

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


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(0, 1),
            # ties and their neighbours at the 6th and 2nd digit
            st.integers(0, 10**7).map(lambda k: (k + 0.5) / 1e6),
            st.integers(0, 10**7).map(lambda k: float(np.nextafter((k + 0.5) / 1e2, 0.0))),
            st.integers(-(10**7), 10**7).map(lambda k: k / 8),  # exact binary ties
            st.integers(-(10**7), 10**7).map(lambda k: (k + 0.5) / 1e3),
        ),
        max_size=50,
    ),
    st.sampled_from([2, 3, 6]),
)
def test_vectorised_rounding_is_pythons_round(values: list[float], digits: int) -> None:
    got = rounded(np.array(values, dtype=np.float64), digits).tolist()
    for value, mine in zip(values, got, strict=True):
        expected = value if value != value else round(value, digits)
        assert mine == expected or (mine != mine and expected != expected), value
