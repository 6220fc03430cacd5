"""Runs the Alembic migrations: the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.db.engine import ensure_sqlite_folder, sync_url

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


def current_revision(database_url: str) -> str | None:
    """The schema revision the database is at; None for a database without the schema."""
    ensure_sqlite_folder(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def schema_tables(database_url: str) -> list[str]:
    """The tables the schema holds, Alembic's own bookkeeping left out."""
    engine = create_engine(sync_url(database_url))
    try:
        names = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    return sorted(name for name in names if name != "alembic_version")
