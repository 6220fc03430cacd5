"""Where the embedded database lives, so a command can say so before it makes one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from app.db.engine import is_sqlite


def sqlite_file(url: str) -> Path | None:
    """The absolute path of an embedded database file, None for a server or in-memory database."""
    parsed = make_url(url)
    if not is_sqlite(parsed) or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def missing_sqlite_file(url: str) -> Path | None:
    """The embedded database file the URL names when it does not exist yet."""
    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None


def describe(url: str) -> str:
    """The database for a person: the file of an embedded one, else the URL without password."""
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)
