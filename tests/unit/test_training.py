"""The training pipeline on small files: what a version folder holds, splits, Poisson offset,
determinism and the `clientscore train` command. Tiny boosters, trained in `tmp_path`."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import yaml

from app.cli.main import main
from app.errors import ServiceError
from app.serving.metadata import ModelMetadata
from app.training.datasets import prepare
from app.training.fit import TrainedVersion, fit, predict, train
from app.training.progress import Progress
from app.training.sources import load_table
from app.training.spec import DatasetSpec, load_spec

N = 4000
REGIONS = {"north": 0.0, "south": 0.6, "east": -0.4, "west": 1.0}
SMALL = {"num_boost_round": 60, "min_data_in_leaf": 20, "learning_rate": 0.1}


def _lapse_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(list(REGIONS), N, p=[0.4, 0.3, 0.2, 0.1])
    age = rng.integers(18, 80, N).astype(float)
    logit = -2.0 + 0.04 * (age - 45) + np.array([REGIONS[r] for r in region])
    return pd.DataFrame(
        {
            "age": age,
            "region": region,
            "zone": rng.integers(1, 4, N),
            "year": rng.choice([2020, 2021], N),
            "lapse": (rng.random(N) < 1 / (1 + np.exp(-logit))).astype(float),
        }
    )


def _claims_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N * 5)
    expo = rng.uniform(0.05, 1.0, N * 5)
    rate = 0.1 * np.exp(0.8 * x)
    return pd.DataFrame(
        {"x": x, "noise": rng.normal(size=N * 5), "expo": expo, "n": rng.poisson(rate * expo)}
    )


def _spec(tmp_path: Path, data: str, **changes: Any) -> Path:
    body: dict[str, Any] = {
        "name": "tiny",
        "task": "binary",
        "target": "lapse",
        "source": {"kind": "csv", "path": data},
        "features": [
            {"name": "age", "type": "numeric"},
            {"name": "region", "type": "categorical"},
            {"name": "zone", "type": "categorical"},
        ],
        "params": SMALL,
        **changes,
    }
    path = tmp_path / f"{body['name']}-{len(list(tmp_path.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def _train(spec_path: Path, models_dir: Path, *, report: bool = False) -> TrainedVersion:
    """Trains without the report unless the test reads it: drawing the plots is the slow part."""
    spec = load_spec(spec_path)
    return train(spec, spec_dir=spec_path.parent, models_dir=models_dir, report=report)


@pytest.fixture
def lapse_csv(tmp_path: Path) -> str:
    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    return "rows.csv"


@pytest.fixture(scope="module")
def lapse_version(tmp_path_factory: pytest.TempPathFactory) -> TrainedVersion:
    """One version the read-only tests share: training is the slow part."""
    folder = tmp_path_factory.mktemp("lapse")
    _lapse_frame().to_csv(folder / "rows.csv", index=False)
    return _train(_spec(folder, "rows.csv"), folder / "models", report=True)


def test_a_version_folder_holds_model_metadata_report_and_plots(
    lapse_version: TrainedVersion,
) -> None:
    folder, meta = lapse_version.folder, lapse_version.metadata

    assert folder.parent.name == "tiny"
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", meta.version)
    assert meta.version.endswith(meta.model_sha256[:8])
    model_bytes = (folder / "model.txt").read_bytes()
    assert hashlib.sha256(model_bytes).hexdigest() == meta.model_sha256
    assert ModelMetadata.model_validate_json((folder / "metadata.json").read_bytes()) == meta
    for plot in ("roc.png", "calibration.png", "gain.png", "importance.png", "score_histogram.png"):
        assert (folder / plot).read_bytes().startswith(b"\x89PNG")
        assert f'src="{plot}"' in (folder / "report.html").read_text(encoding="utf-8")
    assert [p.name for p in folder.parent.iterdir()] == [meta.version]  # no temp folder left
    assert meta.rows.train + meta.rows.validation + meta.rows.test == N
    assert meta.num_trees == lgb.Booster(model_str=model_bytes.decode()).num_trees()
    assert sum(meta.score_histogram.counts) == meta.rows.test


def test_levels_are_the_training_values_by_frequency(lapse_version: TrainedVersion) -> None:
    meta = lapse_version.metadata
    region = next(f for f in meta.features if f.name == "region")

    assert region.levels == ["north", "south", "east", "west"]
    assert meta.features[2].levels is not None
    assert sorted(meta.features[2].levels) == ["1", "2", "3"]


def test_the_model_beats_the_mean_model_on_held_out_rows(lapse_version: TrainedVersion) -> None:
    meta = lapse_version.metadata
    model, baseline = meta.metrics["model"], meta.metrics["baseline"]

    assert model["auc"] > 0.6
    assert model["log_loss"] < baseline["log_loss"]
    assert model["brier"] < baseline["brier"]
    assert meta.importance is not None
    assert next(iter(meta.importance)) in {"age", "region"}


def test_gzip_csv_and_parquet_give_the_same_data_and_model(tmp_path: Path) -> None:
    frame = _lapse_frame()
    frame.to_csv(tmp_path / "rows.csv.gz", index=False)
    frame.to_parquet(tmp_path / "rows.parquet")
    parquet_source = {"kind": "parquet", "path": "rows.parquet"}

    from_csv = _train(_spec(tmp_path, "rows.csv.gz"), tmp_path / "a").metadata
    from_parquet = _train(_spec(tmp_path, "", source=parquet_source), tmp_path / "b").metadata

    assert from_csv.training_data_sha256 == from_parquet.training_data_sha256
    assert from_csv.model_sha256 == from_parquet.model_sha256


def test_training_twice_gives_the_identical_model_and_figures(
    tmp_path: Path, lapse_csv: str, lapse_version: TrainedVersion
) -> None:
    """The same rows and spec as `lapse_version`, trained again, here without the report."""
    first = lapse_version.metadata
    again = _train(_spec(tmp_path, lapse_csv), tmp_path / "b")
    second = again.metadata

    assert first.model_sha256 == second.model_sha256
    assert first.training_data_sha256 == second.training_data_sha256
    assert first.metrics == second.metrics
    assert sorted(p.name for p in again.folder.iterdir()) == ["metadata.json", "model.txt"]


def test_a_column_split_holds_out_the_rows_with_the_test_value(
    tmp_path: Path, lapse_csv: str
) -> None:
    split = {"kind": "column", "column": "year", "test_value": 2021}

    meta = _train(_spec(tmp_path, lapse_csv, split=split), tmp_path / "models").metadata

    assert meta.rows.test == int((_lapse_frame()["year"] == 2021).sum())
    assert meta.rows.validation == round(0.15 * (N - meta.rows.test))


def test_filtered_rows_and_rows_without_target_are_dropped_and_counted(tmp_path: Path) -> None:
    frame = _lapse_frame()
    frame.loc[:99, "lapse"] = np.nan
    frame.to_csv(tmp_path / "rows.csv", index=False)
    row_filter = [{"column": "region", "one_of": ["north", "south"]}]

    meta = _train(_spec(tmp_path, "rows.csv", filter=row_filter), tmp_path / "m").metadata

    kept = frame["region"].isin(["north", "south"])
    assert meta.dropped_rows == {
        "filtered_out": int((~kept).sum()),
        "missing_target": int((kept & frame["lapse"].isna()).sum()),
    }
    assert meta.rows.train + meta.rows.validation + meta.rows.test == int(
        (kept & frame["lapse"].notna()).sum()
    )
    region = next(f for f in meta.features if f.name == "region")
    assert region.levels == ["north", "south"]


def test_a_missing_column_or_a_bad_target_is_reported_by_key(
    tmp_path: Path, lapse_csv: str
) -> None:
    features = [{"name": "agee", "type": "numeric"}]
    with pytest.raises(ServiceError, match="features: no column agee in the data; it has: age"):
        _train(_spec(tmp_path, lapse_csv, features=features), tmp_path / "m")
    region = [{"name": "region", "type": "categorical"}]
    with pytest.raises(ServiceError, match="target: age must be 0 or 1"):
        _train(_spec(tmp_path, lapse_csv, target="age", features=region), tmp_path / "m")
    with pytest.raises(ServiceError, match=r"source\.path: no file at"):
        _train(_spec(tmp_path, "absent.csv"), tmp_path / "m")


def _claims_spec(tmp_path: Path) -> DatasetSpec:
    _claims_frame().to_csv(tmp_path / "claims.csv", index=False)
    spec_path = _spec(
        tmp_path,
        "claims.csv",
        name="freq",
        task="poisson",
        target="n",
        exposure="expo",
        features=[{"name": "x", "type": "numeric"}, {"name": "noise", "type": "numeric"}],
    )
    return load_spec(spec_path)


def test_poisson_offset_predicts_annual_rates_that_add_up_to_the_claims(tmp_path: Path) -> None:
    spec = _claims_spec(tmp_path)
    data = prepare(spec, load_table(spec, spec_dir=tmp_path, database_url=None))
    assert data.exposure is not None

    fitted = fit(spec, data)
    rate = predict(fitted.booster, data.x[data.fit])

    # The saved model alone (no offset at predict time) gives claims per year of cover.
    expected = rate * data.exposure[data.fit]
    assert expected.sum() == pytest.approx(data.y[data.fit].sum(), rel=0.01)
    true_rate = 0.1 * np.exp(0.8 * data.x[data.fit, 0])
    assert np.median(rate / true_rate) == pytest.approx(1.0, abs=0.1)


def test_a_poisson_version_reports_deviance_against_the_mean_frequency(tmp_path: Path) -> None:
    spec = _claims_spec(tmp_path)

    meta = train(spec, spec_dir=tmp_path, models_dir=tmp_path / "m").metadata

    assert meta.exposure == "expo"
    assert meta.objective == "poisson"
    assert meta.metrics["model"]["d2"] > 0.05
    assert meta.metrics["model"]["gini"] > 0.2
    model_dev = meta.metrics["model"]["poisson_deviance"]
    assert model_dev < meta.metrics["baseline"]["poisson_deviance"]
    assert list(meta.importance or {}) == ["x", "noise"]
    assert {"lorenz.png", "calibration.png"} <= {
        p.name for p in (tmp_path / "m" / "freq").glob("*/*")
    }


def test_the_train_command_prints_a_summary_and_can_promote(
    tmp_path: Path, lapse_csv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.serving.repository import ModelRepository

    models = tmp_path / "models"
    spec = _spec(tmp_path, lapse_csv)
    command = ["train", "--spec", str(spec), "--models-dir", str(models), "--no-report"]

    assert main([*command, "--name", "t2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"trained t2 \S+ in [\d.]+ s", out)
    assert re.search(r"auc +0\.\d+ +0\.5", out)
    assert ModelRepository(models).champion("t2") is None
    (folder,) = (models / "t2").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "model.txt"]

    assert main([*command, "--promote"]) == 0
    version = ModelRepository(models).versions("tiny")[-1]
    assert ModelRepository(models).champion("tiny") == version
    assert f"promoted: tiny now serves {version}" in capsys.readouterr().out


def test_the_train_command_reports_a_bad_spec_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path, "rows.csv", params={"objective": "tweedie"})

    assert main(["train", "--spec", str(spec), "--models-dir", str(tmp_path)]) == 2
    assert "params.objective: set by `task`" in capsys.readouterr().err


def test_conflicts_and_degenerate_fits_are_warned_in_output_metadata_and_report(
    tmp_path: Path, lapse_csv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    capped = {**SMALL, "num_boost_round": 5, "num_leaves": 63, "max_depth": 3}
    spec = _spec(tmp_path, lapse_csv, params=capped)

    assert main(["train", "--spec", str(spec), "--models-dir", str(models)]) == 0
    out = capsys.readouterr().out
    assert "warning: num_leaves 63 cannot be reached with max_depth 3" in out
    assert "warning: early stopping barely stopped: the model uses 5 of its 5 rounds" in out
    folder = next((models / "tiny").iterdir())
    metadata = ModelMetadata.model_validate_json((folder / "metadata.json").read_bytes())
    assert metadata.warnings is not None
    assert len(metadata.warnings) == 2
    assert "cannot be reached with max_depth 3" in (folder / "report.html").read_text()

    stump = _train(_spec(tmp_path, lapse_csv, params={**SMALL, "min_data_in_leaf": 4000}), models)
    assert stump.metadata.warnings is not None
    assert any("makes no split" in w for w in stump.metadata.warnings)
    assert stump.metadata.metrics["model"]["auc"] == 0.5


def test_training_seconds_include_the_written_report(lapse_version: TrainedVersion) -> None:
    written = ModelMetadata.model_validate_json(
        (lapse_version.folder / "metadata.json").read_bytes()
    )
    assert written.training_seconds is not None
    assert written.training_seconds == lapse_version.metadata.training_seconds


def test_progress_writes_the_validation_metric_every_few_rounds(
    tmp_path: Path, lapse_csv: str
) -> None:
    spec_path = _spec(tmp_path, lapse_csv, params={**SMALL, "early_stopping_rounds": 60})
    spec = load_spec(spec_path)
    log = io.StringIO()  # not a terminal: lines all the same, and no live bar

    train(
        spec, spec_dir=tmp_path, models_dir=tmp_path / "models", progress=Progress(log, period=25)
    )

    text = log.getvalue()
    assert re.search(r"judging: round 25/60: binary_logloss 0\.\d+ \([\d.]+ s\)\n", text)
    assert "\r" not in text


def test_the_model_is_the_same_whatever_the_threads_it_ran_on(
    tmp_path: Path, lapse_csv: str
) -> None:
    spec = load_spec(_spec(tmp_path, lapse_csv))
    shas = {
        train(
            spec, spec_dir=tmp_path, models_dir=tmp_path / f"m{n}", threads=n
        ).metadata.model_sha256
        for n in (1, 2, 3)
    }
    assert len(shas) == 1
    (folder,) = (tmp_path / "m1" / "tiny").iterdir()
    assert "[num_threads: 2]" in (folder / "model.txt").read_text()  # the spec's, as recorded
