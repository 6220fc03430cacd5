"""Train one model version from a dataset spec and write it into the model registry folder.

Load the rows, split them, fit LightGBM with early stopping on the validation rows, judge
the saved model on the held-out test rows against the mean model, and write
`<models_dir>/<name>/<version>/` (model.txt, metadata.json, report.html, plots) atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from app.arrays import FloatArray
from app.errors import ServiceError
from app.serving.metadata import ModelMetadata, RowCounts
from app.training import evaluation, report
from app.training.datasets import PreparedData, prepare
from app.training.sources import load_table
from app.training.spec import DatasetSpec

MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
EARLY_STOPPING_METRIC = {"binary": "binary_logloss", "poisson": "poisson"}


@dataclass(frozen=True, slots=True)
class TrainedVersion:
    folder: Path
    metadata: ModelMetadata


@dataclass(frozen=True, slots=True)
class FittedModel:
    """The model as saved (best iteration, intercept folded in) and the parameters used."""

    booster: lgb.Booster
    text: str
    params: dict[str, Any]
    base_rate: float


def train(
    spec: DatasetSpec,
    *,
    spec_dir: Path,
    models_dir: Path,
    name: str | None = None,
    database_url: str | None = None,
) -> TrainedVersion:
    """Train `spec` into a new version folder of model `name` (default: the spec's name)."""
    started = time.monotonic()
    data = prepare(spec, load_table(spec, spec_dir=spec_dir, database_url=database_url))
    fitted = fit(spec, data)
    metadata = _describe(spec, data, fitted, name=name or spec.name, started=started)
    folder = write_version(models_dir, metadata, fitted.text)
    return TrainedVersion(folder=folder, metadata=metadata)


def _describe(
    spec: DatasetSpec, data: PreparedData, fitted: FittedModel, *, name: str, started: float
) -> ModelMetadata:
    """The version's metadata, with the figures of the saved model on the test rows."""
    metrics, scores = _evaluate(spec, data, fitted)
    created_at = datetime.now(UTC)
    model_sha = hashlib.sha256(fitted.text.encode()).hexdigest()
    gains = fitted.booster.feature_importance(importance_type="gain").astype(np.float64)
    return ModelMetadata(
        name=name,
        version=f"{created_at:%Y%m%dT%H%M%SZ}-{model_sha[:8]}",
        task=spec.task,
        objective=str(fitted.params["objective"]),
        dataset=spec.name,
        target=spec.target,
        exposure=spec.exposure,
        features=data.features,
        params=fitted.params,
        num_trees=fitted.booster.num_trees(),
        rows=RowCounts(train=len(data.fit), validation=len(data.validation), test=len(data.test)),
        metrics=metrics,
        score_histogram=evaluation.score_histogram(scores),
        training_data_sha256=data.sha256(),
        model_sha256=model_sha,
        lightgbm_version=lgb.__version__,
        created_at=created_at,
        importance=evaluation.importance([f.name for f in data.features], gains),
        dropped_rows=data.dropped,
        training_seconds=round(time.monotonic() - started, 1),
        spec=spec.model_dump(mode="json"),
    )


def fit(spec: DatasetSpec, data: PreparedData) -> FittedModel:
    """Fit with early stopping on the validation rows; keep the model at its best iteration.

    Poisson: the offset ln(exposure) + ln(training frequency) goes in as `init_score`, so the
    trees learn each policy's rate relative to the book's. LightGBM skips its own
    boost-from-average when an init score is given; the ln(frequency) part is then added to
    the first tree's leaves, so the saved model alone predicts annual claim rates.
    """
    params = {**spec.lightgbm_params()}
    params.setdefault("metric", EARLY_STOPPING_METRIC[spec.task])
    rounds, patience = spec.rounds()
    base_rate = _base_rate(data)
    offset = _offset(data, base_rate) if spec.task == "poisson" else None
    train_set, valid_set = _datasets(data, offset)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    saved = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    if offset is not None:
        _add_to_first_tree(saved, float(np.log(base_rate)))
    used = {**params, "num_boost_round": rounds, "early_stopping_rounds": patience}
    return FittedModel(saved, saved.model_to_string(), used, base_rate)


def _datasets(data: PreparedData, offset: FloatArray | None) -> tuple[lgb.Dataset, lgb.Dataset]:
    categorical = [j for j, f in enumerate(data.features) if f.type == "categorical"]
    train_set = lgb.Dataset(
        data.x[data.fit],
        data.y[data.fit],
        init_score=None if offset is None else offset[data.fit],
        feature_name=[f.name for f in data.features],
        categorical_feature=categorical or "auto",
        params={"verbosity": -1},
    )
    valid_set = train_set.create_valid(
        data.x[data.validation],
        data.y[data.validation],
        init_score=None if offset is None else offset[data.validation],
    )
    return train_set, valid_set


def _base_rate(data: PreparedData) -> float:
    """The mean model: the training lapse rate, or the training claims per exposure year."""
    y = data.y[data.fit]
    if data.exposure is None:
        return float(y.mean())
    return float(y.sum() / data.exposure[data.fit].sum())


def _offset(data: PreparedData, base_rate: float) -> FloatArray:
    if base_rate <= 0:
        raise ServiceError("target: the training rows hold no claims; a Poisson model needs some")
    exposure = data.exposure if data.exposure is not None else np.ones_like(data.y)
    offset: FloatArray = np.log(exposure) + np.log(base_rate)
    return offset


def _add_to_first_tree(booster: lgb.Booster, bias: float) -> None:
    first = booster.dump_model(num_iteration=1)["tree_info"][0]
    for leaf in range(int(first["num_leaves"])):
        booster.set_leaf_output(0, leaf, booster.get_leaf_output(0, leaf) + bias)


def predict(booster: lgb.Booster, x: FloatArray) -> FloatArray:
    """Probabilities (binary) or annual claim rates (poisson), as the service computes them."""
    scores: FloatArray = np.asarray(booster.predict(x), dtype=np.float64)
    return scores


def _evaluate(
    spec: DatasetSpec, data: PreparedData, fitted: FittedModel
) -> tuple[dict[str, dict[str, Any]], FloatArray]:
    scores = predict(fitted.booster, data.x[data.test])
    y = data.y[data.test]
    if spec.task == "binary":
        return evaluation.binary_metrics(y, scores, fitted.base_rate), scores
    exposure = data.exposure[data.test] if data.exposure is not None else np.ones_like(y)
    return evaluation.poisson_metrics(y, scores, exposure, fitted.base_rate), scores


def write_version(models_dir: Path, metadata: ModelMetadata, model_text: str) -> Path:
    """Write the version into a dot folder beside its final place, then rename it there.

    A reader never sees a half-written version: the folder appears whole or not at all.
    """
    model_dir = models_dir / metadata.name
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / metadata.version
    if final.exists():
        raise ServiceError(f"version folder {final} exists already")
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=model_dir))
    try:
        (staging / MODEL_FILE).write_bytes(model_text.encode())
        (staging / METADATA_FILE).write_text(metadata.model_dump_json(indent=2), encoding="utf-8")
        report.write_report(staging, metadata)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; versions are for every reader
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
