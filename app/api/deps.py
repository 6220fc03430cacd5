"""FastAPI dependencies: the shared state, a session per request, and the caller's key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.state import AppState
from app.auth.service import ANONYMOUS, Caller, Scope
from app.serving.registry import ModelRegistry


# Dependencies are `async def`: FastAPI runs a plain `def` one in a thread pool, a hop that
# costs more than the classification it serves.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.services
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_registry(state: StateDep) -> ModelRegistry:
    return state.registry


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent (so 2xx = stored)."""
    async with state.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def require(scope: Scope) -> Callable[[Request, StateDep], Awaitable[Caller]]:
    """A dependency that admits only callers whose key carries `scope`."""

    async def check(request: Request, state: StateDep) -> Caller:
        if state.settings.auth_disabled:
            return ANONYMOUS
        caller = await state.verifier.verify(state.sessions, _bearer(request))
        caller.require(scope)
        request.state.caller = caller
        return caller

    return check


CallerRead = Annotated[Caller, Depends(require(Scope.profiles_read))]
CallerWrite = Annotated[Caller, Depends(require(Scope.profiles_write))]
CallerClassify = Annotated[Caller, Depends(require(Scope.classify))]
CallerAdmin = Annotated[Caller, Depends(require(Scope.admin))]
