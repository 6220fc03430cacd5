"""FastAPI dependencies: the shared state, a session per request, and the caller's key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request

from app.api.state import AppState
from app.auth.service import ANONYMOUS, Caller, Scope
from app.db.unit import Session, UnitOfWork
from app.observability.http import record_of
from app.serving.registry import ModelRegistry


# Dependencies are `async def`: FastAPI runs a plain `def` one in a thread pool, a hop that
# costs more than the classification it serves.
def services(request: Request) -> AppState:
    state: AppState = request.app.state.services
    return state


async def get_state(request: Request) -> AppState:
    return services(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_registry(state: StateDep) -> ModelRegistry:
    return state.registry


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


@asynccontextmanager
async def unit_of_work(state: AppState) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work: one transaction, begun when first used and committed when
    the route's work is done, before the response is sent (so 2xx = stored); rolled back if
    it fails."""
    unit = UnitOfWork(state.session_factory, state.hot_path.connection)
    try:
        yield unit
    except BaseException:
        await unit.finish(commit=False)
        raise
    await unit.finish(commit=True)


async def get_unit(state: StateDep) -> AsyncIterator[UnitOfWork]:
    async with unit_of_work(state) as unit:
        yield unit


UnitDep = Annotated[UnitOfWork, Depends(get_unit, scope="function")]


async def get_session(unit: UnitDep) -> Session:
    """The unit of work's session, for routes that always use the database."""
    return await unit.session()


SessionDep = Annotated[Session, Depends(get_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def authorized(request: Request, state: AppState, *scopes: Scope) -> Caller:
    """The caller, if its key carries one of `scopes` (401 or 403 otherwise)."""
    if state.settings.auth_disabled:
        return ANONYMOUS
    address = request.client.host if request.client else None
    caller = await state.verifier.verify(state.session_factory, _bearer(request), address=address)
    caller.require_any(*scopes)
    record_of(request.scope).key_id = caller.key_id  # for the request's log line
    return caller


def require(*scopes: Scope) -> Callable[[Request, StateDep], Awaitable[Caller]]:
    """A dependency that admits only callers whose key carries one of `scopes`."""

    async def check(request: Request, state: StateDep) -> Caller:
        return await authorized(request, state, *scopes)

    return check


CallerRead = Annotated[Caller, Depends(require(Scope.profiles_read))]
CallerWrite = Annotated[Caller, Depends(require(Scope.profiles_write))]
CallerClassify = Annotated[Caller, Depends(require(Scope.classify))]
CallerAdmin = Annotated[Caller, Depends(require(Scope.admin))]
CallerDeskRead = Annotated[Caller, Depends(require(Scope.desk, Scope.profiles_read))]
CallerDeskWrite = Annotated[Caller, Depends(require(Scope.desk, Scope.profiles_write))]
