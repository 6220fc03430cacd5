"""The sBG retention fit against Fader & Hardie's published estimates, and CLV's survival
curve with a segment's retention (batch and single-client twins equal)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.classification.clv import customer_lifetime_value
from app.classification.clv_row import customer_lifetime_value_row
from app.classification.retention import Sbg, retention_rate, survival
from app.cli.main import main
from app.errors import ServiceError
from app.rules.parameters import ClvParameters, SegmentRetention
from app.training.retention import client_counts, cohort_counts, fit_sbg, log_likelihood
from tests.unit.test_clv import PARAMS

# "How to project customer retention" (Fader & Hardie, 2007): survivors of 1,000 customers
# acquired at once, at the start of years 0-12, and the estimates fitted on years 0-7.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
PUBLISHED = {  # alpha, beta, log-likelihood
    "regular": (0.704, 1.182, -1680.3),
    "high end": (0.668, 3.806, -1611.2),
}


@pytest.mark.parametrize(("cohort", "survivors"), [("regular", REGULAR), ("high end", HIGH_END)])
def test_the_fit_reproduces_the_published_estimates(cohort: str, survivors: list[int]) -> None:
    sbg, ll = fit_sbg(cohort_counts(np.asarray(survivors[:8], dtype=np.float64)))

    alpha, beta, published_ll = PUBLISHED[cohort]
    assert round(sbg.alpha, 3) == alpha
    assert round(sbg.beta, 3) == beta
    assert round(ll, 1) == published_ll


def test_the_fitted_curve_projects_the_held_out_years_closely() -> None:
    sbg, _ = fit_sbg(cohort_counts(np.asarray(REGULAR[:8], dtype=np.float64)))
    projected = 1000 * survival(sbg, 12)
    # The paper's point: fitted on 7 years, the curve tracks years 8-12 within a few percent.
    assert np.abs(projected[8:] / np.asarray(REGULAR[8:]) - 1).max() < 0.05
    rates = retention_rate(sbg, np.arange(1, 13, dtype=np.float64))
    assert (np.diff(rates) > 0).all()  # retention rises with tenure


def test_per_client_rows_give_the_same_fit_as_cohort_counts() -> None:
    survivors = np.asarray(HIGH_END[:8], dtype=np.float64)
    lost = -np.diff(survivors)
    tenure = np.concatenate([np.repeat(np.arange(1, 8), lost.astype(int)), np.full(491, 7)])
    left = np.concatenate([np.ones(int(lost.sum())), np.zeros(491)])

    by_client, by_cohort = client_counts(tenure, left), cohort_counts(survivors)
    assert log_likelihood(0.5, 2.0, by_client) == pytest.approx(
        log_likelihood(0.5, 2.0, by_cohort), rel=1e-12
    )
    assert fit_sbg(by_client)[0].alpha == pytest.approx(0.668, abs=5e-4)


def test_the_train_command_fits_each_segment_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"cohort": name, "year": t, "active": n}
        for name, counts in (("regular", REGULAR), ("high_end", HIGH_END))
        for t, n in enumerate(counts)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "cohorts.csv", index=False)
    spec = {
        "name": "retention",
        "task": "retention",
        "source": {"kind": "csv", "path": "cohorts.csv"},
        "target": "active",
        "period": "year",
        "segment": "cohort",
        "fit_periods": 7,
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")

    assert (
        main(["train", "--spec", str(tmp_path / "spec.yaml"), "--models-dir", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "high_end: alpha 0.6681, beta 3.8061" in out
    assert "regular: alpha 0.7041, beta 1.1820" in out
    assert "      regular: {alpha: 0.7041, beta: 1.1820}" in out
    folder = next((tmp_path / "retention").iterdir())
    assert {p.name for p in folder.iterdir()} == {"retention.json", "survival.png", "report.html"}

    del spec["period"]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert (
        main(["train", "--spec", str(tmp_path / "spec.yaml"), "--models-dir", str(tmp_path)]) == 2
    )
    assert "give tenure (one row per client) or period" in capsys.readouterr().err


def test_bad_retention_data_is_refused() -> None:
    with pytest.raises(ServiceError, match="never rise"):
        cohort_counts(np.asarray([100.0, 120.0]))
    with pytest.raises(ServiceError, match="at least 1 period"):
        client_counts(np.asarray([0.0, 2.0]), np.asarray([1.0, 0.0]))
    with pytest.raises(ServiceError, match="no client left"):
        fit_sbg(client_counts(np.asarray([3.0, 2.0]), np.asarray([0.0, 0.0])))


WITH_CURVE = dataclasses.replace(
    PARAMS, horizon_years=5, retention={"individual": SegmentRetention(alpha=0.704, beta=1.182)}
)


def _clv(params: ClvParameters, lapse: float, tenure: float, kind: str = "individual") -> float:
    result = customer_lifetime_value(
        params,
        segment=[kind],
        annual_premium=[10_000.0],
        in_force=[True],
        prospect=[False],
        lapse_probability=[lapse],
        expected_claim_frequency=[0.1],
        purchase_probability=[math.nan],
        tenure_years=[tenure],
    )
    return float(result.clv[0])


def test_a_retention_curve_raises_survival_with_tenure_against_the_constant_rate() -> None:
    constant = dataclasses.replace(WITH_CURVE, retention={})
    margin = 10_000 * 0.8 - 0.1 * 5000 - 100
    p, tau, d = 0.2, 3.0, 0.05
    curve = Sbg(0.704, 1.182)
    expected, survived = 0.0, 1.0
    for t in range(1, 6):
        growth = retention_rate(curve, tau + t) / retention_rate(curve, tau + 1)
        survived *= min(1.0, (1 - p) * float(growth))
        expected += survived / (1 + d) ** t
    assert _clv(WITH_CURVE, p, tau) == pytest.approx(margin * expected, rel=1e-12)
    assert _clv(WITH_CURVE, p, tau) > _clv(constant, p, tau)
    # The first year is the client's own; a segment without a curve keeps the constant rate.
    assert _clv(dataclasses.replace(WITH_CURVE, horizon_years=1), p, tau) == pytest.approx(
        margin * (1 - p) / (1 + d)
    )
    assert _clv(WITH_CURVE, p, tau, "corporate") == _clv(constant, p, tau, "corporate")
    assert _clv(WITH_CURVE, p, math.nan) == _clv(constant, p, math.nan)


@settings(max_examples=200, deadline=None)
@given(
    lapse=st.floats(0, 1),
    tenure=st.one_of(st.floats(0, 60), st.just(math.nan)),
    kind=st.sampled_from(["individual", "corporate"]),
)
def test_the_single_client_twin_equals_the_batch(lapse: float, tenure: float, kind: str) -> None:
    inputs: dict[str, Any] = {
        "segment": kind,
        "annual_premium": 10_000.0,
        "in_force": True,
        "prospect": False,
        "lapse_probability": lapse,
        "expected_claim_frequency": 0.1,
        "purchase_probability": math.nan,
        "tenure_years": tenure,
    }
    row = customer_lifetime_value_row(WITH_CURVE, **inputs)
    batch = customer_lifetime_value(WITH_CURVE, **{k: [v] for k, v in inputs.items()})
    assert row.clv == batch.clv[0]


def test_a_book_seen_today_is_fitted_conditionally_on_survival_so_far() -> None:
    rng = np.random.default_rng(5)
    theta = rng.beta(0.7, 1.2, 400_000)
    lifetime = rng.geometric(theta)  # the period at whose end the client leaves
    seen_after = rng.integers(0, 10, theta.size)
    book = lifetime > seen_after  # today's book: the clients still there
    tenure = (seen_after[book] + 1).astype(np.float64)
    left = (lifetime[book] == seen_after[book] + 1).astype(np.float64)

    truncated = fit_sbg(client_counts(tenure, left, seen_after[book].astype(np.float64)))[0]
    naive = fit_sbg(client_counts(tenure, left))[0]

    assert truncated.alpha == pytest.approx(0.7, rel=0.1)
    assert truncated.beta == pytest.approx(1.2, rel=0.1)
    assert abs(naive.alpha / (naive.alpha + naive.beta) - 0.7 / 1.9) > 0.1  # biased without
