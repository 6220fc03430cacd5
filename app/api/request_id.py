"""`X-Request-ID`: taken from the caller or made up, echoed on every response (`app.api.edge`)."""

from __future__ import annotations

import re
import uuid

from starlette.responses import Response
from starlette.types import Scope

from app.api.problems import problem_response
from app.errors import FieldError, ValidationFailed
from app.observability.http import record_of

HEADER = "X-Request-ID"
# What a caller may send: a uuid, or any id of its own tracing that is safe to log.
PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,63}$")


def request_id(scope: Scope) -> str:
    """The request's id, as the edge settled it (made up now for a request that did not come
    through the edge)."""
    record = record_of(scope)
    if record.request_id is None:
        record.request_id = str(uuid.uuid4())
    return record.request_id


def settle(scope: Scope) -> tuple[str | None, Response | None]:
    """The request's id, taken from the caller or made up; or the 422 for an id the caller
    sent that is not safe to log."""
    sent = dict(scope["headers"]).get(HEADER.lower().encode())
    given = sent.decode("latin-1") if sent is not None else None
    if given is not None and not PATTERN.match(given):
        error = ValidationFailed(
            f"{HEADER} must be 1-64 characters: letters, digits and ._:/+=-",
            errors=[FieldError(HEADER, "pattern", "not a valid request id", "header")],
        )
        response = problem_response(
            status=error.status,
            code=error.code,
            title=error.title,
            detail=error.detail,
            instance=scope["path"],
            errors=error.errors,
        )
        return None, response
    return given or str(uuid.uuid4()), None
