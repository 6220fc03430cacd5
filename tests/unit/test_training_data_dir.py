"""Where a spec's data file is: `${CLIENTSCORE_DATA_DIR:-default}` in `source.path`, set by the
environment or by `clientscore train --data-dir`. Small synthetic CSV files in `tmp_path`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from app.cli.main import main
from app.errors import ServiceError
from app.training.sources import load_table
from app.training.spec import DATA_DIR_VARIABLE, expand_path, load_spec

TEMPLATE = "${CLIENTSCORE_DATA_DIR:-default-data}/rows.csv"


def _rows(folder: Path, n: int) -> Path:
    """A CSV of `n` rows: a binary target that depends on `age`."""
    rng = np.random.default_rng(n)
    age = rng.integers(18, 80, n).astype(float)
    lapse = rng.random(n) < 1 / (1 + np.exp(-0.05 * (age - 45)))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rows.csv"
    pd.DataFrame({"age": age, "lapse": lapse.astype(float)}).to_csv(path, index=False)
    return path


def _spec(folder: Path, data_path: str = TEMPLATE) -> Path:
    body = {
        "name": "tiny",
        "task": "binary",
        "target": "lapse",
        "source": {"kind": "csv", "path": data_path},
        "features": [{"name": "age", "type": "numeric"}],
        "params": {"num_boost_round": 20, "min_data_in_leaf": 20},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def _row_count(spec_path: Path, environ: dict[str, str]) -> int:
    spec = load_spec(spec_path, environ)
    return len(load_table(spec, spec_dir=spec_path.parent, database_url=None)["lapse"])


@pytest.fixture(autouse=True)
def _no_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """The spec in `specs/`, with 300 rows in its default folder `specs/default-data`."""
    _rows(tmp_path / "specs" / "default-data", 300)
    return _spec(tmp_path / "specs")


def test_the_default_folder_is_read_from_the_spec_folder_when_the_variable_is_unset(
    spec: Path,
) -> None:
    assert _row_count(spec, {}) == 300
    assert _row_count(spec, {DATA_DIR_VARIABLE: ""}) == 300  # empty counts as unset


def test_the_variable_points_the_spec_at_another_copy(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = _rows(tmp_path / "mine", 400)

    assert _row_count(spec, {DATA_DIR_VARIABLE: str(mine.parent)}) == 400
    # A relative value is read from the current directory, as a path typed in a shell.
    monkeypatch.chdir(tmp_path)
    assert _row_count(spec, {DATA_DIR_VARIABLE: "mine"}) == 400
    # The process environment is what `load_spec` reads by default.
    monkeypatch.setenv(DATA_DIR_VARIABLE, "mine")
    assert load_spec(spec).source.path == tmp_path / "mine" / "rows.csv"  # type: ignore[union-attr]


def test_the_train_command_reads_the_data_dir_option_before_the_variable(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_variable = _rows(tmp_path / "variable", 400)
    from_option = _rows(tmp_path / "option", 500)
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(from_variable.parent))
    models = tmp_path / "models"

    argv = ["train", "--spec", str(spec), "--models-dir", str(models)]
    assert main([*argv, "--data-dir", str(from_option.parent)]) == 0

    (version,) = (models / "tiny").glob("*/metadata.json")
    metadata = json.loads(version.read_text(encoding="utf-8"))
    assert metadata["spec"]["source"]["path"] == str(from_option)
    assert sum(metadata["rows"][part] for part in ("train", "validation", "test")) == 500


def test_a_missing_file_names_the_path_and_the_variable(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "specs")

    with pytest.raises(ServiceError) as unset:
        _row_count(spec, {})
    detail = str(unset.value)
    assert f"no file at {tmp_path / 'specs' / 'default-data' / 'rows.csv'}" in detail
    assert f"{DATA_DIR_VARIABLE} is not set" in detail
    assert "--data-dir" in detail

    with pytest.raises(ServiceError) as elsewhere:
        _row_count(spec, {DATA_DIR_VARIABLE: str(tmp_path / "empty")})
    detail = str(elsewhere.value)
    assert f"no file at {tmp_path / 'empty' / 'rows.csv'}" in detail
    assert f"{DATA_DIR_VARIABLE} (or --data-dir) is {tmp_path / 'empty'}" in detail


def test_the_train_command_reports_a_missing_file_with_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path / "specs")

    assert main(["train", "--spec", str(spec), "--models-dir", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err
    assert "default-data/rows.csv" in err
    assert f"{DATA_DIR_VARIABLE} is not set" in err
    assert not (tmp_path / "models").exists()


def test_the_data_dir_option_must_be_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path / "specs")
    argv = ["train", "--spec", str(spec), "--data-dir", str(tmp_path / "nowhere")]

    assert main(argv) == 2
    assert f"--data-dir: no folder at {tmp_path / 'nowhere'}" in capsys.readouterr().err


def test_a_variable_without_a_default_must_be_set(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "${CLIENTSCORE_DATA_DIR}/rows.csv")

    with pytest.raises(ServiceError, match=r"source\.path: .*CLIENTSCORE_DATA_DIR is not set"):
        load_spec(spec, {})
    mine = _rows(tmp_path / "mine", 300)
    assert _row_count(spec, {DATA_DIR_VARIABLE: str(mine.parent)}) == 300


def test_only_the_two_shell_forms_are_expanded() -> None:
    assert expand_path("/data/rows.csv", {}) == ("/data/rows.csv", "")
    assert expand_path("/d/${A}/x-${B:-b}.csv", {"A": "a"})[0] == "/d/a/x-b.csv"
    with pytest.raises(ValueError, match=r"write a variable as \$\{NAME\}"):
        expand_path("${CLIENTSCORE_DATA_DIR/rows.csv", {})
    with pytest.raises(ValueError, match="write a variable as"):
        expand_path("${1X}/rows.csv", {})


def test_a_missing_file_says_where_to_download_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "specs")
    raw = yaml.safe_load(spec.read_text(encoding="utf-8"))
    raw["source"]["download"] = "https://example.org/rows.csv"
    spec.write_text(yaml.safe_dump(raw), encoding="utf-8")

    with pytest.raises(ServiceError) as missing:
        _row_count(spec, {DATA_DIR_VARIABLE: str(tmp_path)})
    assert "; download it from https://example.org/rows.csv)" in str(missing.value)


SPECS = Path(__file__).parents[2] / "examples" / "specs"
PUBLIC = sorted(p for p in SPECS.glob("*.yaml") if DATA_DIR_VARIABLE in p.read_text("utf-8"))


def test_the_public_data_specs_are_found() -> None:
    assert [p.name for p in PUBLIC] == [
        "bemtpl97-claims.yaml",
        "eudirectlapse-tuned.yaml",
        "eudirectlapse.yaml",
    ]


@pytest.mark.parametrize("spec", PUBLIC, ids=lambda p: p.stem)
def test_a_public_data_spec_without_its_folder_names_the_file_the_option_and_the_source(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No folder outside the repository is assumed: the user gives `--data-dir`."""
    assert main(["train", "--spec", str(spec)]) == 2
    err = capsys.readouterr().err
    file = Path(yaml.safe_load(spec.read_text("utf-8"))["source"]["path"]).name
    assert f"${{{DATA_DIR_VARIABLE}}}/{file}: {DATA_DIR_VARIABLE} is not set" in err
    assert "--data-dir DIR" in err
    assert "download it from the CASdatasets R package (http://cas.uqam.ca/pub/R/)" in err
