"""`clientscore score`: any registry version scores a file as its test rows were scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.cli.main import main
from app.serving.repository import ModelRepository
from app.training.datasets import prepare
from app.training.fit import predict
from app.training.sources import load_table
from app.training.spec import load_spec
from tests.unit.test_training import _lapse_frame, _spec, _train


def test_score_writes_the_prediction_and_reasons_equal_to_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _lapse_frame()
    frame.to_csv(tmp_path / "rows.csv", index=False)
    spec_path = _spec(tmp_path, "rows.csv", transforms={"age": {"clip": {"max": 60}}})
    version = _train(spec_path, tmp_path / "models").metadata
    models = ["--models-dir", str(tmp_path / "models")]
    out = tmp_path / "scored.parquet"

    reference = f"tiny@{version.version}"
    argv = ["score", "--model", reference, str(tmp_path / "rows.csv"), "--out", str(out)]
    assert main([*argv, "--reasons", "2", *models]) == 0
    assert f"scored 4,000 rows with tiny {version.version}" in capsys.readouterr().out

    scored = pd.read_parquet(out)
    spec = load_spec(spec_path)
    data = prepare(spec, load_table(spec, spec_dir=tmp_path, database_url=None))
    booster = ModelRepository(tmp_path / "models").load("tiny", version.version).booster
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), predict(booster, data.x))
    assert list(scored.columns[: len(frame.columns)]) == list(frame.columns)
    assert set(scored["reason_1"]) <= {"age", "region", "zone"}
    assert (scored["reason_1_contribution"].abs() >= scored["reason_2_contribution"].abs()).all()

    csv_out = tmp_path / "scored.csv"
    argv = ["score", "--model", "tiny", str(tmp_path / "rows.csv"), "--out", str(csv_out)]
    assert main([*argv, *models, "--threads", "1"]) == 0  # the same predictions on any threads
    again = pd.read_csv(csv_out)
    np.testing.assert_allclose(again["prediction"], scored["prediction"], rtol=1e-15)
    capsys.readouterr()
    assert main([*argv, *models, "--threads", "0"]) == 2
    assert "--threads: give at least 1" in capsys.readouterr().err


def test_score_refuses_a_file_without_the_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    _train(_spec(tmp_path, "rows.csv"), tmp_path / "models")
    _lapse_frame().drop(columns=["zone"]).to_csv(tmp_path / "other.csv", index=False)
    models = ["--models-dir", str(tmp_path / "models")]
    out = ["--out", str(tmp_path / "o.parquet")]

    assert main(["score", "--model", "tiny", str(tmp_path / "other.csv"), *out, *models]) == 2
    assert "FILE: no column zone" in capsys.readouterr().err
    assert main(["score", "--model", "tiny@nope", str(tmp_path / "rows.csv"), *out, *models]) == 2
    assert "no version 'nope'" in capsys.readouterr().err
    bad_out = ["--out", str(tmp_path / "o.xlsx")]
    assert main(["score", "--model", "tiny", str(tmp_path / "rows.csv"), *bad_out, *models]) == 2
    assert "--out: give a .parquet, .csv or .csv.gz" in capsys.readouterr().err
