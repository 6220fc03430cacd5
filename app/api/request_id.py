"""`X-Request-ID`: taken from the caller or made up, echoed on every response."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response
from app.errors import FieldError, ValidationFailed

HEADER = "X-Request-ID"
# What a caller may send: a uuid, or any id of its own tracing that is safe to log.
PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,63}$")


def request_id(scope: Scope) -> str:
    """The request's id, as the middleware settled it."""
    value: str = scope["state"]["request_id"]
    return value


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
            await response(scope, receive, send)
            return
        value = given or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = value

        async def echo(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = value
            await send(message)

        await self.app(scope, receive, echo)
