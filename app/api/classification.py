"""HTTP routes of classification (scope `classify`).

`async def` on purpose: classifying takes well under a millisecond of CPU without reasons,
less than a hop to a thread pool costs under load. Results are serialised with orjson.
The two hot routes, `POST /v1/classify` and `GET /v1/clients/{id}/classification`, are
request-only routes (`app.api.request_only`): they check the caller's key, then read their
body or parameters, and open the unit of work themselves. `HOT` lists them for the edge's
bypass (`app.api.edge`); `described` gives the OpenAPI document what they read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.routing import APIRoute

from app.api.deps import (
    CallerClassify,
    SessionDep,
    StateDep,
    UnitDep,
    authorized,
    services,
    unit_of_work,
)
from app.api.docs import ERROR_RESPONSES, NO_SUCH_CLIENT
from app.api.query import QueryBool, Timestamp
from app.api.request_id import request_id
from app.api.request_only import (
    Described,
    JsonBody,
    Param,
    RequestOnlyRoute,
    describe,
    read_params,
)
from app.auth.service import Caller, Scope
from app.classification import service
from app.classification.schemas import (
    BATCH_EXAMPLES,
    CLASSIFY_EXAMPLES,
    AuditPage,
    BatchRead,
    BatchRequest,
    Classification,
    ClassifyRequest,
)
from app.observability.http import record_of
from app.profiles.identifiers import CLIENT_ID

router = APIRouter(
    prefix="/v1", tags=["classification"], responses=ERROR_RESPONSES | NO_SUCH_CLIENT
)
CLASSIFY_PATH = "/v1/classify"
BATCH_PATH = "/v1/classify:batch"
CLASSIFICATION_PATH = "/v1/clients/{client_id}/classification"

ClientIdPath = Annotated[
    str, Path(pattern=CLIENT_ID, description="The insurer's own client id.", examples=["C-000123"])
]
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "A model or the ruleset is not loaded",
        "content": ERROR_RESPONSES[401]["content"],
    }
}


def call_for(request: Request, state: StateDep, caller: Caller) -> service.Call:
    # Models and ruleset are taken once: a promotion during the request does not mix in.
    pinned = state.classifier.pin()
    record_of(request.scope).versions = pinned.versions()  # for the request's log line
    return service.Call(
        pinned=pinned,
        audit=state.audit,
        request_id=request_id(request.scope),
        key_id=caller.key_id,
        at=datetime.now(UTC),
    )


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


_CLASSIFY_BODY = JsonBody(ClassifyRequest, CLASSIFY_EXAMPLES)
_CLASSIFICATION_PARAMS = (
    Param("client_id", ClientIdPath),
    Param("explain", Annotated[QueryBool, Query()], default=True),
)


def described() -> tuple[Described, ...]:
    """What the hot routes read, as FastAPI documents it (for the OpenAPI document only)."""
    return (
        describe("POST", CLASSIFY_PATH, body=_CLASSIFY_BODY),
        describe("GET", CLASSIFICATION_PATH, params=_CLASSIFICATION_PARAMS),
    )


async def classify(request: Request) -> Response:
    """Classify one client: an inline `profile` (not stored, not audited) or the `client_id`
    of a stored client (recorded in the audit trail before the response is sent).

    Gives value (tier, ABC grade, CLV and its percentile in the book), risk, lifecycle stage,
    the company segment, the recommended actions, and with `explain` (default true) the top
    factors of each model in Chinese and English.
    """
    state = services(request)
    caller = await authorized(request, state, Scope.classify)
    asked = await _CLASSIFY_BODY.read(request)
    call = call_for(request, state, caller)
    async with unit_of_work(state) as unit:
        result = await service.classify_request(unit, call, asked)
    return _json(result)


def _hot_route(path: str, endpoint: Callable[[Request], Awaitable[Response]], method: str) -> None:
    """A request-only route of this router, answering a `Classification`."""
    router.add_api_route(
        path.removeprefix("/v1"),
        endpoint,
        methods=[method],
        response_model=Classification,
        responses=_UNAVAILABLE,
        route_class_override=RequestOnlyRoute,
    )


_hot_route(CLASSIFY_PATH, classify, "POST")


@router.post(BATCH_PATH.removeprefix("/v1"), response_model=BatchRead, responses=_UNAVAILABLE)
async def classify_batch(
    body: Annotated[BatchRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    request: Request,
    state: StateDep,
    unit: UnitDep,
    caller: CallerClassify,
) -> Response:
    """Classify up to 1,000 items (inline profiles or stored client ids) in one pass.

    Each item gets its result or its own problem (422 invalid, 404 unknown client) under
    the same index; a bad item never fails the others. `explain` defaults to false here.

    The body may be up to 8 x `CLIENTSCORE_MAX_BODY_BYTES` (8 MiB unless configured; 413
    above it), where every other body gets 1 x: 1,000 inline profiles of about 600 bytes
    take about 0.6 MB, and profiles with large `extra` objects fit up to the 8 MiB.
    """
    return _json(await service.classify_batch_request(unit, call_for(request, state, caller), body))


async def client_classification(request: Request) -> Response:
    """Who is this caller and what should I offer? A stored client, classified now with its
    reasons, and recorded in the audit trail."""
    state = services(request)
    caller = await authorized(request, state, Scope.classify)
    asked = read_params(request, _CLASSIFICATION_PARAMS)
    call = call_for(request, state, caller)
    async with unit_of_work(state) as unit:
        reader = await unit.reads()
        result = await service.classify_stored_client(
            reader, call, client_id=asked["client_id"], explain=asked["explain"]
        )
    return _json(result)


_hot_route(CLASSIFICATION_PATH, client_classification, "GET")
# The hot routes, for the edge's bypass (the same route objects FastAPI's router serves).
HOT: tuple[APIRoute, ...] = tuple(r for r in router.routes if isinstance(r, RequestOnlyRoute))


@router.get("/clients/{client_id}/classifications", response_model=AuditPage)
async def client_classifications(
    client_id: ClientIdPath,
    session: SessionDep,
    _caller: CallerClassify,
    since: Annotated[
        Timestamp | None, Query(description="From this time on (inclusive), RFC 3339.")
    ] = None,
    until: Annotated[Timestamp | None, Query(description="Before this time, RFC 3339.")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """A stored client's recorded classifications from the audit trail, newest first."""
    return await service.history(
        session, client_id=client_id, since=since, until=until, cursor=cursor, limit=limit
    )
