"""Runs the Alembic migrations: the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_CANDIDATES = (Path(__file__).resolve().parents[2] / "migrations", Path.cwd() / "migrations")


def alembic_config(database_url: str) -> Config:
    location = next((p for p in _CANDIDATES if (p / "env.py").exists()), None)
    if location is None:
        raise FileNotFoundError("the migrations folder was not found; run from the project root")
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
