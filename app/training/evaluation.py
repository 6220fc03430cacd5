"""Held-out figures for a model and for the trivial baseline, computed the same way for both.

The baseline predicts the training mean for everyone (the lapse rate, or the
exposure-weighted claim frequency): a model is worth serving only where it beats it. Every
result is plain floats and lists, ready for `metadata.json`. scikit-learn's metrics are imported
where they are used: a process that imports the training code without evaluating a model (a
command's start, a test run's collection) does not pay its second of imports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.arrays import FloatArray
from app.serving.metadata import ScoreHistogram

Metrics = dict[str, dict[str, Any]]
CURVE_POINTS = 101  # curves are kept at every percent of the population
TOP_SHARE = 0.10


def binary_metrics(y: FloatArray, score: FloatArray, base_rate: float) -> Metrics:
    """AUC, log loss, Brier, top-decile lift and capture; calibration, ROC and gain curves."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    baseline = np.full_like(score, base_rate)
    lift, capture = top_share_lift(y, score, TOP_SHARE)
    return {
        "model": {
            "auc": float(roc_auc_score(y, score)),
            "log_loss": float(log_loss(y, score, labels=[0, 1])),
            "brier": float(brier_score_loss(y, score)),
            "top10_lift": lift,
            "top10_capture": capture,
            "mean_score": float(score.mean()),
        },
        "baseline": {
            "auc": 0.5,
            "log_loss": float(log_loss(y, baseline, labels=[0, 1])),
            "brier": float(brier_score_loss(y, baseline)),
            # A constant score orders no one: the top 10% holds 10% of the lapses on average.
            "top10_lift": 1.0,
            "top10_capture": TOP_SHARE,
            "mean_score": base_rate,
        },
        "observed": {"rate": float(y.mean()), "rows": len(y), "positives": int(y.sum())},
        "curves": {
            "roc": roc_curve(y, score),
            "gain": gain_curve(y, score, np.ones_like(y)),
            "calibration": calibration(score, y, np.ones_like(y), base_rate),
        },
    }


def poisson_metrics(
    claims: FloatArray, rate: FloatArray, exposure: FloatArray, base_rate: float
) -> Metrics:
    """Deviance (per exposure year and per policy), D², Gini; Lorenz and calibration curves."""
    from sklearn.metrics import mean_poisson_deviance

    expected = rate * exposure
    base_expected = base_rate * exposure
    model_dev = mean_poisson_deviance(claims / exposure, rate, sample_weight=exposure)
    base_dev = mean_poisson_deviance(
        claims / exposure, np.full_like(rate, base_rate), sample_weight=exposure
    )
    lorenz = lorenz_curve(claims, rate, exposure)
    return {
        "model": {
            "poisson_deviance": float(model_dev),
            "deviance_per_policy_x100": 100 * policy_deviance(claims, expected),
            "d2": float(1 - model_dev / base_dev),
            "gini": gini(lorenz),
            "predicted_claims": float(expected.sum()),
        },
        "baseline": {
            "poisson_deviance": float(base_dev),
            "deviance_per_policy_x100": 100 * policy_deviance(claims, base_expected),
            "d2": 0.0,
            "gini": 0.0,  # a constant rate orders no one
            "predicted_claims": float(base_expected.sum()),
        },
        "observed": {
            "claims": float(claims.sum()),
            "exposure": float(exposure.sum()),
            "frequency": float(claims.sum() / exposure.sum()),
            "rows": len(claims),
        },
        "curves": {
            "lorenz": lorenz,
            "calibration": calibration(expected, claims, exposure, base_rate, by=rate),
        },
    }


def policy_deviance(counts: FloatArray, expected: FloatArray) -> float:
    """Mean over policies of 2 (mu - y + y ln(y / mu)), with y ln(y / mu) = 0 where y = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(counts > 0, counts * np.log(counts / expected), 0.0)
    return float(np.mean(2 * (expected - counts + log_term)))


def top_share_lift(y: FloatArray, score: FloatArray, share: float) -> tuple[float, float]:
    """(lift, capture) of the `share` of rows with the highest scores."""
    top = np.argsort(-score, kind="stable")[: max(1, round(len(y) * share))]
    capture = float(y[top].sum() / y.sum())
    return capture * len(y) / len(top), capture


def roc_curve(y: FloatArray, score: FloatArray) -> dict[str, list[float]]:
    """True positive rate at each percent of false positive rate."""
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    fpr, tpr, _ = sklearn_roc_curve(y, score)
    grid = np.linspace(0, 1, CURVE_POINTS)
    return {"fpr": grid.tolist(), "tpr": np.interp(grid, fpr, tpr).tolist()}


def gain_curve(
    outcome: FloatArray, score: FloatArray, weight: FloatArray
) -> dict[str, list[float]]:
    """Share of the outcome captured by the highest-scored share of the weight (ties pooled)."""
    share, captured = _cumulative(-score, weight, outcome)
    grid = np.linspace(0, 1, CURVE_POINTS)
    return {"share": grid.tolist(), "captured": np.interp(grid, share, captured).tolist()}


def lorenz_curve(
    claims: FloatArray, rate: FloatArray, exposure: FloatArray
) -> dict[str, list[float]]:
    """Policies by predicted rate, lowest first: cumulative exposure share vs claims share."""
    share, captured = _cumulative(rate, exposure, claims)
    grid = np.linspace(0, 1, CURVE_POINTS)
    return {"exposure": grid.tolist(), "claims": np.interp(grid, share, captured).tolist()}


def gini(lorenz: dict[str, list[float]]) -> float:
    """1 - 2 * the area under the Lorenz curve: 0 for no ordering, higher is better."""
    x, y = np.asarray(lorenz["exposure"]), np.asarray(lorenz["claims"])
    return float(1 - 2 * np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def _cumulative(
    order: FloatArray, weight: FloatArray, outcome: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Cumulative shares of weight and outcome over rows sorted by `order`, from (0, 0).

    Rows with the same `order` value are pooled into one step: the curve a random order among
    ties gives on average, so ties do not flatter or penalise the model.
    """
    values, group = np.unique(order, return_inverse=True)
    weights = np.bincount(group.ravel(), weights=weight, minlength=len(values))
    outcomes = np.bincount(group.ravel(), weights=outcome, minlength=len(values))
    share = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    captured = np.concatenate([[0.0], np.cumsum(outcomes) / outcomes.sum()])
    return share, captured


