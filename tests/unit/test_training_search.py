"""Tuning, cross-validation, refit, validation and test rows by column or file, transforms,
`numeric: rest` and `capture_at`: each spec key on small synthetic files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.errors import ServiceError
from app.serving.features import encode
from app.serving.metadata import ModelMetadata
from app.training import boost
from app.training.datasets import prepare
from app.training.evaluation import capture_at
from app.training.sources import load_table
from app.training.spec import load_spec
from tests.unit.test_training import SMALL, _lapse_frame, _spec, _train

TUNE = {
    "trials": 4,
    "seed": 3,
    "space": {"num_leaves": {"low": 2, "high": 8}, "eta": {"low": 0.05, "high": 0.3, "log": True}},
}
FIXED = {"num_boost_round": 60, "min_data_in_leaf": 20}


@pytest.fixture
def rows(tmp_path: Path) -> str:
    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    return "rows.csv"


def _prepared(spec_path: Path) -> Any:
    spec = load_spec(spec_path)
    return spec, prepare(spec, load_table(spec, spec_dir=spec_path.parent, database_url=None))


def test_tuning_by_cross_validation_refits_on_every_training_row(tmp_path: Path, rows: str) -> None:
    split = {"kind": "random", "validation_fraction": 0, "cv_folds": 3}
    spec = _spec(tmp_path, rows, params=FIXED, tune=TUNE, split=split)
    version = _train(spec, tmp_path / "m", report=True)  # the report shows the search
    meta = version.metadata

    search = meta.search
    assert search is not None
    assert search["trials_run"] == 4
    assert search["judged_by"] == "3-fold cross-validation on the training rows"
    assert [t["number"] for t in search["trials"]] == [0, 1, 2, 3]
    best = min(t["score"] for t in search["trials"])
    assert search["best_score"] == best
    assert search["trials"][-1]["best_so_far"] == best
    assert set(search["best_params"]) == {"num_leaves", "learning_rate"}
    assert meta.params["learning_rate"] == search["best_params"]["learning_rate"]
    assert meta.num_trees == search["best_rounds"]
    assert meta.rows.train == 3200  # all training rows: 4,000 less the 20% test rows
    assert meta.rows.validation == 0
    assert meta.rounds_found is not None
    assert meta.rounds_found["refit_on_all_training_rows"] is True
    report = (version.folder / "report.html").read_text()
    assert "Parameter search" in report
    assert (version.folder / "search.png").is_file()


def test_the_test_rows_never_influence_the_search(tmp_path: Path) -> None:
    frame = _lapse_frame()
    frame.to_csv(tmp_path / "a.csv", index=False)
    test = frame["year"] == 2021
    shuffled = frame.copy()
    shuffled.loc[test, "lapse"] = 1 - shuffled.loc[test, "lapse"]  # other test outcomes
    shuffled.to_csv(tmp_path / "b.csv", index=False)
    split = {"kind": "column", "column": "year", "test_value": 2021}

    # Each into a registry of its own: the same model trained within one second would get the
    # same version name (time and model hash).
    a, b = (
        _train(
            _spec(tmp_path, f, params=FIXED, tune=TUNE, split=split), tmp_path / f"m-{f}"
        ).metadata
        for f in ("a.csv", "b.csv")
    )

    assert a.search is not None
    assert b.search is not None
    assert a.search["trials"] == b.search["trials"]
    assert a.model_sha256 == b.model_sha256
    assert a.metrics["model"]["auc"] != b.metrics["model"]["auc"]


def test_folds_run_two_at_a_time_judge_and_report_as_one_after_another(
    tmp_path: Path, rows: str
) -> None:
    spec, data = _prepared(_spec(tmp_path, rows, params=FIXED, split={"kind": "random"}))
    params = {**spec.lightgbm_params(), "metric": "binary_logloss", "num_threads": 1}
    reported: dict[str, list[tuple[int, float]]] = {"alone": [], "two": []}

    def judged(name: str, lanes: Any) -> Any:
        return boost.cross_validated(
            params, data, data.fit, folds=5, seed=1, rounds=40, patience=10, poisson=False,
            after_fold=lambda k, mean: reported[name].append((k, mean)), lanes=lanes,
        )  # fmt: skip

    one_at_a_time = judged("alone", None)
    two_at_a_time = judged("two", lambda: 2)

    assert two_at_a_time == one_at_a_time
    assert reported["two"] == reported["alone"]
    assert [k for k, _ in reported["alone"]] == [0, 1, 2, 3, 4]


def test_folds_binned_once_judge_as_folds_binned_for_each_trial(tmp_path: Path, rows: str) -> None:
    spec, data = _prepared(_spec(tmp_path, rows, params=FIXED, split={"kind": "random"}))
    params = {**spec.lightgbm_params(), "metric": "binary_logloss", "num_threads": 1}
    binned = boost.Binned.for_space(params, {"num_leaves", "min_data_in_leaf"})
    assert binned is not None
    assert boost.Binned.for_space(params, {"num_leaves", "max_bin"}) is None

    def judged(setting: dict[str, Any], folds: boost.Binned | None) -> boost.Judged:
        base = params if folds is None else folds.params
        return boost.cross_validated(
            {**base, **setting}, data, data.fit, folds=3, seed=1, rounds=40, patience=10,
            poisson=False, lanes=lambda: 2, binned=folds,
        )  # fmt: skip

    for setting in (
        {"num_leaves": 4, "min_data_in_leaf": 30},
        {"num_leaves": 7, "min_data_in_leaf": 5},
    ):
        assert judged(setting, binned) == judged(setting, None)  # the second reuses the bins


def test_a_time_budget_stops_the_search(tmp_path: Path, rows: str) -> None:
    budget = {**TUNE, "trials": 500, "timeout_seconds": 1}
    meta = _train(_spec(tmp_path, rows, params=FIXED, tune=budget), tmp_path / "m").metadata

    assert meta.search is not None
    assert 1 <= meta.search["trials_run"] < 500
    assert meta.search["stopped_by"] == "time budget"


def test_refit_uses_the_rounds_the_validation_rows_chose(tmp_path: Path, rows: str) -> None:
    plain = _train(_spec(tmp_path, rows), tmp_path / "m").metadata
    split = {"kind": "random", "refit": True}
    refitted = _train(_spec(tmp_path, rows, split=split), tmp_path / "m").metadata

    assert refitted.num_trees == plain.num_trees
    assert refitted.rows.train == plain.rows.train + plain.rows.validation
    assert refitted.model_sha256 != plain.model_sha256


def test_validation_rows_by_column_and_test_rows_from_a_file(tmp_path: Path) -> None:
    frame = _lapse_frame()
    frame["holdout"] = np.where(np.arange(len(frame)) % 5 == 0, "yes", "no")
    frame.iloc[:3000].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[3000:].to_csv(tmp_path / "test.csv", index=False)
    source = {"kind": "csv", "path": "train.csv", "test": "test.csv"}
    split = {"kind": "random", "validation_column": "holdout", "validation_value": "yes"}

    spec, data = _prepared(_spec(tmp_path, "", source=source, split=split))

    assert len(data.test) == 1000
    assert list(data.test) == list(range(3000, 4000))
    assert len(data.validation) == 600
    assert (frame["holdout"].to_numpy()[data.validation] == "yes").all()
    assert spec.split.share() == 0


def test_a_test_file_with_other_columns_is_refused_naming_them(tmp_path: Path) -> None:
    frame = _lapse_frame()
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.rename(columns={"age": "years"}).to_csv(tmp_path / "test.csv", index=False)
    source = {"kind": "csv", "path": "train.csv", "test": "test.csv"}

    with pytest.raises(ServiceError, match=r"source.test: .*only in source.path: age; .*years"):
        _prepared(_spec(tmp_path, "", source=source))


def test_transforms_are_recorded_and_applied_when_scoring(tmp_path: Path) -> None:
    frame = _lapse_frame()
    frame["claims"] = np.arange(len(frame)) % 9
    frame.to_csv(tmp_path / "rows.csv", index=False)
    transforms = {"claims": {"clip": {"max": 4}}, "age": {"log": True}}
    features = [{"name": "age", "type": "numeric"}, {"name": "claims", "type": "numeric"}]
    path = _spec(tmp_path, "rows.csv", features=features, transforms=transforms, params=SMALL)

    _, data = _prepared(path)
    assert data.x[:, 1].max() == 4
    np.testing.assert_array_equal(data.x[:, 0], np.log(frame["age"].to_numpy()))

    meta = _train(path, tmp_path / "m").metadata
    stored = ModelMetadata.model_validate_json(meta.model_dump_json())
    assert stored.features[1].transform is not None
    assert stored.features[1].transform.clip is not None
    assert stored.features[1].transform.clip.max == 4
    scored = encode({"age": [0.0, math.e], "claims": [7.0, 2.0]}, stored.features)
    np.testing.assert_array_equal(scored, [[np.nan, 4.0], [1.0, 2.0]])


def test_numeric_rest_takes_every_column_not_otherwise_named(tmp_path: Path) -> None:
    frame = _lapse_frame().assign(extra=1.5, note="x")
    frame.to_csv(tmp_path / "rows.csv", index=False)
    features = {"numeric": "rest", "categorical": ["region"]}

    _, data = _prepared(_spec(tmp_path, "rows.csv", features=features, drop=["note", "year"]))

    assert [(f.name, f.type) for f in data.features] == [
        ("age", "numeric"),
        ("zone", "numeric"),
        ("extra", "numeric"),
        ("region", "categorical"),
    ]
    with pytest.raises(ServiceError, match=r"rest takes text column.*note"):
        _prepared(_spec(tmp_path, "rows.csv", features=features))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tune": {"space": {"num_leave": {"low": 2, "high": 8}}}}, "tune.space.num_leave: not a"),
        ({"tune": {"space": {"num_leaves": {"low": 8, "high": 2}}}}, "low must be below high"),
        ({"tune": {"space": {"n_estimators": {"low": 8, "high": 20}}}}, "tune.space.n_estimator"),
        (
            {"tune": {"space": {"eta": {"choices": [0.1]}}}, "params": {"learning_rate": 0.1}},
            "tune.space.eta: also set in params",
        ),
        ({"transforms": {"region": {"log": True}}}, "transforms.region: applies to numbers"),
        ({"transforms": {"lapse": {"log": True}}}, "transforms.lapse: the target and exposure"),
        ({"transforms": {"age": {}}}, "give clip, log or log1p"),
        ({"transforms": {"nowhere": {"log1p": True}}}, "transforms.nowhere: not a feature"),
        ({"split": {"kind": "random", "validation_fraction": 0}}, "validation_fraction 0 needs"),
        ({"split": {"kind": "random", "cv_folds": 3, "validation_fraction": 0.2}}, "cv_folds uses"),
        ({"split": {"kind": "random", "validation_column": "x"}}, "validation_value go together"),
        ({"features": {"numeric": ["lapse"]}}, "features include the target"),
        ({"metrics": {"capture_at": [12.5]}}, "capture_at: 12.5 is neither"),
        (
            {
                "source": {"kind": "csv", "path": "a.csv", "test": "b.csv"},
                "split": {"kind": "random", "test_fraction": 0.3},
            },
            "drop split.test_fraction",
        ),
    ],
)
def test_bad_new_keys_are_refused_before_any_work(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        load_spec(_spec(tmp_path, "rows.csv", **changes))
    assert expected in caught.value.detail


def test_capture_at_counts_positives_in_the_top_rows_and_share(tmp_path: Path, rows: str) -> None:
    meta = _train(_spec(tmp_path, rows, metrics={"capture_at": [80, 0.1]}), tmp_path / "m").metadata

    model, baseline = meta.metrics["model"], meta.metrics["baseline"]
    assert model["top10_capture"] == model["capture_top_10%"]
    assert 0 < model["captured_top_80"] <= 80
    positives = meta.metrics["observed"]["positives"]
    assert model["capture_top_80"] == pytest.approx(model["captured_top_80"] / positives)
    assert baseline["capture_top_80"] == pytest.approx(80 / 800)


def test_capture_at_counts_rows_tied_at_the_cut_at_their_mean_outcome() -> None:
    outcome = np.array([1.0, 0, 1, 0, 0, 1])
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.1, 0.5])  # four rows tied at 0.5, two of them lapse

    for order in (np.arange(6), np.arange(6)[::-1], np.array([1, 2, 0, 5, 3, 4])):
        model, _ = capture_at(outcome[order], score[order], [2, 3, 5])
        assert model["captured_top_2"] == 1.5
        assert model["captured_top_3"] == 2.0
        assert model["captured_top_5"] == 3.0
