"""The media type of a request body: the API's bodies are JSON, and a body sent as anything
else is refused with 415 before it is read (the bulk import names its own types)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from app.api.problems import problem_response
from app.errors import FieldError, UnsupportedMediaType

_WRITES = frozenset({"POST", "PUT", "PATCH"})
_OWN_TYPES = frozenset({"/v1/clients:import"})  # checks NDJSON and CSV itself


def _is_json(media_type: str) -> bool:
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def media_refusal(scope: Scope, path: str) -> Response | None:
    """The 415 for an API write whose body is declared as something other than JSON
    (`path`: the request's path under its root path)."""
    if scope["method"] not in _WRITES or not path.startswith("/v1/"):
        return None
    if path in _OWN_TYPES:
        return None
    headers = dict(scope["headers"])
    declared = headers.get(b"content-length")
    if declared == b"0" or (declared is None and b"transfer-encoding" not in headers):
        return None  # no body: the endpoint says what it misses
    raw = headers.get(b"content-type", b"").decode("latin-1")
    media_type = raw.split(";")[0].strip().lower()
    if _is_json(media_type):
        return None
    sent = f"'{media_type}'" if media_type else "no Content-Type"
    detail = f"the body was sent as {sent}: send JSON, with 'Content-Type: application/json'"
    return problem_response(
        status=UnsupportedMediaType.status,
        code=UnsupportedMediaType.code,
        title=UnsupportedMediaType.title,
        detail=detail,
        instance=scope["path"],
        errors=[FieldError("Content-Type", "media_type", detail, "header")],
    )
