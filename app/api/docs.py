"""OpenAPI descriptions shared by the routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

_PROBLEM = {
    "application/problem+json": {
        "schema": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "code": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "location": {"type": "string"},
                            "rule": {"type": "string"},
                            "detail": {"type": "string"},
                        },
                    },
                },
            },
        }
    }
}

Responses = dict[int | str, dict[str, Any]]

# What any authenticated operation can answer.
ERROR_RESPONSES: Responses = {
    400: {"description": "The body cannot be read (e.g. not UTF-8)", "content": _PROBLEM},
    401: {"description": "Missing or invalid API key", "content": _PROBLEM},
    403: {"description": "The key lacks the scope", "content": _PROBLEM},
    413: {"description": "Body too large", "content": _PROBLEM},
    415: {"description": "A body sent as something other than JSON", "content": _PROBLEM},
    422: {"description": "Invalid input: each bad field and its rule", "content": _PROBLEM},
    503: {
        "description": "The database (or a model, the ruleset) is unavailable; retry after "
        "the `Retry-After` seconds",
        "content": _PROBLEM,
    },
}
# What only some operations answer, added where they apply.
NO_SUCH_CLIENT: Responses = {404: {"description": "No such client", "content": _PROBLEM}}
NEVER_CLASSIFIED: Responses = {
    409: {"description": "The client has no recorded classification to answer", "content": _PROBLEM}
}
STALE: Responses = {412: {"description": "If-Match is stale", "content": _PROBLEM}}
UNSUPPORTED_MEDIA: Responses = {
    415: {"description": "The body is not of a type this operation takes", "content": _PROBLEM}
}


BEARER = "bearer"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key, `cs_<key id>_<secret>` (`clientscore keys create`).",
    }
}


def document_security(app: FastAPI) -> None:
    """The document declares the API key scheme and every `/v1` operation requires it, so
    clients and Swagger UI (its Authorize button) know how to call."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and BEARER in app.openapi_schema.get(
            "components", {}
        ).get("securitySchemes", {}):
            return app.openapi_schema
        document = generate()
        document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in document["paths"].items():
            if path.startswith("/v1/"):
                for operation in operations.values():
                    operation["security"] = [{BEARER: []}]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
