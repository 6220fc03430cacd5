"""All SQL of browser sessions and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.signin.tables import SignInAttempt, WebSession


async def add_session(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(WebSession).values(values))


async def get_session(session: AsyncSession, token_sha256: str) -> WebSession | None:
    return await session.get(WebSession, token_sha256)


async def seen(session: AsyncSession, token_sha256: str, at: datetime) -> None:
    await session.execute(
        update(WebSession).where(WebSession.token_sha256 == token_sha256).values(seen_at=at)
    )


async def delete_session(session: AsyncSession, token_sha256: str) -> bool:
    result = await session.execute(
        delete(WebSession).where(WebSession.token_sha256 == token_sha256)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
