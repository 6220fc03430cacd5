"""Model inputs computed from client profiles: the one definition training and serving share.

`profile_features` turns profile columns (a synthetic book, rows read from the database, or
one inline profile as lists of length 1) into feature columns as of a reference date;
`encode` turns feature columns into the float matrix LightGBM reads. Pure NumPy: the service
builds a request's features with the very code the models were trained on.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.arrays import FloatArray
from app.profiles.enums import (
    Channel,
    ClientKind,
    Gender,
    Industry,
    Ownership,
    Product,
    PropertyCondition,
    Province,
)
from app.profiles.periods import CLAIM_WINDOW_YEARS, DAYS_PER_YEAR
from app.serving.metadata import FeatureSpec, Transform

Column = npt.NDArray[Any]
ProfileColumns = Mapping[str, Column | Sequence[Any]]
AsOf = datetime.date | np.datetime64 | Column | Sequence[datetime.date]

# Years insured in the last three are floored at a quarter, so one claim in a client's
# first week does not read as fifty claims a year.
MIN_CLAIM_YEARS = 0.25

# Enum values in declaration order: the codes of a profile-derived categorical feature.
PROFILE_LEVELS: dict[str, tuple[str, ...]] = {
    "kind": tuple(ClientKind),
    "gender": tuple(Gender),
    "province": tuple(Province),
    "industry": tuple(Industry),
    "ownership": tuple(Ownership),
    "channel": tuple(Channel),
    "property_condition": tuple(PropertyCondition),
}
# Typed profile facts passed through as numbers (flags as 0/1, NaN when unknown).
PASS_THROUGH = (
    "occupation_class",
    "annual_income",
    "dependents",
    "city_tier",
    "employees",
    "annual_revenue",
    "in_force_policies",
    "annual_premium",
    "premium_discount_rate",
    "renewals",
    "lapses",
    "claim_count_3y",
    "claim_amount_3y",
    "interactions_12m",
    "complaints_12m",
    "missed_payments_12m",
    "app_logins_12m",
    "referrals",
    "campaign_target",
    "renewal_intent",
    "flood_zone",
    "typhoon_zone",
    "property_value",
)
PRODUCT_FLAGS = tuple(f"has_{product.value}" for product in Product)
DERIVED = (
    "age",
    "tenure_years",
    "days_since_last_purchase",
    "days_since_last_interaction",
    "product_count",
    *PRODUCT_FLAGS,
    "premium_paid_ratio",
    "claims_per_year_insured",
)
FEATURE_NAMES = (*PROFILE_LEVELS, *PASS_THROUGH, *DERIVED)
PROFILE_INPUTS = (
    *PROFILE_LEVELS,
    *PASS_THROUGH,
    "birth_year",
    "first_policy_date",
    "last_purchase_date",
    "last_interaction_date",
    "products_held",
    "premium_paid_12m",
)


def _num(name: str) -> FeatureSpec:
    return FeatureSpec(name=name, type="numeric")


def _cat(name: str) -> FeatureSpec:
    return FeatureSpec(name=name, type="categorical")


# What each service model reads, in order. Only facts known on the reference date: the
# outcomes happen after it. Levels come from each trained model's metadata.
SERVICE_FEATURES: dict[str, tuple[FeatureSpec, ...]] = {
    # Renewal: relationship length and warmth, payment trouble, price, channel, stated intent.
    "lapse": (
        _cat("kind"),
        _cat("channel"),
        _num("tenure_years"),
        _num("renewals"),
        _num("lapses"),
        _num("product_count"),
        _num("in_force_policies"),
        _num("annual_premium"),
        _num("premium_discount_rate"),
        # Not premium_paid_ratio: it restates missed payments, and two features saying one
        # thing split the explanation a caller is shown between them.
        _num("missed_payments_12m"),
        _num("complaints_12m"),
        _num("interactions_12m"),
        _num("days_since_last_interaction"),
        _num("app_logins_12m"),
        _num("renewal_intent"),
        _num("claim_count_3y"),
        _num("age"),
        _num("annual_income"),
        _num("employees"),
    ),
    # Claim frequency: who and what is insured, where, in what state, and the claims record.
    "claims": (
        _cat("kind"),
        _num("age"),
        _num("occupation_class"),
        _cat("industry"),
        _num("employees"),
        _num("annual_revenue"),
        _cat("province"),
        _num("city_tier"),
        _num("flood_zone"),
        _num("typhoon_zone"),
        _cat("property_condition"),
        _num("property_value"),
        _num("claim_count_3y"),
        _num("claim_amount_3y"),
        _num("claims_per_year_insured"),
        _num("tenure_years"),
        _num("in_force_policies"),
        _num("product_count"),
        *(_num(flag) for flag in PRODUCT_FLAGS),
        _num("annual_premium"),
    ),
    # First purchase: what a prospect is, how it came to the insurer and how engaged it is.
    "propensity": (
        _cat("kind"),
        _num("age"),
        _cat("gender"),
        _num("annual_income"),
        _num("dependents"),
        _num("occupation_class"),
        _num("city_tier"),
        _cat("industry"),
        _num("employees"),
        _num("annual_revenue"),
        _cat("ownership"),
        _cat("channel"),
        _num("referrals"),
        _num("campaign_target"),
        _num("interactions_12m"),
        _num("days_since_last_interaction"),
        _num("app_logins_12m"),
    ),
}


def profile_features(columns: ProfileColumns, as_of: AsOf) -> dict[str, Column]:
    """Feature columns of profiles as they stood on `as_of` (one date, or one per row).

    Categorical features stay object arrays of str (None when missing); everything else is
    float64 with NaN when unknown. Every name of `FEATURE_NAMES` is returned.
    """
    missing = [name for name in PROFILE_INPUTS if name not in columns]
    if missing:
        raise ValueError(f"profile columns missing: {', '.join(missing)}")
    n = _row_count(columns)
    reference = np.broadcast_to(np.asarray(as_of, dtype="datetime64[D]"), (n,))
    out: dict[str, Column] = {name: _objects(columns[name], n) for name in PROFILE_LEVELS}
    out.update({name: _floats(columns[name]) for name in PASS_THROUGH})
    out.update(_time_features(columns, reference))
    out.update(_product_features(columns["products_held"], n))
    out.update(_ratio_features(columns, out["tenure_years"]))
    return out


def encode(
    frame: Mapping[str, Column | Sequence[Any]], features: Sequence[FeatureSpec]
) -> FloatArray:
    """The (rows, features) float64 matrix of `frame`, in the order of `features`.

    A categorical becomes the position of its value in the feature's levels; a value not in
    the levels, or a missing one, becomes NaN (LightGBM's missing value).
    """
    if not features:
        raise ValueError("no features to encode")
    n = _row_count({f.name: frame[f.name] for f in features})
    matrix = np.empty((n, len(features)), dtype=np.float64)
    for j, feature in enumerate(features):
        if feature.type == "numeric":
            matrix[:, j] = _floats(frame[feature.name])
            if feature.transform is not None:
                matrix[:, j] = transformed(matrix[:, j], feature.transform)
            continue
        if feature.levels is None:
            raise ValueError(f"categorical feature {feature.name} has no levels")
        matrix[:, j] = level_codes(_objects(frame[feature.name], n), feature.levels)
    return matrix


def transformed(values: FloatArray, transform: Transform) -> FloatArray:
    """`values` clipped, then logged, as the transform says; log of a value out of range is NaN."""
    out = np.array(values, dtype=np.float64)
    if transform.clip is not None:
        low = -np.inf if transform.clip.min is None else transform.clip.min
        high = np.inf if transform.clip.max is None else transform.clip.max
        out = np.clip(out, low, high)
    if transform.log:
        out = np.log(out, out=np.full_like(out, np.nan), where=out > 0)
    elif transform.log1p:
        out = np.log1p(out, out=np.full_like(out, np.nan), where=out > -1)
    return out


def level_codes(values: Column, levels: Sequence[str]) -> FloatArray:
    """Position of each value in `levels` as a float; NaN for missing or unknown values."""
    # pandas' hash table, in C: a Python loop over a batch cost more than its predictions.
    # Both sides stay object indexes (plain str and None compared as Python compares them):
    # left to infer, pandas would first convert the batch to its string dtype, at 9x the cost.
    codes = (
        pd.Index(list(levels), dtype=object)
        .get_indexer(pd.Index(values, dtype=object))
        .astype(np.float64)
    )
    codes[codes < 0] = np.nan
    return codes


def _row_count(columns: Mapping[str, Column | Sequence[Any]]) -> int:
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")
    return lengths.pop()


def _floats(values: Column | Sequence[Any]) -> FloatArray:
    # None becomes NaN and True/False 1/0, from lists and object arrays alike.
    return np.asarray(values, dtype=np.float64)


def _objects(values: Column | Sequence[Any], n: int) -> Column:
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    out = np.empty(n, dtype=object)
    for i, value in enumerate(values):  # element by element: lists inside must stay whole
        out[i] = value
    return out


def _days_since(values: Column | Sequence[Any], reference: Column) -> FloatArray:
    dates = np.asarray(values, dtype="datetime64[D]")
    days = (reference - dates).astype(np.float64)
    return np.where(np.isnat(dates), np.nan, days)


def _time_features(columns: ProfileColumns, reference: Column) -> dict[str, Column]:
    year = reference.astype("datetime64[Y]").astype(np.float64) + 1970.0
    return {
        "age": year - _floats(columns["birth_year"]),
        "tenure_years": _days_since(columns["first_policy_date"], reference) / DAYS_PER_YEAR,
        "days_since_last_purchase": _days_since(columns["last_purchase_date"], reference),
        "days_since_last_interaction": _days_since(columns["last_interaction_date"], reference),
    }


def _product_features(values: Column | Sequence[Any], n: int) -> dict[str, Column]:
    """Count and one flag per product line, computed once per distinct combination."""
    combos: dict[tuple[str, ...], int] = {}
    codes = np.fromiter(
        (combos.setdefault(tuple(v) if v is not None else (), len(combos)) for v in values),
        dtype=np.int64,
        count=n,
    )
    held = np.zeros((len(combos), len(Product)), dtype=np.float64)
    for combo, row in combos.items():
        for j, product in enumerate(Product):
            held[row, j] = product.value in combo
    out: dict[str, Column] = {"product_count": held.sum(axis=1)[codes]}
    for j, flag in enumerate(PRODUCT_FLAGS):
        out[flag] = held[codes, j]
    return out


def _ratio_features(columns: ProfileColumns, tenure_years: FloatArray) -> dict[str, Column]:
    premium = _floats(columns["annual_premium"])
    paid = _floats(columns["premium_paid_12m"])
    claims = _floats(columns["claim_count_3y"])
    with np.errstate(divide="ignore", invalid="ignore"):
        paid_ratio = np.where(premium > 0, paid / premium, np.nan)
        claim_years = np.maximum(np.minimum(tenure_years, CLAIM_WINDOW_YEARS), MIN_CLAIM_YEARS)
        per_year = np.where(np.isnan(tenure_years), np.nan, claims / claim_years)
    return {"premium_paid_ratio": paid_ratio, "claims_per_year_insured": per_year}
