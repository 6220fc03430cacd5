"""All SQL of browser sessions and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    String,
    Table,
    and_,
    bindparam,
    column,
    delete,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import JSON_DOCUMENT
from app.db.hot import Reader, rows_of
from app.db.statements import Statement
from app.signin.tables import SignInAttempt, WebSession

_SESSION = cast(Table, WebSession.__table__)
# A key sign-in's key (the keys' table, read only): whether it still exists and is not
# revoked, and what it may open, read with the session on every page.
_KEY = table(
    "api_key",
    column("key_id", String),
    column("name", String),
    column("scopes", JSON_DOCUMENT),
    column("revoked_at", DateTime(timezone=True)),
)
_KEY_COLUMNS = {"name": "key_name", "scopes": "key_scopes", "revoked_at": "key_revoked_at"}
_PAGE_SESSION = Statement(
    select(_SESSION, *(_KEY.c[name].label(label) for name, label in _KEY_COLUMNS.items()))
    .outerjoin(_KEY, _KEY.c.key_id == _SESSION.c.key_id)
    .where(_SESSION.c.token_sha256 == bindparam("token_sha256"))
)


async def page_session(reader: Reader, token_sha256: str) -> Any | None:
    """The session with its key's name, scopes and revocation (`key_name` null for a person,
    or when the key is gone), one read without a transaction."""
    rows = await rows_of(reader, _PAGE_SESSION(token_sha256=token_sha256))
    return rows[0] if rows else None


async def add_session(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(WebSession).values(values))


async def seen(session: AsyncSession, token_sha256: str, at: datetime) -> None:
    await session.execute(
        update(WebSession).where(WebSession.token_sha256 == token_sha256).values(seen_at=at)
    )


async def delete_session(session: AsyncSession, token_sha256: str) -> bool:
    result = await session.execute(
        delete(WebSession).where(WebSession.token_sha256 == token_sha256)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _matching(id_prefix: str | None, subject: str | None, key_id: str | None) -> Any:
    """Sessions whose id (the start of the token's SHA-256) starts with `id_prefix`, of the
    subject, or of the key: every condition given must hold."""
    conditions = []
    if id_prefix is not None:
        conditions.append(WebSession.token_sha256.startswith(id_prefix, autoescape=True))
    if subject is not None:
        conditions.append(WebSession.subject == subject)
    if key_id is not None:
        conditions.append(WebSession.key_id == key_id)
    return and_(*conditions)


async def list_sessions(
    session: AsyncSession, *, subject: str | None = None, key_id: str | None = None
) -> list[WebSession]:
    query = select(WebSession).order_by(WebSession.created_at)
    if subject is not None or key_id is not None:
        query = query.where(_matching(None, subject, key_id))
    return list(await session.scalars(query))


async def delete_sessions(
    session: AsyncSession,
    *,
    id_prefix: str | None = None,
    subject: str | None = None,
    key_id: str | None = None,
) -> int:
    """Delete the sessions matching; how many."""
    assert id_prefix or subject or key_id, "name what to end"
    result = await session.execute(delete(WebSession).where(_matching(id_prefix, subject, key_id)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_expired(session: AsyncSession, *, now: datetime, idle_since: datetime) -> None:
    await session.execute(
        delete(WebSession).where((WebSession.expires_at <= now) | (WebSession.seen_at < idle_since))
    )
    await session.execute(delete(SignInAttempt).where(SignInAttempt.expires_at <= now))


async def add_attempt(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(SignInAttempt).values(values))


async def take_attempt(session: AsyncSession, state_sha256: str) -> SignInAttempt | None:
    """The attempt, deleted in the same statement: of two callbacks with one state, one wins."""
    found = await session.scalar(
        select(SignInAttempt).where(SignInAttempt.state_sha256 == state_sha256)
    )
    if found is None:
        return None
    result = await session.execute(
        delete(SignInAttempt).where(SignInAttempt.state_sha256 == state_sha256)
    )
    return found if result.rowcount else None  # type: ignore[attr-defined]
