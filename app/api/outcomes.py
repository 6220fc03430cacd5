"""HTTP routes of call outcomes (scope `desk`, or `profiles:write` / `profiles:read`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import CallerDeskRead, CallerDeskWrite, SessionDep
from app.api.docs import ERROR_RESPONSES, NEVER_CLASSIFIED, NO_SUCH_CLIENT
from app.outcomes import service
from app.outcomes.schemas import OUTCOME_EXAMPLES, OutcomeCreate, OutcomePage, OutcomeRead
from app.profiles.identifiers import CLIENT_ID

router = APIRouter(prefix="/v1", tags=["call outcomes"], responses=ERROR_RESPONSES)

ClientIdPath = Annotated[
    str, Path(pattern=CLIENT_ID, description="The insurer's own client id.", examples=["C-000123"])
]


@router.post(
    "/clients/{client_id}/outcomes",
    response_model=OutcomeRead,
    status_code=status.HTTP_201_CREATED,
    responses=NEVER_CLASSIFIED,
)
async def record_outcome(
    client_id: ClientIdPath,
    body: Annotated[OutcomeCreate, Body(openapi_examples=OUTCOME_EXAMPLES)],
    session: SessionDep,
    response: Response,
    caller: CallerDeskWrite,
) -> OutcomeRead:
    """Record what the client answered to one action offered on a call.

    The action must be one of the classification that made the offer (`offer_request_id`,
    by default the client's latest recorded one), whose model and ruleset versions are
    stored with the answer. 409 when the client was never classified.
    """
    read = await service.record(
        session, client_id=client_id, body=body, key_id=caller.key_id, at=datetime.now(UTC)
    )
    response.headers["Location"] = f"/v1/clients/{client_id}/outcomes"
    return read


@router.get("/clients/{client_id}/outcomes", response_model=OutcomePage, responses=NO_SUCH_CLIENT)
async def list_outcomes(
    client_id: ClientIdPath,
    session: SessionDep,
    _caller: CallerDeskRead,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OutcomePage:
    """A client's recorded call outcomes, newest first."""
    return await service.list_outcomes(session, client_id=client_id, cursor=cursor, limit=limit)
