"""Dataset specs: a mistake is reported with the key that holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.errors import ServiceError
from app.training.spec import DEFAULT_PARAMS, load_spec

VALID: dict[str, Any] = {
    "name": "tiny",
    "task": "binary",
    "target": "lapse",
    "source": {"kind": "csv", "path": "rows.csv"},
    "features": [{"name": "age", "type": "numeric"}, {"name": "region", "type": "categorical"}],
}


def _write(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def _error(tmp_path: Path, **changes: Any) -> str:
    with pytest.raises(ServiceError) as caught:
        load_spec(_write(tmp_path, {**VALID, **changes}))
    return caught.value.detail


def test_a_valid_spec_gets_the_default_split_and_parameters(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, {**VALID, "params": {"num_leaves": 7}}))

    params = spec.lightgbm_params()
    assert params["objective"] == "binary"
    assert params["num_leaves"] == 7
    assert params["learning_rate"] == DEFAULT_PARAMS["learning_rate"]
    assert params["deterministic"] is True
    assert spec.rounds() == (1000, 50)
    assert spec.split.kind == "random"
    assert spec.split.share() == 0.15


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"source": {"kind": "csv"}}, "source.path: Field required"),
        ({"source": {"kind": "excel", "path": "x"}}, "source: Input tag 'excel'"),
        ({"task": "regression"}, "task: Input should be 'binary' or 'poisson'"),
        ({"features": [{"name": "age", "type": "number"}]}, "features[0].type"),
        ({"features": []}, "features: List should have at least 1 item"),
        ({"featurs": []}, "featurs: Extra inputs are not permitted"),
        ({"split": {"kind": "column", "column": "year"}}, "split.test_value: Field required"),
        ({"split": {"kind": "random", "test_fraction": 1.5}}, "split.test_fraction"),
        ({"params": {"objective": "tweedie"}}, "params.objective: set by `task`"),
        ({"params": {"n_estimators": 10}}, "params.n_estimators: use params.num_boost_round"),
        ({"params": {"num_boost_round": 0}}, "params.num_boost_round: must be a whole number"),
        ({"params": {"monotone_constraints": [1, 0]}}, "params.monotone_constraints: must be"),
        ({"params": {"num_leave": 2}}, "params.num_leave: not a LightGBM parameter"),
        ({"params": {"learning_rat": 0.5}}, "(did you mean learning_rate?)"),
        ({"params": {"eta": 0.3, "shrinkage_rate": 0.2}}, "params.shrinkage_rate: sets"),
        ({"params": {"application": "binary"}}, "params.application: set by `task`"),
        ({"exposure": "expo"}, "exposure applies to task poisson only"),
        ({"derive": "profile"}, "derive: profile goes with source kind synthetic or profiles"),
        ({"filter": [{"column": "age"}]}, "filter[0]: give at least one of equals"),
        ({"name": "Bad Name"}, "name: String should match pattern"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    assert expected in _error(tmp_path, **changes)


def test_features_must_not_include_the_target(tmp_path: Path) -> None:
    features = [*VALID["features"], {"name": "lapse", "type": "numeric"}]

    assert "features include the target or exposure: lapse" in _error(tmp_path, features=features)


def test_levels_apply_to_categoricals_and_must_not_repeat(tmp_path: Path) -> None:
    numeric = [{"name": "age", "type": "numeric", "levels": ["a"]}]
    repeated = [{"name": "region", "type": "categorical", "levels": ["a", "a"]}]

    assert "feature age: levels apply to categorical" in _error(tmp_path, features=numeric)
    assert "feature region: levels repeat" in _error(tmp_path, features=repeated)


def test_a_synthetic_source_needs_profile_features(tmp_path: Path) -> None:
    source = {"kind": "synthetic", "clients": 100, "seed": 1, "as_of": "2026-06-30"}

    assert "derive: profile goes with" in _error(tmp_path, source=source)


def test_a_file_that_is_not_a_mapping_or_not_yaml_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")

    with pytest.raises(ServiceError, match="mapping of keys"):
        load_spec(listing)
    with pytest.raises(ServiceError, match="not valid YAML"):
        load_spec(broken)
    with pytest.raises(ServiceError, match="cannot read spec"):
        load_spec(tmp_path / "absent.yaml")


def test_an_alias_replaces_the_default_it_stands_for(tmp_path: Path) -> None:
    given = {"eta": 0.3, "min_child_samples": 2000, "subsample": 0.3, "reg_lambda": 100}
    spec = load_spec(_write(tmp_path, {**VALID, "params": given}))

    params = spec.lightgbm_params()
    assert params["learning_rate"] == 0.3
    assert params["min_data_in_leaf"] == 2000
    assert params["bagging_fraction"] == 0.3
    assert params["lambda_l2"] == 100
    assert not {"eta", "min_child_samples", "subsample", "reg_lambda"} & set(params)
