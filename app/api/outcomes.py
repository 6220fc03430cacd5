"""HTTP routes of call outcomes (scope `desk`, or `profiles:write` / `profiles:read`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.api.deps import CallerDeskRead, CallerDeskWrite, SessionDep
from app.api.docs import ERROR_RESPONSES, NEVER_CLASSIFIED, NO_SUCH_CLIENT
from app.outcomes import offers, service
from app.outcomes.schemas import (
    OFFER_EXAMPLES,
    OUTCOME_EXAMPLES,
    OfferCreate,
    OfferPage,
    OfferRead,
    OutcomeCreate,
    OutcomePage,
    OutcomeRead,
)
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


@router.post(
    "/clients/{client_id}/offers",
    response_model=OfferRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "This offer was recorded already: the stored one."}},
)
async def record_offer(
    client_id: ClientIdPath,
    body: Annotated[OfferCreate, Body(openapi_examples=OFFER_EXAMPLES)],
    session: SessionDep,
    response: Response,
    caller: CallerDeskWrite,
) -> OfferRead:
    """Record an action a channel system (CRM, app, mail) presented to the client.

    The action must be one the classification `offer_request_id` (by default the client's
    latest recorded one) offered, not one it held out. An offer is one row per
    classification and action: reporting it again answers 200 with the stored offer. The
    contact policy counts these offers; classifying a client records none.
    """
    read, new = await offers.record_offer(
        session, client_id=client_id, body=body, key_id=caller.key_id, at=datetime.now(UTC)
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/clients/{client_id}/offers"
    return read


@router.get("/clients/{client_id}/offers", response_model=OfferPage, responses=NO_SUCH_CLIENT)
async def list_offers(
    client_id: ClientIdPath,
    session: SessionDep,
    _caller: CallerDeskRead,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OfferPage:
    """The offers presented to a client, newest first."""
    return await offers.list_offers(session, client_id=client_id, cursor=cursor, limit=limit)
