"""Classification of a batch of profiles: models, CLV, book percentile, then the rules.

Plain Python + NumPy (no web framework, no database): the endpoints, the CLI and the
calibration use it alike. Features and predictions are computed for the whole batch at once;
only the decision tables run per client. The result of one client is a JSON-ready dict in the
shape of `schemas.Classification`, without `request_id` and `classified_at`, which the
caller stamps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arrays import FloatArray
from app.classification.clv import ClvResult, customer_lifetime_value, grid_percentile
from app.classification.facts_columns import facts_columns
from app.classification.reasons import TOP_FACTORS, top_factors
from app.classification.results import Classified, Subject, results
from app.classification.single import classify_one
from app.profiles.schemas import ClientProfile
from app.rules.facts import ClassificationFacts
from app.rules.outcome import RuleOutcome
from app.rules.ruleset import Ruleset
from app.serving.features import PROFILE_INPUTS
from app.serving.predictor import Champions, Predictions, predict
from app.strategy.arbitrate import Arbiter


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
    columns: Mapping[str, Any],
    *,
    as_of: date,
    explain: bool,
    percentile: bool = True,
    threads: int = 1,
    predictions: Predictions | None = None,
) -> Scored:
    """Predictions, CLV (parameters from the ruleset) and, if asked, the book percentile.
    `predictions` of the same columns, if given, are used instead of predicting again (a
    what-if classifies one book with two rulesets and the same models)."""
    if predictions is None:
        predictions = predict(champions, columns, as_of=as_of, explain=explain, threads=threads)
    clv = customer_lifetime_value(
        ruleset.clv_parameters,
        segment=np.asarray(columns["kind"], dtype=object).astype(str),
        annual_premium=columns["annual_premium"],
        in_force=predictions.client,
        prospect=predictions.prospect,
        lapse_probability=predictions.lapse_probability,
        expected_claim_frequency=predictions.claim_frequency,
        purchase_probability=predictions.purchase_probability,
        tenure_years=predictions.features["tenure_years"],
    )
    ranks = np.full(predictions.client.size, np.nan)
    if percentile:
        ranks = grid_percentile(ruleset.book_grid(), clv.clv)
    return Scored(predictions, clv, ranks)


# Below this many clients the tables run client by client (compiled Python or zen-engine);
# from it on, compiled to NumPy over the batch, whose fixed cost a few clients do not repay.
COLUMNS_FROM = 16


def _facts(columns: Mapping[str, Any], scored: Scored) -> dict[str, Any]:
    p = scored.predictions
    return facts_columns(
        columns,
        as_of=np.datetime64(p.as_of, "D"),
        model_outputs={
            "lapse_probability": p.lapse_probability,
            "expected_claim_frequency": p.claim_frequency,
            "expected_loss_ratio": scored.clv.expected_loss_ratio,
            "purchase_probability": p.purchase_probability,
        },
        clv=scored.clv.clv,
        # Non-clients are not in the book; their percentile is never shown nor graded.
        clv_percentile=np.where(p.client, scored.percentile, 0.0),
    )


def _fact_rows(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One plain-Python mapping per client (NaN numbers as null), as the tables read one."""
    lists = {name: column.tolist() for name, column in facts.items()}
    names = list(lists)
    return [
        {name: None if value != value else value for name, value in zip(names, row, strict=True)}
        for row in zip(*lists.values(), strict=True)
    ]


def coded_outcomes(
    ruleset: Ruleset, facts: Mapping[str, Any]
) -> tuple[npt.NDArray[np.intp], list[RuleOutcome]]:
    """Every client's rule outcome, the same whichever way the tables run, as a code into
    the batch's distinct outcomes."""
    compiled = ruleset.compiled
    n = len(facts["kind"])
    if compiled is not None and n >= COLUMNS_FROM:
        return compiled.evaluate_columns(facts).coded()
    rows = _fact_rows(facts)
    if compiled is not None:
        return _coded([compiled.evaluate(row) for row in rows])
    # zen-engine, client by client, on facts checked by their schema (which computes the
    # renewal rate itself).
    checked = (
        ClassificationFacts.model_validate({k: v for k, v in row.items() if k != "renewal_rate"})
        for row in rows
    )
    return _coded([ruleset.engine.evaluate(f) for f in checked])


