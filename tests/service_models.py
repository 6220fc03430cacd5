"""Real service models and a calibrated ruleset for the classification tests.

The three models are trained by the training pipeline on a small synthetic book (a few
seconds), from the example specs the shipped models are trained from; the ruleset is the
shipped one, calibrated on a synthetic book scored by those models.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from app.classification.calibration import book_calibration
from app.cli.rules import write_calibration
from app.demo.synthetic import generate_book
from app.rules.clv_grid import CALIBRATION_FILE
from app.rules.ruleset import CASES_FILE, DEFAULT_RULESET_DIR, RULESET_FILE, TABLE_DIR, Ruleset
from app.serving.predictor import MODELS, Champions
from app.serving.registry import load_champions
from app.serving.repository import ModelRepository
from app.training.fit import train
from app.training.spec import load_spec

SPECS = Path(__file__).resolve().parents[1] / "examples" / "specs"


def train_service_models(root: Path, *, clients: int = 20_000, rounds: int = 40) -> None:
    repository = ModelRepository(root)
    for name in MODELS:
        spec = load_spec(SPECS / f"synthetic-{name}.yaml")
        source = spec.source.model_copy(update={"clients": clients})
        params = {**spec.params, "num_boost_round": rounds, "num_threads": 1}
        spec = spec.model_copy(update={"source": source, "params": params})
        trained = train(spec, spec_dir=SPECS, models_dir=root)
        repository.promote(name, trained.metadata.version)


def copy_ruleset(target: Path) -> Path:
    """The shipped ruleset's files, without its calibration."""
    target.mkdir(parents=True)
    for name in (RULESET_FILE, CASES_FILE):
        shutil.copy(DEFAULT_RULESET_DIR / name, target / name)
    shutil.copytree(DEFAULT_RULESET_DIR / TABLE_DIR, target / TABLE_DIR)
    return target


def calibrate(folder: Path, champions: Champions, *, clients: int = 5000) -> Ruleset:
    ruleset = Ruleset.load(folder)
    book = generate_book(clients, 11, as_of=date.today())
    calibration = book_calibration(
        champions, ruleset, [dict(book.profiles)], as_of=date.today(), source="test book"
    )
    write_calibration(folder, calibration)
    return Ruleset.load(folder)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("service_models")
    train_service_models(root)
    return root


@pytest.fixture(scope="session")
def champions(models_dir: Path) -> Champions:
    return load_champions(models_dir)


@pytest.fixture(scope="session")
def calibrated_rules(tmp_path_factory: pytest.TempPathFactory, champions: Champions) -> Path:
    folder = copy_ruleset(tmp_path_factory.mktemp("rules") / "ruleset")
    calibrate(folder, champions)
    assert (folder / CALIBRATION_FILE).is_file()
    return folder
