"""Cursor pages: a list is read in pages, each ending with an opaque cursor for the next.

A cursor is the URL-safe base64 of the last item's position (a client id, an audit id), so
callers cannot mistake it for something to build themselves; one that does not decode is
refused naming the `cursor` query parameter.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

from app.errors import FieldError, ValidationFailed

T = TypeVar("T")


def encode_cursor(position: str | int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parse: Callable[[str], T]) -> T:
    """The position in `cursor`, read by `parse` (`str`, `int`)."""
    try:
        return parse(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            "cursor is not one this service issued",
            errors=[FieldError("cursor", "invalid_cursor", "not a cursor of this list", "query")],
        ) from None
