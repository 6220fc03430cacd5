"""The champions shipped in `models/` are what their recorded spec trains, to the last digit."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.serving.features import SERVICE_FEATURES
from app.serving.repository import ModelRepository
from app.training.fit import train
from app.training.spec import DatasetSpec

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("name", sorted(SERVICE_FEATURES))
def test_each_service_model_has_a_champion_that_loads_with_the_service_features(name: str) -> None:
    repository = ModelRepository(MODELS)
    version = repository.champion(name)
    assert version is not None, f"models/{name} has no champion"
    loaded = repository.load(name, version, expected=SERVICE_FEATURES)
    assert loaded.metadata.spec is not None
    assert loaded.metadata.spec["source"]["kind"] == "synthetic"


@pytest.mark.slow  # a 200,000-client book per model: `make reproduce`
@pytest.mark.parametrize("name", sorted(SERVICE_FEATURES))
def test_retraining_from_the_recorded_spec_and_seed_reproduces_the_champion(
    name: str, tmp_path: Path
) -> None:
    repository = ModelRepository(MODELS)
    version = repository.champion(name)
    assert version is not None
    shipped = repository.metadata(name, version)
    assert shipped.spec is not None
    spec = DatasetSpec.model_validate(shipped.spec)

    again = train(spec, spec_dir=tmp_path, models_dir=tmp_path, name=name, report=False).metadata

    assert again.training_data_sha256 == shipped.training_data_sha256
    assert again.model_sha256 == shipped.model_sha256
    assert again.num_trees == shipped.num_trees
    for side in ("model", "baseline"):
        for figure, value in shipped.metrics[side].items():
            if isinstance(value, float):
                assert again.metrics[side][figure] == pytest.approx(value, rel=1e-9), figure