def calibration(
    predicted: FloatArray,
    observed: FloatArray,
    weight: FloatArray,
    base_rate: float,
    *,
    by: FloatArray | None = None,
    groups: int = 10,
) -> dict[str, list[float]]:
    """Sums per decile of the score (`by`, else `predicted`): predicted, baseline, observed.

    For a binary model the sums over rows are counts of expected and actual positives; for a
    Poisson model expected and actual claims, with the baseline at the mean rate * exposure.
    """
    order = np.argsort(by if by is not None else predicted, kind="stable")
    parts = np.array_split(order, min(groups, len(order)))  # no empty groups on tiny sets
    weights = np.array([weight[p].sum() for p in parts])
    predicted_sums = np.array([predicted[p].sum() for p in parts])
    observed_sums = np.array([observed[p].sum() for p in parts])
    return {
        "count": [float(len(p)) for p in parts],
        "weight": weights.tolist(),
        "predicted": predicted_sums.tolist(),
        "baseline": (base_rate * weights).tolist(),
        "observed": observed_sums.tolist(),
        "predicted_rate": (predicted_sums / weights).tolist(),
        "observed_rate": (observed_sums / weights).tolist(),
    }


def score_histogram(scores: FloatArray, bins: int = 20) -> ScoreHistogram:
    """Counts of held-out scores in quantile bins (equal counts where the scores allow)."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # every score alike: one bin around it
        edges = np.array([edges[0] - 1e-9, edges[0] + 1e-9])
    counts, _ = np.histogram(scores, bins=edges)
    return ScoreHistogram(edges=edges.tolist(), counts=[int(c) for c in counts])


def importance(names: list[str], gains: FloatArray) -> dict[str, float]:
    """Total gain per feature as a share of all gain, largest first."""
    total = float(gains.sum())
    shares = gains / total if total > 0 else np.zeros_like(gains)
    ranked = sorted(zip(names, shares.tolist(), strict=True), key=lambda kv: -kv[1])
    return {name: float(share) for name, share in ranked}


def capture_at(
    outcome: FloatArray, score: FloatArray, tops: list[float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Share (and count) of the outcome in the top k rows by score (k >= 1) or the top share.

    Returns (model figures, baseline figures); the baseline, ordering no one, captures the
    top's share of the rows. Rows tied with the score at the cut count for their mean outcome
    (what a random order among them gives on average, as the gain curve pools them), so the
    figure does not depend on the order of the rows.
    """
    order = np.argsort(-score, kind="stable")
    ranked, outcomes = score[order], outcome[order]
    total = float(outcome.sum())
    model: dict[str, float] = {}
    baseline: dict[str, float] = {}
    for top in tops:
        count = int(top) if top >= 1 else max(1, round(len(score) * top))
        count = min(count, len(score))
        label = str(int(top)) if top >= 1 else f"{top * 100:.4g}%"
        captured = _captured(ranked, outcomes, count)
        model[f"captured_top_{label}"] = captured
        model[f"capture_top_{label}"] = captured / total if total > 0 else 0.0
        baseline[f"captured_top_{label}"] = total * count / len(score)
        baseline[f"capture_top_{label}"] = count / len(score)
    return model, baseline


def _captured(ranked: FloatArray, outcomes: FloatArray, count: int) -> float:
    """Outcome in the top `count` of rows sorted by score, highest first, ties at the cut
    counted at their mean outcome."""
    cut = ranked[count - 1]
    above = int(np.searchsorted(-ranked, -cut, side="left"))  # rows scored above the cut
    tied = int(np.searchsorted(-ranked, -cut, side="right")) - above
    mean_tied = float(outcomes[above : above + tied].mean())
    return float(outcomes[:above].sum()) + (count - above) * mean_tied
