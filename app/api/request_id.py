"""`X-Request-ID`: taken from the caller or made up, echoed on every response (`app.api.edge`)."""

from __future__ import annotations

import re
import uuid

from starlette.responses import Response
from starlette.types import Scope

from app.api.problems import problem_response
from app.errors import FieldError, ValidationFailed

HEADER = "X-Request-ID"
# What a caller may send: a uuid, or any id of its own tracing that is safe to log.
PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,63}$")


def request_id(scope: Scope) -> str:
    """The request's id, as the middleware settled it."""
    value: str = scope["state"]["request_id"]
    return value


def settle(scope: Scope) -> tuple[str | None, Response | None]:
    """The request's id, taken from the caller or made up and kept in the scope's state; or
    the 422 for an id the caller sent that is not safe to log."""
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
    value = given or str(uuid.uuid4())
    scope.setdefault("state", {})["request_id"] = value
    return value, None
