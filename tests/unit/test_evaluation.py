"""Held-out figures against values worked out by hand on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.training.evaluation import (
    binary_metrics,
    calibration,
    gini,
    importance,
    lorenz_curve,
    poisson_metrics,
    policy_deviance,
    score_histogram,
    top_share_lift,
)


def _a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_gini_of_a_perfect_ordering_is_the_largest_the_claims_allow() -> None:
    # One claim among four policies of a year each, put last by the model: the Lorenz curve
    # stays at 0 until the last quarter, its area is 1/8, so Gini = 1 - 2/8.
    lorenz = lorenz_curve(
        claims=_a(0, 0, 0, 1), rate=_a(0.1, 0.2, 0.3, 0.9), exposure=_a(1, 1, 1, 1)
    )

    assert gini(lorenz) == pytest.approx(0.75)


def test_gini_of_the_reverse_ordering_is_negative_and_of_ties_zero() -> None:
    claims, exposure = _a(0, 0, 0, 1), _a(1, 1, 1, 1)

    # The claim put first: the curve jumps to 1 after a quarter, area 7/8.
    assert gini(lorenz_curve(claims, _a(0.9, 0.3, 0.2, 0.1), exposure)) == pytest.approx(-0.75)
    # A constant rate orders no one: its tied rows are pooled, the curve is the diagonal.
    assert gini(lorenz_curve(claims, _a(0.2, 0.2, 0.2, 0.2), exposure)) == pytest.approx(0.0)


def test_lorenz_curve_accumulates_exposure_not_policies() -> None:
    # The low-rate policy carries 3/4 of the exposure and no claim.
    lorenz = lorenz_curve(claims=_a(0, 2), rate=_a(0.1, 0.5), exposure=_a(0.75, 0.25))

    assert lorenz["exposure"][75] == pytest.approx(0.75)
    assert lorenz["claims"][75] == pytest.approx(0.0)
    assert lorenz["claims"][-1] == pytest.approx(1.0)


def test_lift_and_capture_of_a_known_ranking() -> None:
    # 20 clients, 4 lapses; the 2 highest scores are lapses, so the top 10% holds 2 of 4.
    y = np.zeros(20)
    y[[0, 1, 10, 15]] = 1
    score = np.linspace(1.0, 0.0, 20)

    lift, capture = top_share_lift(y, score, 0.10)

    assert capture == pytest.approx(0.5)
    assert lift == pytest.approx(0.5 / 0.10)  # 100% lapse rate in the top vs 20% overall


def test_policy_deviance_follows_the_formula() -> None:
    counts, expected = _a(0, 1, 2), _a(0.5, 1.0, 1.0)
    by_hand = (2 * 0.5 + 0.0 + 2 * (1 - 2 + 2 * math.log(2))) / 3

    assert policy_deviance(counts, expected) == pytest.approx(by_hand)


def test_poisson_figures_for_model_and_mean_model() -> None:
    claims, rate, exposure = _a(0, 1, 2, 0), _a(0.2, 1.0, 1.5, 0.4), _a(1.0, 1.0, 1.0, 0.5)
    base = 3 / 3.5
    metrics = poisson_metrics(claims, rate, exposure, base)

    # Exposure-weighted deviance of frequencies equals the count deviance per exposure year.
    model_dev = 4 * policy_deviance(claims, rate * exposure) / 3.5
    base_dev = 4 * policy_deviance(claims, base * exposure) / 3.5
    assert metrics["model"]["poisson_deviance"] == pytest.approx(model_dev)
    assert metrics["baseline"]["poisson_deviance"] == pytest.approx(base_dev)
    assert metrics["model"]["d2"] == pytest.approx(1 - model_dev / base_dev)
    assert metrics["model"]["deviance_per_policy_x100"] == pytest.approx(
        100 * policy_deviance(claims, rate * exposure)
    )
    assert metrics["baseline"]["predicted_claims"] == pytest.approx(3.0)
    assert metrics["observed"]["frequency"] == pytest.approx(base)


def test_binary_figures_for_a_perfect_model_and_the_mean_model() -> None:
    y = _a(0, 0, 0, 1, 1, 0, 0, 0, 0, 1)
    score = np.where(y == 1, 0.9, 0.1)

    metrics = binary_metrics(y, score, base_rate=0.3)

    assert metrics["model"]["auc"] == pytest.approx(1.0)
    assert metrics["model"]["top10_capture"] == pytest.approx(1 / 3)
    entropy = -(0.3 * math.log(0.3) + 0.7 * math.log(0.7))
    assert metrics["baseline"]["log_loss"] == pytest.approx(entropy)
    assert metrics["baseline"]["brier"] == pytest.approx(0.3 * 0.7**2 + 0.7 * 0.3**2)
    assert metrics["model"]["brier"] == pytest.approx(0.01)


def test_calibration_sums_by_decile_of_the_score() -> None:
    predicted = np.arange(20, dtype=np.float64) / 20
    observed = (predicted >= 0.5).astype(np.float64)

    table = calibration(predicted, observed, np.ones(20), base_rate=0.5, groups=4)

    assert table["count"] == [5.0, 5.0, 5.0, 5.0]
    assert table["observed"] == [0.0, 0.0, 5.0, 5.0]
    assert table["predicted"][0] == pytest.approx(sum(range(5)) / 20)
    assert table["baseline"] == [2.5, 2.5, 2.5, 2.5]
    assert table["observed_rate"] == [0.0, 0.0, 1.0, 1.0]


def test_score_histogram_holds_every_score() -> None:
    scores = np.random.default_rng(3).random(1000)

    histogram = score_histogram(scores, bins=20)

    assert sum(histogram.counts) == 1000
    assert len(histogram.edges) == 21
    assert max(histogram.counts) - min(histogram.counts) <= 2  # quantile bins: equal counts


def test_score_histogram_of_identical_scores_has_one_bin() -> None:
    histogram = score_histogram(np.full(10, 0.2))

    assert histogram.counts == [10]


def test_importance_is_a_share_of_the_total_gain_largest_first() -> None:
    shares = importance(["a", "b", "c"], _a(1.0, 6.0, 3.0))

    assert list(shares) == ["b", "c", "a"]
    assert shares["b"] == pytest.approx(0.6)
    assert sum(shares.values()) == pytest.approx(1.0)
