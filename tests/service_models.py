"""Real service models and a calibrated ruleset for the classification tests.

The three models are trained by the training pipeline on a small synthetic book (a few
seconds), from the example specs the shipped models are trained from; the ruleset is the
shipped one, calibrated on a synthetic book scored by those models.

Both are made once per test run: the first test worker to need them builds them in a folder
all workers of the run share, under a file lock; the others wait and read them. Tests only
read them (a test that changes a ruleset copies it first).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

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
        trained = train(spec, spec_dir=SPECS, models_dir=root, report=False)
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


def shared_folder(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    make: Callable[[Path], None],
) -> Path:
    """`<run's temp folder>/<name>`, made by `make(folder)` in the first worker that asks.

    The folder is built beside its final place and renamed there when complete, so a worker
    that died half-way leaves nothing a later one would mistake for finished.
    """
    base = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # pytest-xdist: each worker has a folder in the run's one
        base = base.parent
    folder = base / name
    with FileLock(base / f"{name}.lock"):
        if not folder.is_dir():
            partial = base / f"{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            make(partial)
            partial.rename(folder)
    return folder


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    return shared_folder(tmp_path_factory, worker_id, "service_models", train_service_models)


@pytest.fixture(scope="session")
def champions(models_dir: Path) -> Champions:
    return load_champions(models_dir)


@pytest.fixture(scope="session")
def calibrated_rules(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, champions: Champions
) -> Path:
    def make(folder: Path) -> None:
        calibrate(copy_ruleset(folder / "ruleset"), champions)

    folder = shared_folder(tmp_path_factory, worker_id, "calibrated_rules", make) / "ruleset"
    assert (folder / CALIBRATION_FILE).is_file()
    return folder


@pytest.fixture
def rules_dir(calibrated_rules: Path, tmp_path: Path) -> Path:
    """A copy of the calibrated ruleset of this test's own, which it may change."""
    target = tmp_path / "rules"
    shutil.copytree(calibrated_rules, target)
    return target
