"""Tiny real LightGBM models written as registry versions, the way training writes them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lightgbm
import numpy as np

from app.serving.metadata import FeatureSpec, ModelMetadata, RowCounts, ScoreHistogram
from app.serving.registry import SERVICE_MODELS, service_schemas
from app.serving.repository import ModelRepository

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# What the tests train when `app.serving.features.SERVICE_FEATURES` does not exist.
FALLBACK_FEATURES = (
    FeatureSpec(name="tenure_years", type="numeric"),
    FeatureSpec(name="channel", type="categorical", levels=["agent", "online", "bank"]),
    FeatureSpec(name="annual_premium", type="numeric"),
)


def service_features() -> dict[str, tuple[FeatureSpec, ...]]:
    """The features the service expects of each model, as the running app will check them."""
    return service_schemas() or dict.fromkeys(SERVICE_MODELS, FALLBACK_FEATURES)


def numeric(*names: str) -> tuple[FeatureSpec, ...]:
    return tuple(FeatureSpec(name=n, type="numeric") for n in names)


def train_booster(features: Sequence[FeatureSpec], *, seed: int) -> lightgbm.Booster:
    rng = np.random.default_rng(seed)
    rows = 300
    columns = [
        rng.integers(0, 3, rows).astype(float) if f.type == "categorical" else rng.normal(size=rows)
        for f in features
    ]
    x = np.column_stack(columns)
    y = (x[:, 0] + rng.normal(scale=0.5, size=rows) > np.median(x[:, 0])).astype(float)
    data = lightgbm.Dataset(
        x,
        y,
        feature_name=[f.name for f in features],
        categorical_feature=[f.name for f in features if f.type == "categorical"],
        free_raw_data=False,
    )
    params = {
        "objective": "binary",
        "num_leaves": 4,
        "min_data_in_leaf": 20,
        "verbose": -1,
        "num_threads": 1,
        "seed": seed,
    }
    return lightgbm.train(params, data, num_boost_round=3 + seed % 5)


def write_version(
    root: Path,
    name: str,
    features: Sequence[FeatureSpec] = FALLBACK_FEATURES,
    *,
    seed: int = 0,
    booster_features: Sequence[FeatureSpec] | None = None,
) -> str:
    """Train and write `<root>/<name>/<version>/` via a dot folder and a rename; returns the
    version. `booster_features` trains on other features than metadata.json declares."""
    booster = train_booster(booster_features or features, seed=seed)
    model_bytes = booster.model_to_string().encode()
    sha = hashlib.sha256(model_bytes).hexdigest()
    created_at = T0 + timedelta(minutes=seed)
    version = f"{created_at:%Y%m%dT%H%M%SZ}-{sha[:8]}"
    temp = root / name / f".{version}.partial"
    temp.mkdir(parents=True)
    (temp / "model.txt").write_bytes(model_bytes)
    described = metadata(name, version, features, booster, sha, created_at)
    (temp / "metadata.json").write_text(described.model_dump_json())
    temp.rename(root / name / version)
    return version


def metadata(
    name: str,
    version: str,
    features: Sequence[FeatureSpec],
    booster: lightgbm.Booster,
    sha: str,
    created_at: datetime = T0,
) -> ModelMetadata:
    return ModelMetadata(
        name=name,
        version=version,
        task="binary",
        objective="binary",
        dataset="tiny",
        target="y",
        features=list(features),
        params={"num_leaves": 4},
        num_trees=booster.num_trees(),
        rows=RowCounts(train=200, validation=50, test=50),
        metrics={
            "model": {"auc": 0.71, "log_loss": 0.62},
            "baseline": {"auc": 0.5, "log_loss": 0.69},
            "curves": {"roc": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}},
        },
        score_histogram=ScoreHistogram(edges=[0.0, 0.5, 1.0], counts=[25, 25]),
        training_data_sha256="0" * 64,
        model_sha256=sha,
        lightgbm_version=lightgbm.__version__,
        created_at=created_at,
    )


def service_registry(root: Path, *, seed: int = 0) -> dict[str, str]:
    """A registry folder with a promoted champion for every service model."""
    repository = ModelRepository(root)
    champions = {}
    for name, features in service_features().items():
        version = write_version(root, name, features, seed=seed)
        repository.promote(name, version)
        champions[name] = version
    return champions


def corrupt(root: Path, name: str, version: str) -> None:
    """Change a few bytes of model.txt, as a bad copy would."""
    path = root / name / version / "model.txt"
    text = path.read_bytes()
    path.write_bytes(text.replace(b"tree", b"TREE", 1))


def point_by_hand(root: Path, name: str, version: str) -> None:
    """Rewrite champion.json the way an operator with an editor would: no checks at all."""
    path = root / name / "champion.json"
    pointer = json.loads(path.read_text())
    pointer["history"].insert(0, pointer["version"])
    pointer["version"] = version
    path.write_text(json.dumps(pointer))
