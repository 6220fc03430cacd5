"""The single-row fast path gives what `Booster.predict` gives, to the last bit.

On the shipped champions with a synthetic book's rows (some values blanked), and on tiny
boosters trained in `tmp_path` with a categorical feature and missing values.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from app.arrays import FloatArray
from app.demo.synthetic import generate_book
from app.serving.fast_predict import FastPredictor
from app.serving.features import SERVICE_FEATURES, Column, encode, profile_features
from app.serving.repository import ModelRepository

MODELS = Path(__file__).resolve().parents[2] / "models"
AS_OF = date(2026, 6, 30)
TINY = {"verbosity": -1, "num_threads": 1, "min_data_in_leaf": 20, "learning_rate": 0.3}


def _with_gaps(x: FloatArray, seed: int) -> FloatArray:
    """The rows, then the same rows with a tenth of the values missing."""
    blanked = x.copy()
    blanked[np.random.default_rng(seed).random(x.shape) < 0.1] = np.nan
    return np.ascontiguousarray(np.vstack([x, blanked]))


def _assert_same_as_booster(booster: lgb.Booster, x: FloatArray) -> None:
    fast = FastPredictor(booster)

    scores = np.array([fast.predict_row(row) for row in x])
    contributions = np.array([fast.contrib_row(row) for row in x])
    # The same rows given as Python floats, packed into the buffer without an array.
    from_values = np.array([fast.predict_values(row.tolist()) for row in x])
    contributions_of_values = np.array([fast.contrib_values(row.tolist()) for row in x])

    np.testing.assert_array_equal(scores, booster.predict(x))
    np.testing.assert_array_equal(contributions, booster.predict(x, pred_contrib=True))
    np.testing.assert_array_equal(from_values, scores)
    np.testing.assert_array_equal(contributions_of_values, contributions)


@pytest.fixture(scope="module")
def book_features() -> dict[str, Column]:
    book = generate_book(300, 5, as_of=AS_OF)
    return profile_features(book.profiles, AS_OF)


@pytest.mark.parametrize("name", sorted(SERVICE_FEATURES))
def test_shipped_champion_scores_and_explains_each_row_as_booster_predict(
    name: str, book_features: dict[str, Column]
) -> None:
    repository = ModelRepository(MODELS)
    version = repository.champion(name)
    assert version is not None
    model = repository.load(name, version)
    x = _with_gaps(encode(book_features, model.metadata.features), seed=1)

    _assert_same_as_booster(model.booster, x)


def _tiny_data(n: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Age, a 4-level region (categorical) and income; NaN in every column."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(18, 80, n), rng.integers(0, 4, n), rng.lognormal(10, 1, n)])
    x[rng.random(x.shape) < 0.1] = np.nan
    region_effect = np.nan_to_num(
        np.array([0.0, 0.8, -0.5, 1.2])[np.nan_to_num(x[:, 1]).astype(int)]
    )
    logit = -1.0 + 0.03 * (np.nan_to_num(x[:, 0], nan=45.0) - 45) + region_effect
    return x, logit


def _tiny_booster(objective: str, tmp_path: Path) -> lgb.Booster:
    """Trained with early stopping, then saved and read back as the service loads a model."""
    x, logit = _tiny_data(3000, seed=0)
    rng = np.random.default_rng(1)
    y = (
        rng.poisson(np.exp(logit))
        if objective == "poisson"
        else rng.random(len(x)) < 1 / (1 + np.exp(-logit))
    )
    fit = lgb.Dataset(x[:2400], y[:2400], categorical_feature=[1], params={"verbosity": -1})
    booster = lgb.train(
        {**TINY, "objective": objective},
        fit,
        num_boost_round=300,
        valid_sets=[fit.create_valid(x[2400:], y[2400:])],
        callbacks=[lgb.early_stopping(10, verbose=False)],
    )
    path = tmp_path / "model.txt"
    booster.save_model(path)
    return lgb.Booster(model_file=path)


@pytest.mark.parametrize("objective", ["binary", "poisson"])
def test_tiny_booster_with_a_categorical_and_missing_values_matches_booster_predict(
    objective: str, tmp_path: Path
) -> None:
    booster = _tiny_booster(objective, tmp_path)
    x, _ = _tiny_data(500, seed=2)
    unseen_level = np.array([[40.0, 7.0, 30000.0], [np.nan, np.nan, np.nan]])

    _assert_same_as_booster(booster, np.vstack([x, unseen_level]))


def test_an_early_stopped_booster_in_memory_predicts_with_its_best_iteration() -> None:
    x, logit = _tiny_data(3000, seed=3)
    y = np.random.default_rng(4).random(len(x)) < 1 / (1 + np.exp(-logit))
    fit = lgb.Dataset(x[:2400], y[:2400], categorical_feature=[1], params={"verbosity": -1})
    booster = lgb.train(
        {**TINY, "objective": "binary"},
        fit,
        num_boost_round=300,
        valid_sets=[fit.create_valid(x[2400:], y[2400:])],
        callbacks=[lgb.early_stopping(5, verbose=False)],
        keep_training_booster=True,  # otherwise only the trees up to the best one are kept
    )
    assert 0 < booster.best_iteration < booster.current_iteration()

    _assert_same_as_booster(booster, x[2400:])


def test_contributions_add_up_to_the_raw_score(tmp_path: Path) -> None:
    booster = _tiny_booster("binary", tmp_path)
    fast = FastPredictor(booster)
    row = _tiny_data(1, seed=5)[0][0]

    contributions = fast.contrib_row(row)

    assert contributions.shape == (booster.num_feature() + 1,)
    raw = booster.predict(row[None, :], raw_score=True)[0]
    assert contributions.sum() == pytest.approx(raw, rel=1e-12, abs=1e-12)


def test_results_do_not_share_a_buffer_with_the_next_call(tmp_path: Path) -> None:
    fast = FastPredictor(_tiny_booster("binary", tmp_path))
    x, _ = _tiny_data(2, seed=6)

    first = fast.contrib_row(x[0])
    kept = first.copy()
    fast.contrib_row(x[1])

    np.testing.assert_array_equal(first, kept)


def test_threads_sharing_one_predictor_get_their_own_rows_results(tmp_path: Path) -> None:
    booster = _tiny_booster("binary", tmp_path)
    fast = FastPredictor(booster)
    x, _ = _tiny_data(4000, seed=7)

    with ThreadPoolExecutor(max_workers=4) as pool:
        scores = list(pool.map(fast.predict_row, x))
        contributions = list(pool.map(fast.contrib_row, x))

    np.testing.assert_array_equal(np.array(scores), booster.predict(x))
    np.testing.assert_array_equal(np.array(contributions), booster.predict(x, pred_contrib=True))


def test_the_predictor_keeps_its_booster_alive(tmp_path: Path) -> None:
    """The C handles point into the booster: dropping the caller's reference must not free it."""
    booster = _tiny_booster("binary", tmp_path)
    x, _ = _tiny_data(5, seed=8)
    expected = booster.predict(x)
    fast = FastPredictor(booster)
    del booster

    np.testing.assert_array_equal([fast.predict_row(row) for row in x], expected)


@pytest.mark.parametrize("shape", [(2,), (4,), (1, 3)])
def test_a_row_of_the_wrong_shape_is_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    fast = FastPredictor(_tiny_booster("binary", tmp_path))

    with pytest.raises(ValueError, match="shape"):
        fast.predict_row(np.zeros(shape))


@pytest.mark.parametrize("size", [0, 2, 4])
def test_values_of_the_wrong_count_are_refused(tmp_path: Path, size: int) -> None:
    fast = FastPredictor(_tiny_booster("binary", tmp_path))

    with pytest.raises(ValueError, match="shape"):
        fast.predict_values([0.0] * size)
    with pytest.raises(ValueError, match="shape"):
        fast.contrib_values([0.0] * size)


def test_a_multiclass_booster_is_refused() -> None:
    x, _ = _tiny_data(300, seed=9)
    y = np.arange(len(x)) % 3
    params = {**TINY, "objective": "multiclass", "num_class": 3}
    booster = lgb.train(params, lgb.Dataset(x, y, params={"verbosity": -1}), num_boost_round=2)

    with pytest.raises(ValueError, match="multiclass"):
        FastPredictor(booster)
