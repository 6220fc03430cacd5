"""Deterministic profile rows for the import benchmark and tests, without the model stack."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson

from app.profiles.enums import Channel, Industry, Product, Province

_PROVINCES = [p.value for p in Province]
_CHANNELS = [c.value for c in Channel]
_INDUSTRIES = [i.value for i in Industry]
_PRODUCTS = [p.value for p in Product]


def profile_rows(count: int, *, seed: int = 7, prefix: str = "B") -> Iterator[dict[str, Any]]:
    """`count` valid profiles with ids `<prefix>0000001`...; individuals and companies mixed."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        corporate = rng.random() < 0.15
        row: dict[str, Any] = {
            "client_id": f"{prefix}{n:07d}",
            "kind": "corporate" if corporate else "individual",
            "province": rng.choice(_PROVINCES),
            "city_tier": rng.randint(1, 5),
            "first_policy_date": date(
                rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28)
            ).isoformat(),
            "products_held": rng.sample(_PRODUCTS, rng.randint(1, 3)),
            "in_force_policies": rng.randint(0, 4),
            "annual_premium": round(rng.lognormvariate(8.5, 0.8), 2),
            "premium_paid_12m": round(rng.lognormvariate(8.5, 0.8), 2),
            "renewals": rng.randint(0, 10),
            "lapses": rng.randint(0, 2),
            "claim_count_3y": rng.randint(0, 3),
            "claim_amount_3y": round(rng.random() * 20000, 2),
            "interactions_12m": rng.randint(0, 12),
            "complaints_12m": rng.randint(0, 2),
            "missed_payments_12m": rng.randint(0, 2),
            "channel": rng.choice(_CHANNELS),
            "referrals": rng.randint(0, 3),
            "typhoon_zone": rng.random() < 0.2,
        }
        if corporate:
            row |= {
                "industry": rng.choice(_INDUSTRIES),
                "employees": rng.randint(5, 5000),
                "annual_revenue": round(rng.lognormvariate(16, 1.5), 2),
                "ownership": rng.choice(["private", "foreign", "state_owned"]),
            }
        else:
            row |= {
                "birth_year": rng.randint(1940, 2005),
                "gender": rng.choice(["female", "male"]),
                "occupation_class": rng.randint(1, 6),
                "annual_income": round(rng.lognormvariate(11.5, 0.6), 2),
                "dependents": rng.randint(0, 4),
                "personal": {"name": f"客户{n}", "phone": f"139{n:08d}"},
            }
        yield row


def ndjson(rows: Iterator[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)
