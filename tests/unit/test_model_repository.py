"""The registry folder: promotion, rollback, the pointer, and the checks a version must pass."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest

from app.errors import Conflict, ModelInvalid, NotFound
from app.serving.metadata import FeatureSpec
from app.serving.registry import SERVICE_MODELS, service_schemas
from app.serving.repository import ChampionPointer, ModelRepository
from tests.model_versions import FALLBACK_FEATURES, corrupt, numeric, write_version


@pytest.fixture
def repository(tmp_path: Path) -> ModelRepository:
    return ModelRepository(tmp_path)


def pointer_bytes(repository: ModelRepository, name: str) -> bytes:
    return (repository.root / name / "champion.json").read_bytes()


def test_versions_sort_by_time_and_skip_temp_folders(repository: ModelRepository) -> None:
    newer = write_version(repository.root, "lapse", seed=2)
    older = write_version(repository.root, "lapse", seed=1)
    (repository.root / "lapse" / ".20270101T000000Z-deadbeef").mkdir()
    (repository.root / "lapse" / "notes.txt").write_text("not a version")
    (repository.root / ".trash").mkdir()
    assert repository.versions("lapse") == [older, newer]
    assert repository.names() == ["lapse"]
    assert repository.champion("lapse") is None
    assert ModelRepository(repository.root / "absent").names() == []


def test_promote_then_rollback_walks_the_history(repository: ModelRepository) -> None:
    first, second, third = (write_version(repository.root, "lapse", seed=s) for s in (1, 2, 3))
    repository.promote("lapse", first, by="cli:tester")
    repository.promote("lapse", second)
    pointer = repository.promote("lapse", third)
    assert (pointer.version, pointer.history) == (third, [second, first])
    assert repository.rollback("lapse") == second
    assert repository.pointer("lapse") == ChampionPointer.model_validate_json(
        pointer_bytes(repository, "lapse")
    )
    assert repository.rollback("lapse") == first
    assert repository.champion("lapse") == first
    with pytest.raises(Conflict, match="no earlier champion to roll back to"):
        repository.rollback("lapse")


def test_promoting_the_champion_again_keeps_the_history(repository: ModelRepository) -> None:
    first, second = (write_version(repository.root, "lapse", seed=s) for s in (1, 2))
    repository.promote("lapse", first)
    repository.promote("lapse", second)
    again = repository.promote("lapse", second, by="api-key:abc")
    assert (again.version, again.history, again.promoted_by) == (second, [first], "api-key:abc")


def test_rollback_without_history_is_a_clear_error(repository: ModelRepository) -> None:
    version = write_version(repository.root, "lapse")
    with pytest.raises(Conflict, match="model 'lapse' has no earlier champion"):
        repository.rollback("lapse")
    repository.promote("lapse", version)
    with pytest.raises(Conflict, match="no earlier champion"):
        repository.rollback("lapse")
    assert repository.champion("lapse") == version


def test_rollback_refuses_a_previous_champion_that_is_now_broken(
    repository: ModelRepository,
) -> None:
    first, second = (write_version(repository.root, "lapse", seed=s) for s in (1, 2))
    repository.promote("lapse", first)
    repository.promote("lapse", second)
    corrupt(repository.root, "lapse", first)
    with pytest.raises(ModelInvalid, match=f"cannot roll back lapse to {first}: .*sha256"):
        repository.rollback("lapse")
    assert repository.champion("lapse") == second


def test_pointer_is_always_whole_json_while_it_changes(repository: ModelRepository) -> None:
    versions = [write_version(repository.root, "lapse", seed=s) for s in (1, 2)]
    repository.promote("lapse", versions[0])
    path = repository.root / "lapse" / "champion.json"
    seen: set[str] = set()
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.add(json.loads(path.read_bytes())["version"])
            except (ValueError, KeyError, FileNotFoundError) as exc:
                failures.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for turn in range(60):
            repository.promote("lapse", versions[turn % 2])
    finally:
        done.set()
        reader.join()
    assert failures == []
    assert seen == set(versions)
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_corrupt_model_file_is_refused_and_champion_unchanged(
    repository: ModelRepository,
) -> None:
    good, bad = (write_version(repository.root, "lapse", seed=s) for s in (1, 2))
    repository.promote("lapse", good)
    before = pointer_bytes(repository, "lapse")
    corrupt(repository.root, "lapse", bad)
    with pytest.raises(ModelInvalid, match=rf"lapse/{bad}: model.txt is corrupt .* sha256"):
        repository.promote("lapse", bad)
    assert pointer_bytes(repository, "lapse") == before


def test_model_text_lightgbm_cannot_read_is_refused(repository: ModelRepository) -> None:
    version = write_version(repository.root, "lapse")
    folder = repository.root / "lapse" / version
    garbage = b"tree\nthis is not a model\n"
    (folder / "model.txt").write_bytes(garbage)
    document = json.loads((folder / "metadata.json").read_text())
    document["model_sha256"] = hashlib.sha256(garbage).hexdigest()
    (folder / "metadata.json").write_text(json.dumps(document))
    with pytest.raises(ModelInvalid, match=r"LightGBM cannot load model\.txt"):
        repository.load("lapse", version)


def test_booster_and_metadata_must_agree_on_features(repository: ModelRepository) -> None:
    version = write_version(
        repository.root,
        "lapse",
        numeric("tenure_years", "annual_premium"),
        booster_features=numeric("tenure_years", "premium"),
    )
    with pytest.raises(
        ModelInvalid,
        match=r"not those in metadata\.json: feature 2 expected annual_premium, found premium",
    ):
        repository.promote("lapse", version)
    assert repository.champion("lapse") is None


def test_feature_schema_must_match_what_the_service_sends(repository: ModelRepository) -> None:
    version = write_version(repository.root, "lapse", FALLBACK_FEATURES)
    as_numeric = [FeatureSpec(name=f.name, type="numeric") for f in FALLBACK_FEATURES]
    with pytest.raises(
        ModelInvalid,
        match="incompatible feature schema: feature 2 expected channel \\(numeric\\), "
        "found channel \\(categorical\\)",
    ):
        repository.promote("lapse", version, expected={"lapse": as_numeric})
    with pytest.raises(ModelInvalid, match="expected 4 features, found 3: missing extra"):
        repository.load(
            "lapse", version, expected={"lapse": [*FALLBACK_FEATURES, *numeric("extra")]}
        )
    # Another model's schema does not apply, and an exact match loads.
    repository.load("lapse", version, expected={"claims": as_numeric})
    assert repository.load("lapse", version, expected={"lapse": FALLBACK_FEATURES}).version == (
        version
    )


def test_unknown_model_or_version_is_not_found(repository: ModelRepository) -> None:
    write_version(repository.root, "lapse")
    with pytest.raises(NotFound, match="model 'lapse' has no version '20990101T000000Z-0'"):
        repository.promote("lapse", "20990101T000000Z-0")
    with pytest.raises(NotFound, match="no model named 'churn'"):
        repository.versions("churn")
    with pytest.raises(NotFound):
        repository.load("lapse", "../lapse")
    with pytest.raises(NotFound):
        repository.metadata("..", "lapse")


def test_bad_metadata_is_refused_with_the_reason(repository: ModelRepository) -> None:
    version = write_version(repository.root, "lapse")
    path = repository.root / "lapse" / version / "metadata.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "name": "claims"}))
    with pytest.raises(ModelInvalid, match=f"describes claims/{version}, not this folder"):
        repository.load("lapse", version)
    path.write_text(json.dumps({k: v for k, v in document.items() if k != "model_sha256"}))
    with pytest.raises(
        ModelInvalid, match=r"metadata\.json is not valid: model_sha256: Field required"
    ):
        repository.load("lapse", version)
    path.unlink()
    with pytest.raises(ModelInvalid, match=r"metadata\.json is missing"):
        repository.load("lapse", version)


def test_a_broken_pointer_is_reported_and_promotion_repairs_it(
    repository: ModelRepository,
) -> None:
    version = write_version(repository.root, "lapse")
    (repository.root / "lapse").joinpath("champion.json").write_text('{"version": ')
    with pytest.raises(ModelInvalid, match=r"lapse/champion\.json is not valid"):
        repository.champion("lapse")
    assert repository.promote("lapse", version).history == []
    assert repository.champion("lapse") == version


def test_service_models_match_the_shared_feature_definitions() -> None:
    schemas = service_schemas()
    if schemas:  # once app.serving.features defines them, the two lists must agree
        assert set(schemas) == set(SERVICE_MODELS)
