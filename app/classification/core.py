"""Classification of a batch of profiles: models, CLV, book percentile, then the rules.

Plain Python + NumPy (no web framework, no database): the endpoints, the CLI and the
calibration use it alike. Features and predictions are computed for the whole batch at once;
only the decision tables run per client. The result of one client is a JSON-ready dict in the
shape of `schemas.Classification`, without `request_id` and `classified_at`, which the
caller stamps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from app.classification.clv import ClvResult, customer_lifetime_value, grid_percentile
from app.classification.reasons import top_factors
from app.errors import Unavailable
from app.profiles.schemas import ClientProfile
from app.rules.facts import facts_from_profile
from app.rules.outcome import RuleOutcome
from app.rules.ruleset import Ruleset
from app.scoring.features import PROFILE_INPUTS, FloatArray
from app.scoring.predictor import Champions, Predictions, predict


@dataclass(frozen=True, slots=True)
class Scored:
    """The batch's numbers before the rules: model outputs, CLV and book percentile."""

    predictions: Predictions
    clv: ClvResult
    percentile: FloatArray


def profile_columns(profiles: Sequence[ClientProfile]) -> dict[str, list[Any]]:
    """The model inputs of validated profiles, column by column."""
    rows = [profile.__dict__ for profile in profiles]
    return {name: [row[name] for row in rows] for name in PROFILE_INPUTS}


def score(
    champions: Champions,
    ruleset: Ruleset,
    columns: dict[str, Any],
    *,
    as_of: date,
    explain: bool,
    percentile: bool = True,
) -> Scored:
    """Predictions, CLV (parameters from the ruleset) and, if asked, the book percentile."""
    predictions = predict(champions, columns, as_of=as_of, explain=explain)
    clv = customer_lifetime_value(
        ruleset.clv_parameters,
        segment=np.asarray(columns["kind"], dtype=object).astype(str),
        annual_premium=columns["annual_premium"],
        in_force=predictions.client,
        prospect=predictions.prospect,
        lapse_probability=predictions.lapse_probability,
        expected_claim_frequency=predictions.claim_frequency,
        purchase_probability=predictions.purchase_probability,
    )
    ranks = np.full(predictions.client.size, np.nan)
    if percentile:
        if ruleset.clv_grid is None:
            raise Unavailable(
                f"ruleset {ruleset.version} is not calibrated to the book: "
                "run `clientscore rules calibrate` and activate the result"
            )
        ranks = grid_percentile(ruleset.clv_grid, clv.clv)
    return Scored(predictions, clv, ranks)


def _number(value: float, digits: int = 6) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


def _outcome(ruleset: Ruleset, profile: ClientProfile, scored: Scored, i: int) -> RuleOutcome:
    p = scored.predictions
    facts = facts_from_profile(
        profile,
        as_of=scored.predictions.as_of,
        lapse_probability=_number(p.lapse_probability[i]),
        expected_claim_frequency=_number(p.claim_frequency[i]),
        expected_loss_ratio=_number(scored.clv.expected_loss_ratio[i]),
        purchase_probability=_number(p.purchase_probability[i]),
        clv=float(scored.clv.clv[i]),
        # Non-clients are not in the book; their percentile is never shown nor graded.
        clv_percentile=float(scored.percentile[i]) if p.client[i] else 0.0,
    )
    return ruleset.classify(facts)


def _reasons(scored: Scored, i: int) -> dict[str, list[dict[str, Any]]]:
    explanations = scored.predictions.explanations
    features = scored.predictions.features
    stage_model = "lapse" if scored.predictions.client[i] else "propensity"
    reasons = {"risk": top_factors(explanations["claims"], i, features)}
    reasons["lifecycle"] = (
        top_factors(explanations[stage_model], i, features) if stage_model in explanations else []
    )
    return reasons


def _result(
    profile: ClientProfile, outcome: RuleOutcome, scored: Scored, i: int, explain: bool
) -> dict[str, Any]:
    p = scored.predictions
    client = bool(p.client[i])
    prospect = bool(p.prospect[i])
    fired = [
        {"table": r.table, "rule_id": r.rule_id, "row": r.row, "description": r.description}
        for r in outcome.rules_fired
        if client or r.table != "abc_grade"
    ]
    corporate = profile.kind == "corporate"
    return {
        "value": {
            "tier": outcome.value_tier,
            # ABC grades rank the clients of the book: none for prospects and former clients.
            "grade": outcome.abc_grade if client else None,
            "clv": round(float(scored.clv.clv[i]), 2),
            "percentile": _number(scored.percentile[i], 2) if client else None,
        },
        "risk": {
            "tier": outcome.risk_tier,
            "expected_claim_frequency": _number(p.claim_frequency[i]),
            "expected_loss_ratio": _number(scored.clv.expected_loss_ratio[i]),
        },
        "lifecycle": {
            "stage": outcome.lifecycle_stage,
            "lapse_probability_12m": _number(p.lapse_probability[i]) if client else None,
            "purchase_probability": _number(p.purchase_probability[i]) if prospect else None,
            "prospect_grade": outcome.prospect_grade if prospect else None,
        },
        "segment": {
            "scale": outcome.group_scale,
            "ownership": profile.ownership,
            "industry": profile.industry,
        }
        if corporate
        else None,
        "strategy": [
            {
                "code": a.code,
                "title_zh": a.title_zh,
                "title_en": a.title_en,
                "reason_zh": a.reason_zh,
                "reason_en": a.reason_en,
            }
            for a in outcome.actions
        ],
        "reasons": _reasons(scored, i) if explain else None,
        "rules_fired": fired,
    }


def classify_profiles(
    profiles: Sequence[ClientProfile],
    *,
    champions: Champions,
    ruleset: Ruleset,
    as_of: date,
    explain: bool,
) -> list[dict[str, Any]]:
    """One result per profile, in order; `versions` names every model and the ruleset."""
    if not profiles:
        return []
    scored = score(champions, ruleset, profile_columns(profiles), as_of=as_of, explain=explain)
    versions = {"models": champions.versions(), "ruleset": ruleset.version}
    results = []
    for i, profile in enumerate(profiles):
        outcome = _outcome(ruleset, profile, scored, i)
        result = _result(profile, outcome, scored, i, explain)
        result["versions"] = versions
        results.append(result)
    return results
