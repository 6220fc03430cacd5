"""All SQL of call outcomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.outcomes.tables import CallOutcome


async def add(session: AsyncSession, values: dict[str, Any]) -> int:
    """Store one outcome (in the caller's transaction); its new id."""
    outcome_id = await session.scalar(
        insert(CallOutcome).values(values).returning(CallOutcome.outcome_id)
    )
    assert outcome_id is not None
    return int(outcome_id)


async def page(
    session: AsyncSession, *, client_id: str, before_id: int | None, limit: int
) -> list[CallOutcome]:
    """A client's outcomes, newest first."""
    query = (
        select(CallOutcome)
        .where(CallOutcome.client_id == client_id)
        .order_by(CallOutcome.outcome_id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(CallOutcome.outcome_id < before_id)
    return list(await session.scalars(query))
