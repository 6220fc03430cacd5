"""One client's features and model rows in plain Python: the single-call twin of `features.py`.

`profile_features` and `encode` are vectorised; on a single row NumPy's per-operation overhead
is most of their cost. The functions here compute the same float64 values from one validated
profile with floats and dicts, value for value (tests/unit/test_row_paths.py holds the two
paths equal), so a model reads identical input whichever path built it. Batches stay with
`features.py`, the reference.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any

import numpy as np

from app.arrays import FloatArray
from app.profiles.enums import Product
from app.profiles.periods import CLAIM_WINDOW_YEARS, DAYS_PER_YEAR
from app.profiles.schemas import ClientProfile
from app.serving.features import (
    MIN_CLAIM_YEARS,
    PASS_THROUGH,
    PRODUCT_FLAGS,
    PROFILE_LEVELS,
    transformed,
)
from app.serving.metadata import FeatureSpec, ModelMetadata, Transform

# A feature's value: the level (str, None when missing) of a categorical, else a float.
RowFeatures = dict[str, float | str | None]
Profile = ClientProfile | Mapping[str, Any]
NAN = math.nan
_FLAG_PRODUCTS = tuple(zip(PRODUCT_FLAGS, (product.value for product in Product), strict=True))


def _values(profile: Profile) -> Mapping[str, Any]:
    # A validated profile's attributes live in its __dict__: reading it skips pydantic.
    return profile.__dict__ if isinstance(profile, ClientProfile) else profile


def _float(value: Any) -> float:
    # As np.asarray(..., float64) reads a column: None is NaN, True/False are 1/0.
    return NAN if value is None else float(value)


def row_features(profile: Profile, as_of: date) -> RowFeatures:
    """`profile_features` of one profile as plain values: every name of `FEATURE_NAMES`.

    `profile` is a `ClientProfile` or a mapping holding every name of `PROFILE_INPUTS`.
    Categoricals are the profile's level or None; every other value is a float, NaN when
    unknown, equal to the float64 the batch computes for the same profile and date.
    """
    p = _values(profile)
    out: RowFeatures = {name: p[name] for name in PROFILE_LEVELS}
    for name in PASS_THROUGH:
        value = p[name]
        out[name] = NAN if value is None else float(value)
    tenure = _days_since(p["first_policy_date"], as_of) / DAYS_PER_YEAR
    birth_year = p["birth_year"]
    out["age"] = NAN if birth_year is None else float(as_of.year) - float(birth_year)
    out["tenure_years"] = tenure
    out["days_since_last_purchase"] = _days_since(p["last_purchase_date"], as_of)
    out["days_since_last_interaction"] = _days_since(p["last_interaction_date"], as_of)
    _add_products(out, p["products_held"])
    _add_ratios(out, p, tenure)
    return out


def _days_since(value: date | None, as_of: date) -> float:
    return NAN if value is None else float((as_of - value).days)


def _add_products(out: RowFeatures, held: Sequence[str] | None) -> None:
    # Counts the product lines held, as the batch does, not the entries of the list.
    count = 0.0
    for flag, product in _FLAG_PRODUCTS:
        has = 1.0 if held is not None and product in held else 0.0
        out[flag] = has
        count += has
    out["product_count"] = count


def _add_ratios(out: RowFeatures, p: Mapping[str, Any], tenure: float) -> None:
    premium = _float(p["annual_premium"])
    out["premium_paid_ratio"] = _float(p["premium_paid_12m"]) / premium if premium > 0 else NAN
    if math.isnan(tenure):
        out["claims_per_year_insured"] = NAN
        return
    claim_years = max(min(tenure, CLAIM_WINDOW_YEARS), MIN_CLAIM_YEARS)
    out["claims_per_year_insured"] = _float(p["claim_count_3y"]) / claim_years


def applicable(profile: Profile) -> tuple[bool, bool]:
    """(a client with a policy in force, a prospect who never held one): `applicable_rows`."""
    p = _values(profile)
    in_force = _float(p["in_force_policies"]) > 0
    return in_force, not in_force and p["first_policy_date"] is None


@dataclass(frozen=True, slots=True)
class EncodingPlan:
    """How `encode_row` builds one model's row: the feature values in the model's order, then
    each categorical position replaced by its level code."""

    size: int
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    categorical: tuple[tuple[int, Mapping[object, float]], ...]  # (position, code of a level)
    transforms: tuple[tuple[int, Transform], ...] = ()  # numeric positions transformed


def encoding_plan(features: Sequence[FeatureSpec]) -> EncodingPlan:
    """The plan of `features` (a model's `metadata.features`); the checks `encode` makes."""
    if not features:
        raise ValueError("no features to encode")
    categorical: list[tuple[int, Mapping[object, float]]] = []
    transforms: list[tuple[int, Transform]] = []
    for position, feature in enumerate(features):
        if feature.type == "numeric":
            if feature.transform is not None:
                transforms.append((position, feature.transform))
            continue
        if feature.levels is None:
            raise ValueError(f"categorical feature {feature.name} has no levels")
        # Built as `level_codes` builds it, so a repeated level gets the same (last) code.
        codes: dict[object, float] = {
            level: float(code) for code, level in enumerate(feature.levels)
        }
        categorical.append((position, codes))
    names = tuple(feature.name for feature in features)
    return EncodingPlan(len(names), _getter(names), tuple(categorical), tuple(transforms))


def _getter(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(names) == 1:  # itemgetter of one name returns the value, not a 1-tuple
        name = names[0]
        return lambda features: (features[name],)
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]] = itemgetter(*names)
    return take


_PLANS: dict[int, EncodingPlan] = {}


def plan_for(metadata: ModelMetadata) -> EncodingPlan:
    """The cached plan of a loaded model's metadata, built on first use.

    Kept while the metadata object lives (a loaded model's metadata is never changed), so a
    promoted or reloaded version gets a plan of its own and a dropped one takes its plan along.
    """
    key = id(metadata)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = encoding_plan(metadata.features)
        # Runs when the metadata is freed, before its id can be reused.
        weakref.finalize(metadata, _PLANS.pop, key, None)
    return plan


def row_values(features: Mapping[str, Any], plan: EncodingPlan) -> list[Any]:
    """The values of `encode_row` before its transforms, as a list: the features in the
    model's order, each categorical as the code of its level (NaN when missing or unknown).
    With no transforms in the plan, `np.array(row_values(...), dtype=np.float64)` is the
    row itself."""
    values = list(plan.take(features))
    for position, codes in plan.categorical:
        values[position] = codes.get(values[position], NAN)
    return values


def encode_row(
    features: Mapping[str, Any], plan: EncodingPlan, out: FloatArray | None = None
) -> FloatArray:
    """One row of `encode`: a C-contiguous float64 vector of `plan.size` values.

    A categorical becomes the position of its level, NaN when missing or unknown. Written into
    `out` when given (shape `(plan.size,)`), else into a new array; `row[None, :]` is the 2-D
    view `Booster.predict` reads.
    """
    values = row_values(features, plan)
    if out is None:
        out = np.array(values, dtype=np.float64)
    else:
        out[:] = values
    for position, transform in plan.transforms:  # the batch's function, so results are equal
        out[position : position + 1] = transformed(out[position : position + 1], transform)
    return out
