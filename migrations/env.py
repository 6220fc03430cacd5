"""Alembic environment: runs migrations with the sync driver for the configured database."""

from __future__ import annotations

from collections.abc import Callable
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from app.auth import tables as auth_tables
from app.classification import tables as audit_tables
from app.db.base import Base
from app.db.engine import add_sqlite_pragmas, ensure_sqlite_folder, is_sqlite, sync_url
from app.outcomes import tables as outcome_tables
from app.profiles import tables as profile_tables
from app.settings import Settings
from app.signin import tables as signin_tables
from app.strategy import tables as strategy_tables

# Each domain's tables, imported so that Base.metadata holds them all.
TABLE_MODULES = (
    auth_tables,
    audit_tables,
    profile_tables,
    outcome_tables,
    strategy_tables,
    signin_tables,
)

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("database_url") or Settings().database_url_value()


def run_migrations_offline() -> None:
    context.configure(url=str(sync_url(url)), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _exists_on(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Autogenerate compares only what the dialect builds: a PostgreSQL-only index (a
    trigram one, `ddl_if(dialect="postgresql")`) is not missing on SQLite."""

    def include(item: Any, _name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
        if kind == "index" and not reflected:
            only = getattr(getattr(item, "_ddl_if", None), "dialect", None)
            return only is None or only == dialect
        return True

    return include


def run_migrations_online() -> None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    if is_sqlite(url):
        ensure_sqlite_folder(url)
        add_sqlite_pragmas(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=is_sqlite(url),
            include_object=_exists_on(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
