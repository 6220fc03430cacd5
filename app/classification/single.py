"""One client's classification in plain Python: the same result as the batch path, faster.

A call-center lookup classifies one client. On arrays of one row NumPy's per-operation
overhead is most of the cost, so one client runs through scalar twins of the batch steps:
`row_features` and `row_values` (features), each model's single-row fast path
(`LoadedModel.fast`), `customer_lifetime_value_row` and `grid_percentile_row` (CLV), and the
compiled tables' Python code (rules). Each twin is tested equal to its batch step, and
tests/unit/test_single_path.py compares whole results with the batch path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import numpy as np

from app.classification.clv_row import customer_lifetime_value_row, grid_percentile_row
from app.classification.reasons import top_factors
from app.classification.results import INLINE, ClientNumbers, Subject, result, shown
from app.profiles.schemas import ClientProfile
from app.rules.facts import fact_values
from app.rules.ruleset import Ruleset
from app.serving.predictor import Champions, Explanation
from app.serving.repository import LoadedModel
from app.serving.row_features import (
    RowFeatures,
    applicable,
    encode_row,
    plan_for,
    row_features,
    row_values,
)
from app.strategy.arbitrate import Arbiter

NAN = float("nan")
_ONE = np.zeros(1, dtype=np.intp)  # the client is row 0 of its contributions


def _score(model: LoadedModel, features: RowFeatures, explain: bool) -> tuple[float, Any]:
    plan = plan_for(model.metadata)
    if plan.transforms:  # transformed in an array, as the batch does it
        row = encode_row(features, plan)
        score = model.fast.predict_row(row)
        contributions = model.fast.contrib_row(row) if explain else None
    else:  # the row's values go straight into the predictor's buffer
        values = row_values(features, plan)
        score = model.fast.predict_values(values)
        contributions = model.fast.contrib_values(values) if explain else None
    if contributions is None:
        return score, None
    return score, Explanation(model, _ONE, contributions[None, :])


class OneRow(Mapping[str, tuple[Any]]):
    """One client's features as the batch's columns of one row: `row[name][0]` is the value.
    A view, so explaining reads the few features it names instead of copying them all."""

    __slots__ = ("_features",)

    def __init__(self, features: RowFeatures) -> None:
        self._features = features

    def __getitem__(self, name: str) -> tuple[Any]:
        return (self._features[name],)

    def __iter__(self) -> Iterator[str]:
        return iter(self._features)

    def __len__(self) -> int:
        return len(self._features)


def _number(value: object) -> float:
    return value if isinstance(value, float) else NAN


def classify_one(
    profile: ClientProfile,
    *,
    champions: Champions,
    ruleset: Ruleset,
    as_of: date,
    explain: bool,
    arbiter: Arbiter | None = None,
    subject: Subject = INLINE,
) -> dict[str, Any]:
    """What `batch.classify_profiles([profile], ...)[0]` gives."""
    grid = ruleset.book_grid()
    features = row_features(profile, as_of)
    client, prospect = applicable(profile)
    explanations: dict[str, Explanation] = {}
    scores = {"lapse": NAN, "claims": NAN, "propensity": NAN}
    for name, applies in (("lapse", client), ("claims", True), ("propensity", prospect)):
        if applies:
            scores[name], explained = _score(champions.model(name), features, explain)
            if explained is not None:
                explanations[name] = explained
    clv = customer_lifetime_value_row(
        ruleset.clv_parameters,
        segment=str(profile.kind),
        annual_premium=profile.annual_premium,
        in_force=client,
        prospect=prospect,
        lapse_probability=scores["lapse"],
        expected_claim_frequency=scores["claims"],
        purchase_probability=scores["propensity"],
        tenure_years=_number(features["tenure_years"]),
    )
    percentile = grid_percentile_row(grid, clv.clv)
    # As shown to the caller, and as the tables see them.
    lapse, claims = shown(scores["lapse"]), shown(scores["claims"])
    purchase, loss_ratio = shown(scores["propensity"]), shown(clv.expected_loss_ratio)
    facts = fact_values(
        profile,
        as_of=as_of,
        lapse_probability=lapse,
        expected_claim_frequency=claims,
        expected_loss_ratio=loss_ratio,
        purchase_probability=purchase,
        clv=clv.clv,
        clv_percentile=percentile if client else 0.0,
    )
    numbers = ClientNumbers(
        client=client,
        prospect=prospect,
        clv=shown(clv.clv, 2),
        percentile=shown(percentile, 2),
        claim_frequency=claims,
        loss_ratio=loss_ratio,
        lapse=lapse,
        purchase=purchase,
        premium=float(profile.annual_premium),
    )
    reasons = None
    if explain:
        shown_features = OneRow(features)
        stage = explanations.get("lapse" if client else "propensity")
        reasons = {
            "risk": top_factors(explanations["claims"], 0, shown_features),
            "lifecycle": top_factors(stage, 0, shown_features) if stage is not None else [],
        }
    return result(
        ruleset.evaluate_values(facts),
        numbers,
        kind=str(profile.kind),
        ownership=profile.ownership,
        industry=profile.industry,
        reasons=reasons,
        versions={"models": champions.versions(), "ruleset": ruleset.version},
        arbiter=arbiter or Arbiter.of(ruleset, as_of),
        subject=subject,
    )
