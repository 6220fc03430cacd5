"""Query value types stricter than FastAPI's defaults, named once for every route."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError


def _json_bool(value: Any) -> Any:
    if isinstance(value, bool) or value in ("true", "false"):
        return value is True or value == "true"
    raise PydanticCustomError("bool_type", "Input should be true or false")


# A flag in a query: `true` or `false`, as JSON writes them (not 1, yes, on or off).
QueryBool = Annotated[bool, BeforeValidator(_json_bool)]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        # An unencoded `+` in a query arrives as a space: the offset is still meant.
        text = value[:-6] + "+" + value[-5:] if value[-6:-5] == " " else value
        if _RFC3339.match(text):
            return text
    raise PydanticCustomError(
        "datetime_format",
        "Input should be an RFC 3339 timestamp with its offset, e.g. 2026-12-01T09:00:00+08:00",
    )


# A time in a query: RFC 3339 only (a date alone, a Unix time or no offset is refused).
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
