"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import StateDep
from app.api.state import AppState
from app.errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive. Needs no key and touches nothing else."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "database": "ok",
                        "models": {"lapse": "20261123T120000Z-1a2b3c4d"},
                        "ruleset": "rs-0123456789ab",
                    }
                }
            }
        },
        503: {"description": "A dependency is not ready"},
    },
)
async def readyz(state: StateDep) -> dict[str, object]:
    """Ready to serve: the database answers, every service model has a loaded champion and a
    ruleset calibrated to the book is active.

    503 naming each missing part otherwise. `model_errors` lists versions this worker refused
    while it keeps serving the champion before them.
    """
    database = await _database_problem(state)
    problems = [database] if database else []
    missing = state.registry.missing()
    if missing:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in missing.items())
        problems.append(f"no champion loaded for {', '.join(missing)} ({reasons})")
    problems.extend(_rules_problems(state))
    if problems:
        raise Unavailable("; ".join(problems))
    slots = state.registry.states
    body: dict[str, object] = {
        "status": "ready",
        "database": "ok",
        "models": {n: s.served.version for n, s in sorted(slots.items()) if s.served},
        "ruleset": state.rules.current().version,
    }
    errors = {n: s.error for n, s in sorted(slots.items()) if s.error}
    if errors:
        body["model_errors"] = errors
    if state.rules.error:
        body["ruleset_error"] = state.rules.error
    return body


def _rules_problems(state: AppState) -> list[str]:
    try:
        ruleset = state.rules.current()
    except Unavailable as exc:
        return [exc.detail]
    if ruleset.calibration is None:
        return [f"ruleset {ruleset.version} is not calibrated to the book"]
    return []


async def _database_problem(state: AppState) -> str | None:
    try:
        async with asyncio.timeout(state.settings.database_timeout_seconds):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            # The hot path's own pools too: a ready answer says what requests will meet.
            await state.hot_path.probe()
    except Exception as exc:
        return f"the database does not answer: {type(exc).__name__}"
    return None
