"""Training from the stored book (`source: {kind: profiles}`), on SQLite and Postgres.

Stored clients with their outcome rows must give the model exactly the rows the same book
gives straight from the generator: features computed as of each row's `observed_at`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from app.demo.repository import load_book
from app.demo.synthetic import generate_book
from app.errors import ServiceError
from app.training.datasets import prepare
from app.training.fit import train
from app.training.sources import load_table
from app.training.spec import DatasetSpec, load_spec

SPECS = Path(__file__).parents[2] / "examples" / "specs"
AS_OF = datetime.date(2026, 6, 30)
CLIENTS, SEED = 5000, 3


def _spec(name: str, source: dict[str, object]) -> DatasetSpec:
    raw = load_spec(SPECS / f"synthetic-{name}.yaml").model_dump(mode="json")
    raw["source"] = source
    raw["params"] = {"num_boost_round": 30, "min_data_in_leaf": 20}
    return DatasetSpec.model_validate(raw)


@pytest.mark.parametrize("name", ["lapse", "claims", "propensity"])
def test_the_stored_book_gives_the_rows_the_generator_gives(db_url: str, name: str) -> None:
    load_book(db_url, generate_book(CLIENTS, SEED, as_of=AS_OF), observed_at=AS_OF)
    synthetic = _spec(name, {"kind": "synthetic", "clients": CLIENTS, "seed": SEED, "as_of": AS_OF})
    stored = _spec(name, {"kind": "profiles", "database_url": db_url})

    expected = prepare(synthetic, load_table(synthetic, spec_dir=SPECS, database_url=None))
    got = prepare(stored, load_table(stored, spec_dir=SPECS, database_url=None))

    assert got.sha256() == expected.sha256()
    assert got.features == expected.features


def test_a_model_trains_from_the_stored_book_with_the_settings_url(
    db_url: str, tmp_path: Path
) -> None:
    load_book(db_url, generate_book(CLIENTS, SEED, as_of=AS_OF), observed_at=AS_OF)
    spec = _spec("lapse", {"kind": "profiles"})

    meta = train(
        spec, spec_dir=SPECS, models_dir=tmp_path, database_url=db_url, report=False
    ).metadata

    assert meta.rows.train + meta.rows.validation + meta.rows.test > 0.6 * CLIENTS
    assert meta.dropped_rows is not None
    assert meta.dropped_rows["missing_target"] > 0  # prospects and former clients
    assert meta.metrics["model"]["auc"] > 0.6


def test_a_store_without_outcomes_is_reported(db_url: str, tmp_path: Path) -> None:
    spec = _spec("lapse", {"kind": "profiles", "database_url": db_url})

    with pytest.raises(ServiceError, match="no client has an outcome row"):
        train(spec, spec_dir=SPECS, models_dir=tmp_path)
