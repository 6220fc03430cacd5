"""Path and query parameters a hot route reads itself, validated as FastAPI validates them.

Each parameter is validated from the raw string with the same annotation FastAPI would have
used (a pattern, a bool), and the errors carry FastAPI's locations (`("path", name)`,
`("query", name)`), all of them together in one 422. `tests/unit/test_hot_params.py` holds
the answers equal to FastAPI's own on good and bad paths and queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

REQUIRED = object()


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
