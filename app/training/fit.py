"""Train one model version from a dataset spec and write it into the model registry folder.

Load the rows, split them, tune and fit LightGBM on the training rows (`boost`, `tune`), judge
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

import numpy as np

from app.arrays import FloatArray
from app.errors import ServiceError
from app.serving.lean_lightgbm import lightgbm as lgb
from app.serving.metadata import ModelMetadata, RowCounts
from app.training import boost, evaluation, tune
from app.training import report as draw
from app.training.datasets import PreparedData, prepare
from app.training.params import conflicts
from app.training.progress import Progress
from app.training.sources import load_table
from app.training.spec import DatasetSpec

MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
CAP_SHARE = 0.95  # a model using this share of its round cap or more is told of it


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
    warnings: list[str]
    rounds_found: dict[str, Any]
    search: dict[str, Any] | None


def train(
    spec: DatasetSpec,
    *,
    spec_dir: Path,
    models_dir: Path,
    name: str | None = None,
    database_url: str | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    report: bool = True,
) -> TrainedVersion:
    """Train `spec` into a new version folder of model `name` (default: the spec's name).

    `progress` tells the trials and rounds as they go (silent by default). `threads`: the
    threads LightGBM runs on (default: the spec's `num_threads`); the model is the same
    whatever their number. `report=False` leaves out report.html and its plots, the slow
    part of writing a version; the model and its metadata are the same either way.
    """
    started = time.monotonic()
    data = prepare(spec, load_table(spec, spec_dir=spec_dir, database_url=database_url))
    fitted = fit(spec, data, progress=progress, threads=threads)
    metadata = _describe(spec, data, fitted, name=name or spec.name)
    folder = write_version(models_dir, metadata, fitted.text, started=started, report=report)
    return TrainedVersion(folder=folder, metadata=metadata.model_copy(update=_read_back(folder)))


def _describe(
    spec: DatasetSpec, data: PreparedData, fitted: FittedModel, *, name: str
) -> ModelMetadata:
    """The version's metadata, with the figures of the saved model on the test rows."""
    metrics, scores = _evaluate(spec, data, fitted)
    created_at = datetime.now(UTC)
    model_sha = hashlib.sha256(fitted.text.encode()).hexdigest()
    refitted = fitted.rounds_found["refit_on_all_training_rows"]
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
        rows=RowCounts(
            train=len(data.fit) + (len(data.validation) if refitted else 0),
            validation=len(data.validation),
            test=len(data.test),
        ),
        metrics=metrics,
        score_histogram=evaluation.score_histogram(scores),
        training_data_sha256=data.sha256(),
        model_sha256=model_sha,
        lightgbm_version=lgb.__version__,
        created_at=created_at,
        importance=evaluation.importance([f.name for f in data.features], gains),
        dropped_rows=data.dropped,
        spec=spec.model_dump(mode="json"),
        warnings=fitted.warnings or None,
        rounds_found=fitted.rounds_found,
        search=fitted.search,
    )


def fit(
    spec: DatasetSpec,
    data: PreparedData,
    *,
    progress: Progress | None = None,
    threads: int | None = None,
) -> FittedModel:
    """The model to save: tuned if the spec says so, its rounds found on the training rows.

    Without `refit`, the booster early-stopped on the validation rows is kept at its best
    iteration. With it (and always with `cv_folds` or `tune`), the rounds found by the
    validation rows or by cross-validation are boosted again on all training rows.
    """
    progress = progress or Progress.silent()
    params = {**spec.lightgbm_params()}
    params.setdefault("metric", boost.EARLY_STOPPING_METRIC[spec.task])
    recorded = params.get("num_threads")
    running = {"num_threads": threads} if threads else {}
    rounds, patience = spec.rounds()
    poisson = spec.task == "poisson"
    found = None
    space_warnings: list[str] = []
    if spec.tune is not None:
        found = tune.search(spec, data, {**params, **running}, progress=progress)
        params = {**params, **found.best_params}
        space_warnings = found.warnings
    booster, judged, rate = None, found.best if found else None, 0.0
    if judged is None:
        shown = progress.rounds("judging:")
        booster, judged, rate = boost.judge(
            {**params, **running},
            data,
            cv_folds=spec.split.cv_folds,
            seed=spec.split.seed,
            rounds=rounds,
            patience=patience,
            poisson=poisson,
            callbacks=[shown] if shown else None,
        )
    refitted = spec.refits() or booster is None
    if refitted:
        every = np.sort(np.concatenate([data.fit, data.validation]))
        shown = progress.rounds("refit on all training rows:")
        booster, rate = boost.refit(
            {**params, **running},
            data,
            every,
            rounds=judged.rounds,
            poisson=poisson,
            callbacks=[shown] if shown else None,
        )
    assert booster is not None
    saved = boost.finish(booster, judged.rounds, rate, poisson=poisson, threads=recorded)
    used = {**params, "num_boost_round": rounds, "early_stopping_rounds": patience}
    own = [w for w in conflicts(params) if not (space_warnings and w.startswith("num_leaves"))]
    warnings = [*space_warnings, *own, *degenerate(saved, judged.rounds, rounds)]
    rounds_found = {
        "metric": judged.metric,
        "score": judged.score,
        "rounds": judged.rounds,
        "judged_by": f"{spec.split.cv_folds}-fold cross-validation on the training rows"
        if spec.split.cv_folds
        else "early stopping on the validation rows",
        "refit_on_all_training_rows": refitted,
    }
    search = found.summary if found else None
    return FittedModel(saved, saved.model_to_string(), used, rate, warnings, rounds_found, search)


def degenerate(booster: lgb.Booster, trees: int, cap: int) -> list[str]:
    """Warnings for a fit that says little: the round cap (nearly) reached, or no split."""
    found = []
    if trees >= CAP_SHARE * cap:
        found.append(
            f"early stopping barely stopped: the model uses {trees:,} of its {cap:,} rounds "
            "(raise params.num_boost_round or params.learning_rate)"
        )
    info = booster.dump_model()["tree_info"]
    if sum(int(tree["num_leaves"]) > 1 for tree in info) == 0:
        found.append(
            "the model makes no split: it predicts the same for every row "
            "(params too restrictive, e.g. min_data_in_leaf, or no signal in the features)"
        )
    elif len(info) == 1:
        found.append("the model is a single tree: early stopping found nothing better")
    return found


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
        metrics = evaluation.binary_metrics(y, scores, fitted.base_rate)
    else:
        exposure = data.exposure[data.test] if data.exposure is not None else np.ones_like(y)
        metrics = evaluation.poisson_metrics(y, scores, exposure, fitted.base_rate)
    if spec.metrics.capture_at:
        model, baseline = evaluation.capture_at(y, scores, spec.metrics.capture_at)
        metrics["model"].update(model)
        metrics["baseline"].update(baseline)
    return metrics, scores


def write_version(
    models_dir: Path,
    metadata: ModelMetadata,
    model_text: str,
    *,
    started: float | None = None,
    report: bool = True,
) -> Path:
    """Write the version into a dot folder beside its final place, then rename it there.

    A reader never sees a half-written version: the folder appears whole or not at all.
    With `started` (a `time.monotonic()` reading), `training_seconds` is the time up to the
    written plots, the slow part of the report.
    """
    model_dir = models_dir / metadata.name
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / metadata.version
    if final.exists():
        raise ServiceError(f"version folder {final} exists already")
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=model_dir))
    try:
        (staging / MODEL_FILE).write_bytes(model_text.encode())
        plots = draw.write_plots(staging, metadata) if report else []
        if started is not None:
            seconds = round(time.monotonic() - started, 1)
            metadata = metadata.model_copy(update={"training_seconds": seconds})
        (staging / METADATA_FILE).write_text(metadata.model_dump_json(indent=2), encoding="utf-8")
        if report:
            draw.write_html(staging, metadata, plots)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; versions are for every reader
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _read_back(folder: Path) -> dict[str, Any]:
    written = ModelMetadata.model_validate_json((folder / METADATA_FILE).read_bytes())
    return {"training_seconds": written.training_seconds}
