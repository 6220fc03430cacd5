"""SQL for API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tables import ApiKey


async def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def key_ids(session: AsyncSession) -> list[str]:
    """Every stored key id, revoked ones too."""
    return list(await session.scalars(select(ApiKey.key_id)))


async def list_all(session: AsyncSession) -> list[ApiKey]:
    result = await session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id))
    return list(result)


async def revoke(session: AsyncSession, *, key_id: str, at: datetime) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_by_name(session: AsyncSession, *, name: str, at: datetime) -> int:
    result = await session.execute(
        update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).values(revoked_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
