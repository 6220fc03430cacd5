"""HTTP routes for client profiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response, status

from app.api.deps import CallerRead, CallerWrite, SessionDep, StateDep
from app.api.docs import ERROR_RESPONSES, NO_SUCH_CLIENT, STALE, UNSUPPORTED_MEDIA
from app.classification import service as classification
from app.profiles import importer, service
from app.profiles.enums import ClientKind, Industry, Province
from app.profiles.identifiers import CLIENT_ID
from app.profiles.mapping import etag
from app.profiles.schemas import (
    ClientCreate,
    ClientPage,
    ClientRead,
    ImportReport,
    profile_example,
)

router = APIRouter(
    prefix="/v1", tags=["clients"], responses=ERROR_RESPONSES | NO_SUCH_CLIENT | STALE
)

ClientIdPath = Annotated[
    str, Path(pattern=CLIENT_ID, description="The insurer's own client id.", examples=["C-000123"])
]
IfMatch = Annotated[
    str | None,
    Header(description="ETag from a previous read: the write happens only if it still matches."),
]
IMPORT_PATH = "/v1/clients:import"


def _tag(response: Response, read: ClientRead) -> ClientRead:
    response.headers["ETag"] = etag(read.version)
    return read


@router.put(
    "/clients/{client_id}",
    response_model=ClientRead,
    responses={
        201: {"model": ClientRead, "description": "Created (`Location` names it)"},
        200: {"description": "Replaced, or unchanged by a replay"},
    },
)
async def put_client(
    client_id: ClientIdPath,
    profile: Annotated[
        ClientCreate, Body(openapi_examples={"individual": {"value": profile_example()}})
    ],
    session: SessionDep,
    response: Response,
    _caller: CallerWrite,
    if_match: IfMatch = None,
    if_none_match: Annotated[
        str | None, Header(description="`*` creates only: 412 if the client exists.")
    ] = None,
) -> ClientRead:
    """Create or replace a client's whole profile (idempotent).

    201 when created, 200 when replaced or unchanged. A replay of the same body changes
    nothing, not even the version. Send `If-Match` with the ETag you read to avoid
    overwriting somebody else's change (412 if it is stale).
    """
    read, created = await service.put_client(
        session,
        client_id=client_id,
        profile=profile,
        if_match=if_match,
        if_none_match=if_none_match,
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/clients/{client_id}"
    return _tag(response, read)


@router.patch("/clients/{client_id}", response_model=ClientRead)
async def patch_client(
    client_id: ClientIdPath,
    patch: Annotated[
        dict[str, Any],
        Body(
            media_type="application/merge-patch+json",
            openapi_examples={"move": {"value": {"province": "jiangsu", "city_tier": 2}}},
        ),
    ],
    session: SessionDep,
    response: Response,
    _caller: CallerWrite,
    if_match: IfMatch = None,
) -> ClientRead:
    """Change some fields (JSON merge patch, RFC 7396: `null` clears a field).

    The patched profile is validated as a whole. `If-Match` guards against lost updates.
    """
    read = await service.patch_client(session, client_id=client_id, patch=patch, if_match=if_match)
    return _tag(response, read)


@router.get("/clients/{client_id}", response_model=ClientRead)
async def get_client(
    client_id: ClientIdPath, session: SessionDep, response: Response, _caller: CallerRead
) -> ClientRead:
    """Read one client's profile; the `ETag` header carries its version."""
    return _tag(response, await service.get_client(session, client_id=client_id))


@router.delete("/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def erase_client(
    client_id: ClientIdPath, session: SessionDep, _caller: CallerWrite, if_match: IfMatch = None
) -> None:
    """Erase a client: the profile and its personal data are deleted, not flagged."""
    await classification.erase_client(session, client_id=client_id, if_match=if_match)


@router.get("/clients", response_model=ClientPage)
async def list_clients(
    session: SessionDep,
    _caller: CallerRead,
    cursor: Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: ClientKind | None = None,
    province: Province | None = None,
    industry: Industry | None = None,
) -> ClientPage:
    """Page through clients in client id order, optionally filtered."""
    return await service.list_clients(
        session, cursor=cursor, limit=limit, kind=kind, province=province, industry=industry
    )


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                # Sent as a raw byte stream; each line is one ImportRecord.
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "contentMediaType": "application/x-ndjson",
                    "description": "One JSON object per line: a profile (ClientCreate) with "
                    "its `client_id`; `x-item-schema` is the schema of a line.",
                },
                "x-item-schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/ClientCreate"},
                        {
                            "type": "object",
                            "required": ["client_id"],
                            "properties": {"client_id": {"type": "string", "pattern": CLIENT_ID}},
                        },
                    ]
                },
                "example": '{"client_id": "C-1", "kind": "individual", "birth_year": 1980}\n'
                '{"client_id": "C-2", "kind": "corporate", "industry": "manufacturing"}\n',
            },
            "text/csv": {
                "schema": {"type": "string", "format": "binary"},
                "example": "client_id,kind,birth_year,products_held\n"
                "C-1,individual,1980,auto|health\n",
            },
        },
    }
}


@router.post(
    IMPORT_PATH.removeprefix("/v1"),
    response_model=ImportReport,
    responses=UNSUPPORTED_MEDIA,
    openapi_extra=_IMPORT_BODY,
)
async def import_clients(request: Request, state: StateDep, _caller: CallerWrite) -> ImportReport:
    """Bulk create or replace clients from NDJSON (one object per line, with `client_id`)
    or CSV (header line of field names; `products_held` separated by `|`; `name`, `phone`,
    `national_id` columns for personal data).

    Good rows are stored in batches, bad lines are reported with their line number and
    reason; re-sending the same file changes nothing.
    """
    return await importer.import_clients(
        state.session_factory,
        stream=request.stream(),
        content_type=request.headers.get("content-type", ""),
        batch_rows=state.settings.import_batch_rows,
        max_errors=state.settings.import_max_reported_errors,
        max_line_bytes=state.settings.import_max_line_bytes,
    )
