"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import StateDep
from app.errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive. Needs no key and touches nothing else."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is not ready"}})
async def readyz(state: StateDep) -> dict[str, str]:
    """Ready to serve: the database answers. 503 with the reason otherwise."""
    try:
        async with asyncio.timeout(state.settings.database_timeout_seconds):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"the database does not answer: {type(exc).__name__}") from None
    return {"status": "ready", "database": "ok"}
