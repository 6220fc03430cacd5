"""The three service models trained on small synthetic books, from the example specs.

The book's true structure is known (docs/synthetic-data.md), so each model must beat the mean
model clearly and rely on the drivers the generator made strongest. Thresholds sit well
below the figures measured on books of 40,000 clients with several seeds.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from app.serving.metadata import ModelMetadata
from app.training.datasets import prepare
from app.training.fit import METADATA_FILE, TrainedVersion, predict, train
from app.training.sources import load_table
from app.training.spec import DatasetSpec, load_spec
from tests.service_models import shared_folder

SPECS = Path(__file__).parents[2] / "examples" / "specs"
CLIENTS, SEED = 40_000, 11


def _small(name: str) -> DatasetSpec:
    raw = load_spec(SPECS / f"synthetic-{name}.yaml").model_dump(mode="json")
    raw["source"].update(clients=CLIENTS, seed=SEED)
    return DatasetSpec.model_validate(raw)


class Trained:
    """Each model trained when a test first asks for it, once per run for all test workers."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> None:
        self.tmp_path_factory, self.worker_id = tmp_path_factory, worker_id

    def __getitem__(self, name: str) -> TrainedVersion:
        def make(models: Path) -> None:
            train(_small(name), spec_dir=SPECS, models_dir=models, report=False)

        models = shared_folder(self.tmp_path_factory, self.worker_id, f"synthetic-{name}", make)
        (folder,) = (models / name).iterdir()
        metadata = ModelMetadata.model_validate_json((folder / METADATA_FILE).read_bytes())
        return TrainedVersion(folder=folder, metadata=metadata)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Trained:
    return Trained(tmp_path_factory, worker_id)


def _rank(meta: ModelMetadata, feature: str) -> int:
    return list(meta.importance or {}).index(feature) + 1


def test_lapse_model_beats_the_mean_model_on_missed_payments_and_complaints(
    trained: Trained,
) -> None:
    meta = trained["lapse"].metadata
    model, baseline = meta.metrics["model"], meta.metrics["baseline"]

    assert model["auc"] >= 0.70
    assert model["log_loss"] < 0.95 * baseline["log_loss"]
    assert model["top10_lift"] >= 2.5
    assert _rank(meta, "missed_payments_12m") <= 3
    assert _rank(meta, "complaints_12m") <= 3


def test_claims_model_beats_the_mean_model_on_claim_history_and_industry(
    trained: Trained,
) -> None:
    meta = trained["claims"].metadata
    model = meta.metrics["model"]

    assert model["d2"] >= 0.5
    assert model["gini"] >= 0.55
    assert model["predicted_claims"] == pytest.approx(meta.metrics["observed"]["claims"], rel=0.1)
    assert min(_rank(meta, "claim_count_3y"), _rank(meta, "claims_per_year_insured")) <= 3
    assert _rank(meta, "industry") <= 8


@pytest.mark.parametrize(("zone", "true_ratio"), [("typhoon_zone", 1.49), ("flood_zone", 1.35)])
def test_claims_model_prices_the_risk_zones(trained: Trained, zone: str, true_ratio: float) -> None:
    """Zones add little gain beside the firms' size, but the rate they imply must be there.

    Boosting on 40,000 clients shrinks the effect (measured 1.17-1.29 over four seeds), so
    the check is that the zone raises the rate clearly and not beyond the truth.
    """
    version = trained["claims"]
    spec = _small("claims")
    data = prepare(spec, load_table(spec, spec_dir=SPECS, database_url=None))
    booster = lgb.Booster(model_file=str(version.folder / "model.txt"))
    column = [f.name for f in version.metadata.features].index(zone)
    x = data.x[data.test].copy()

    x[:, column] = 1.0
    in_zone = predict(booster, x)
    x[:, column] = 0.0
    ratio = float(np.mean(in_zone / predict(booster, x)))

    assert 1.1 <= ratio <= true_ratio + 0.15


def test_propensity_model_beats_the_mean_model_on_income_referrals_and_channel(
    trained: Trained,
) -> None:
    meta = trained["propensity"].metadata
    model, baseline = meta.metrics["model"], meta.metrics["baseline"]

    assert model["auc"] >= 0.66
    assert model["log_loss"] < 0.97 * baseline["log_loss"]
    assert _rank(meta, "annual_income") <= 3
    assert _rank(meta, "referrals") <= 6
    assert _rank(meta, "channel") <= len(meta.features) // 2


def test_profile_categoricals_keep_the_enum_order_as_levels(
    trained: Trained,
) -> None:
    features = {f.name: f for f in trained["claims"].metadata.features}

    assert features["kind"].levels == ["individual", "corporate"]
    assert features["property_condition"].levels == ["good", "fair", "poor"]
