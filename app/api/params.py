"""Path and query parameters a hot route reads itself, validated as FastAPI validates them.

Each parameter is validated from the raw string with the same annotation FastAPI would have
used (a pattern, a bool), and the errors carry FastAPI's locations (`("path", name)`,
`("query", name)`), all of them together in one 422. `tests/unit/test_hot_params.py` holds
the answers equal to FastAPI's own on good and bad paths and queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BeforeValidator, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

REQUIRED = object()


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


@dataclass(frozen=True)
class Param:
    """One parameter: its name, where it is, its annotation and its default (if optional)."""

    name: str
    where: Literal["path", "query"]
    annotation: Any
    default: Any = REQUIRED
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.annotation))


def read_params(request: Request, params: tuple[Param, ...]) -> dict[str, Any]:
    """The parameters' values; raises the 422 FastAPI raises, naming every bad one."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for param in params:
        source = request.path_params if param.where == "path" else request.query_params
        raw = source.get(param.name)
        if raw is None:
            if param.default is REQUIRED:
                loc = (param.where, param.name)
                errors.append(
                    {"type": "missing", "loc": loc, "msg": "Field required", "input": None}
                )
            else:
                values[param.name] = param.default
            continue
        try:
            values[param.name] = param.adapter.validate_python(raw)
        except ValidationError as exc:
            errors += [
                {**error, "loc": (param.where, param.name, *error["loc"])}
                for error in exc.errors(include_url=False)
            ]
    if errors:
        raise RequestValidationError(errors)
    return values
