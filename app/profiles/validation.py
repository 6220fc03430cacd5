"""Turns pydantic's validation errors into the service's field errors."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.errors import FieldError


def field_name(error: ErrorDetails, *, skip: int = 0) -> str:
    """Dotted path of the offending field, e.g. `personal.phone` or `products_held.1`."""
    loc = [str(part) for part in error["loc"][skip:]]
    if not loc:
        # Whole-model rules name the field they are about in their context.
        ctx = error.get("ctx") or {}
        return str(ctx.get("field", ""))
    return ".".join(loc)


def field_errors(exc: ValidationError, *, location: str = "body") -> list[FieldError]:
    return [
        FieldError(field=field_name(e), rule=e["type"], detail=e["msg"], location=location)
        for e in exc.errors(include_url=False, include_input=False)
    ]
