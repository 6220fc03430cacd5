"""One place that renders every error as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.errors import FieldError, ServiceError, problem_document
from app.observability.http import record_of
from app.observability.logging import FIELDS
from app.profiles.validation import field_name

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("clientscore.errors")

_HTTP_CODES = {
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_document(
        status=status, code=code, title=title, detail=detail, instance=instance, errors=errors
    )
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


def _json_position(error: Any, body: Any) -> FieldError | None:
    """Where a body that is not JSON breaks, as a line and column rather than an offset."""
    loc = error.get("loc", ())
    if error.get("type") != "json_invalid" or len(loc) != 2 or not isinstance(loc[1], int):
        return None
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    line = text.count("\n", 0, loc[1]) + 1
    column = loc[1] - text.rfind("\n", 0, loc[1])
    reason = error.get("ctx", {}).get("error", "JSON decode error")
    detail = f"not valid JSON at line {line}, column {column}: {reason}"
    return FieldError(field="body", rule="json_invalid", detail=detail)


def _request_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        if (position := _json_position(error, exc.body)) is not None:
            errors.append(position)
            continue
        loc = error.get("loc", ())
        location = str(loc[0]) if loc else "body"
        errors.append(
            FieldError(
                field=field_name(error, skip=1),
                rule=str(error.get("type", "invalid")),
                detail=str(error.get("msg", "invalid value")),
                location=location,
            )
        )
    return errors


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _request_errors(exc)
    names = ", ".join(sorted({e.field or e.location for e in errors}))
    return problem_response(
        status=422,
        code="validation_failed",
        title="Validation failed",
        detail=f"the request is not valid: {names}",
        instance=request.url.path,
        errors=errors,
    )


def _allowed(request: Request) -> str:
    """Every method the API document lists at this path (the router names only the methods
    of the first route that matched it)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return problem_response(
        status=exc.status_code,
        code=code,
        title=title,
        detail=str(exc.detail),
        instance=request.url.path,
        headers=headers,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    request_id = record_of(request.scope).request_id
    fields = {"request_id": request_id, "route": route}
    logger.error("unhandled error", exc_info=exc, extra={FIELDS: fields})
    # Rendered outside the request id middleware: the answer names the request itself, so the
    # caller can quote the id that the log line carries.
    return problem_response(
        status=500,
        code="internal_error",
        title="Internal error",
        detail="the service failed to handle this request; it has been logged",
        instance=request.url.path,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
