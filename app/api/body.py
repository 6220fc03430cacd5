"""JSON bodies the hot routes read themselves: parsed and validated from the bytes at once.

FastAPI reads a body model in steps (the content type parsed with `email.message`, the
bytes decoded by the standard `json`, the Python objects validated, all inside its
dependency solver), which costs several times the `model_validate_json` that does the same
in one pass. `POST /v1/classify`, the busiest route, reads its body with `JsonBody` instead.
A body the one pass refuses is read again exactly the way FastAPI reads it, so the caller
gets the same problem, in the same order against the key checks: a body that is not JSON
before them, a body that breaks a rule after them. `tests/unit/test_json_body.py`
holds the two ways equal on bodies good and bad. The OpenAPI document describes the body
from a declaration of the route with the body model (`app.api.declared`).
"""

from __future__ import annotations

import email.message
import json
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

M = TypeVar("M", bound=BaseModel)
_NOT_READ = object()


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test: application/json or application/*+json (parameters allowed)."""
    if not content_type:
        return False  # FastAPI's strict content type: a body without one is not JSON
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class JsonBody(Generic[M]):
    """A request's body as `model`, read in two steps as FastAPI orders them."""

    def __init__(self, model: type[M], raw: bytes, content_type: str | None) -> None:
        self._model = model
        self._parsed: M | None = None
        self._data: Any = _NOT_READ
        if raw and content_type in _PLAIN_JSON:
            try:
                self._parsed = model.model_validate_json(raw)
                return
            except ValidationError:
                pass  # read again below, for FastAPI's exact answer
        self._data = _decoded(raw, content_type)

    @classmethod
    async def read(cls, request: Request, model: type[M]) -> JsonBody[M]:
        """Raises now what FastAPI raises before it checks the key: a body that is not JSON
        (422 `json_invalid`), one that cannot be decoded (400), one too large (413)."""
        return cls(model, await request.body(), request.headers.get("content-type"))

    def validated(self) -> M:
        """The body as the model; raises the 422 FastAPI raises for a body breaking a rule."""
        if self._parsed is not None:
            return self._parsed
        if self._data is _NOT_READ:
            missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            raise RequestValidationError([missing], body=None)
        try:
            return self._model.model_validate(self._data, from_attributes=True)  # as FastAPI
        except ValidationError as exc:
            errors = [
                {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
            ]
            raise RequestValidationError(errors, body=self._data) from None


# The content types sent in practice, tested without `email.message`; any other goes the
# long way round, where `_is_json` decides as FastAPI does.
_PLAIN_JSON = frozenset({"application/json", "application/json; charset=utf-8"})


def _decoded(raw: bytes, content_type: str | None) -> Any:
    """The body as FastAPI hands it to validation: JSON decoded when the content type says
    JSON, the bytes themselves otherwise, nothing when empty."""
    if not raw:
        return _NOT_READ
    if not _is_json(content_type):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error], body=exc.doc) from exc
    except Exception as exc:  # e.g. bytes that are not UTF-8
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
