"""OpenAPI descriptions shared by the routers."""

from __future__ import annotations

from typing import Any

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
