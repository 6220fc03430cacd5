"""The migrations build the schema from empty, match the table models, and downgrade back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from app.db.migrate import alembic_config, downgrade, upgrade
from tests.conftest import scratch_postgres, sync_engine

TABLES = {
    "alembic_version",
    "api_key",
    "client",
    "client_personal",
    "client_outcome",
    "classification_audit",
    "call_outcome",
    "offer_answer",
    "offer_event",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with scratch_postgres("clientscore_migrate") as url:
            yield url


def tables(url: str) -> set[str]:
    engine = sync_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_from_empty_matches_the_models_and_downgrades_to_nothing(empty_url: str) -> None:
    assert tables(empty_url) == set()
    upgrade(empty_url)
    assert tables(empty_url) == TABLES
    # Autogenerate finds nothing to add: the migrations and the table models agree.
    command.check(alembic_config(empty_url))
    downgrade(empty_url, "base")
    assert tables(empty_url) == {"alembic_version"}
    upgrade(empty_url)
    assert tables(empty_url) == TABLES