def _coded(outcomes: list[RuleOutcome]) -> tuple[npt.NDArray[np.intp], list[RuleOutcome]]:
    index: dict[RuleOutcome, int] = {}
    codes = [index.setdefault(outcome, len(index)) for outcome in outcomes]
    return np.asarray(codes, dtype=np.intp), list(index)


def reasons_of(scored: Scored, i: int, k: int = TOP_FACTORS) -> dict[str, list[dict[str, Any]]]:
    """Client i's top `k` factors of risk and of its lifecycle stage's model."""
    explanations = scored.predictions.explanations
    features = scored.predictions.features
    stage_model = "lapse" if scored.predictions.client[i] else "propensity"
    reasons = {"risk": top_factors(explanations["claims"], i, features, k)}
    reasons["lifecycle"] = (
        top_factors(explanations[stage_model], i, features, k)
        if stage_model in explanations
        else []
    )
    return reasons


def classify_profiles(
    profiles: Sequence[ClientProfile],
    *,
    champions: Champions,
    ruleset: Ruleset,
    as_of: date,
    explain: bool,
    arbiter: Arbiter | None = None,
    subjects: Sequence[Subject] | None = None,
) -> list[dict[str, Any]]:
    """One result per profile, in order; `versions` names every model and the ruleset.
    `subjects` (by default: a stored client's id, no contact history) feed the arbitration."""
    if not profiles:
        return []
    if subjects is None:
        subjects = [Subject(p.__dict__.get("client_id")) for p in profiles]  # no pydantic miss
    if len(profiles) == 1:
        return [
            classify_one(
                profiles[0],
                champions=champions,
                ruleset=ruleset,
                as_of=as_of,
                explain=explain,
                arbiter=arbiter,
                subject=subjects[0],
            )
        ]
    return classify_columns(
        profile_columns(profiles),
        champions=champions,
        ruleset=ruleset,
        as_of=as_of,
        explain=explain,
        arbiter=arbiter,
        subjects=subjects,
    )


def classify_to_columns(
    columns: Mapping[str, Any],
    *,
    champions: Champions,
    ruleset: Ruleset,
    as_of: date,
    explain: bool,
    threads: int = 1,
    predictions: Predictions | None = None,
) -> tuple[Scored, Classified]:
    """Profiles given column by column (validated, e.g. a synthetic book, rows read from the
    store or a book file's Arrow columns), classified as columns: no Python object per
    client. `threads` for the models (a batch job may use every core; the service uses one
    per worker)."""
    scored = score(
        champions,
        ruleset,
        columns,
        as_of=as_of,
        explain=explain,
        threads=threads,
        predictions=predictions,
    )
    classified = Classified.of(
        scored.predictions,
        clv=scored.clv.clv,
        loss_ratio=scored.clv.expected_loss_ratio,
        percentile=scored.percentile,
        premium=columns["annual_premium"],
        coded=coded_outcomes(ruleset, _facts(columns, scored)),
    )
    return scored, classified


def classify_columns(
    columns: Mapping[str, Any],
    *,
    champions: Champions,
    ruleset: Ruleset,
    as_of: date,
    explain: bool,
    threads: int = 1,
    arbiter: Arbiter | None = None,
    subjects: Sequence[Subject] | None = None,
) -> list[dict[str, Any]]:
    """`classify_profiles` for profiles given column by column: one result per row, in
    order, read from the columns of `classify_to_columns`. Rows with a `client_id` column are
    stored clients (held out of actions by the control group)."""
    scored, classified = classify_to_columns(
        columns,
        champions=champions,
        ruleset=ruleset,
        as_of=as_of,
        explain=explain,
        threads=threads,
    )
    if subjects is None and "client_id" in columns:
        subjects = [Subject(str(c)) for c in columns["client_id"]]
    return results(
        columns,
        classified,
        reasons=(lambda i: reasons_of(scored, i)) if explain else None,
        versions={"models": champions.versions(), "ruleset": ruleset.version},
        arbiter=arbiter or Arbiter.of(ruleset, as_of),
        subjects=subjects,
    )
