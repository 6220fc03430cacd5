"""The rules' facts for a whole batch, column by column, as `facts_from_profile` gives them.

The compiled decision tables (`app.rules.compiler.codegen`) read a batch as columns: numbers as
float arrays with NaN for null, flags as bool arrays, nullable flags and words as object
arrays. Each column here is the vectorised twin of one line of `facts_from_profile`
(tests/unit/test_facts_columns.py compares them client by client), model outputs rounded
as that function's callers round them, so the tables see the numbers the caller is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arrays import FloatArray, rounded
from app.profiles.periods import DAYS_PER_YEAR
from app.rules.facts import SAME_AS_PROFILE

Column = npt.NDArray[Any]
DIGITS = 6  # model outputs as results show them (`results.shown`)
FLAGS = ("renewal_intent", "flood_zone", "typhoon_zone")  # true, false or unknown
WORDS = ("kind", "industry", "ownership", "channel", "property_condition")


def _objects(values: Any) -> Column:
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:  # a column of lists
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
    return array


def _flags(values: Any) -> Column:
    """True/False/None from booleans, None or 1.0/0.0/NaN."""
    out = np.empty(len(values), dtype=object)
    out[:] = [None if v is None or v != v else bool(v) for v in list(values)]
    return out


def _days(dates: Any, as_of: np.datetime64) -> FloatArray:
    """Days from each date to `as_of`, at least 0; NaN for no date."""
    given = np.asarray(dates, dtype="datetime64[D]")
    days = np.maximum((as_of - given).astype(np.float64), 0.0)
    return np.where(np.isnat(given), np.nan, days)


def facts_columns(
    profile: Mapping[str, Any],
    *,
    as_of: np.datetime64,
    model_outputs: Mapping[str, FloatArray],
    clv: FloatArray,
    clv_percentile: FloatArray,
) -> dict[str, Column]:
    """Facts columns of a batch: `profile` are profile columns (see `batch.profile_columns`),
    `model_outputs` the unrounded lapse_probability, expected_claim_frequency,
    expected_loss_ratio and purchase_probability (NaN where not given), `clv_percentile`
    0 where the client is not in the book."""
    out: dict[str, Column] = {}
    for name in SAME_AS_PROFILE:
        if name in WORDS:
            out[name] = _objects(profile[name])
        elif name in FLAGS:
            out[name] = _flags(profile[name])
        elif name == "campaign_target":
            out[name] = np.asarray(profile[name], dtype=bool)
        else:
            out[name] = np.asarray(profile[name], dtype=np.float64)
    year = float(as_of.astype("datetime64[Y]").astype(np.int64) + 1970)
    out["age"] = year - np.asarray(profile["birth_year"], dtype=np.float64)
    first = np.asarray(profile["first_policy_date"], dtype="datetime64[D]")
    out["has_first_policy"] = ~np.isnat(first)
    out["tenure_years"] = _days(first, as_of) / DAYS_PER_YEAR
    out["products_held"] = _objects(profile["products_held"])
    out["days_since_last_interaction"] = _days(profile["last_interaction_date"], as_of)
    for name, values in model_outputs.items():
        out[name] = rounded(values)
    out["clv"] = clv
    out["clv_percentile"] = clv_percentile
    renewals, lapses = out["renewals"], out["lapses"]
    due = renewals + lapses
    with np.errstate(divide="ignore", invalid="ignore"):
        out["renewal_rate"] = np.where(due > 0, renewals / due, np.nan)
    return out
