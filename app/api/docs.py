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

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key", "content": _PROBLEM},
    403: {"description": "The key lacks the scope", "content": _PROBLEM},
    404: {"description": "No such client", "content": _PROBLEM},
    412: {"description": "If-Match is stale", "content": _PROBLEM},
    413: {"description": "Body too large", "content": _PROBLEM},
    422: {"description": "Invalid input: each bad field and its rule", "content": _PROBLEM},
}
