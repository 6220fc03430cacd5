"""`JsonBody` (one pass from the bytes) answers every body as FastAPI's own body handling does.

Two routes on one app with the service's problem handlers: one declares the body model the
FastAPI way, the other reads it with `JsonBody`; both check a key first, as the service
does. Every body, content type and key below gets the same status and the same document.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import pytest
from fastapi import Body, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from app.api import problems
from app.api.body import JsonBody
from app.api.declared import document_declared
from app.classification.schemas import CLASSIFY_EXAMPLES, ClassifyRequest
from app.errors import Unauthorized
from app.profiles.schemas import profile_example


def _key(request: Request) -> None:
    if request.headers.get("x-key") != "ok":
        raise Unauthorized("send the key")


def _answer(body: ClassifyRequest) -> Response:
    return Response(orjson.dumps(body.model_dump(mode="json")), media_type="application/json")


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/declared")
    async def declared(body: ClassifyRequest, _key: Annotated[None, Depends(_key)]) -> Response:
        return _answer(body)

    @app.post("/read")
    async def read(request: Request) -> Response:
        body = await JsonBody.read(request, ClassifyRequest)
        _key(request)
        return _answer(body.validated())

    return app


CLIENT = TestClient(_app(), raise_server_exceptions=False)
PROFILE = orjson.dumps(profile_example()).decode()


def _with(field: str, raw: str) -> bytes:
    """The example profile with one field's JSON text replaced (or added)."""
    profile = profile_example()
    profile[field] = "@@"
    text = orjson.dumps({"profile": profile}).decode().replace('"@@"', raw)
    return text.encode()


BODIES: list[bytes] = [
    f'{{"profile": {PROFILE}}}'.encode(),
    f'{{"profile": {PROFILE}, "explain": false}}'.encode(),
    b'{"client_id": "C-000123"}',
    b'{"client_id": "C-000123", "explain": true, "explain": false}',  # a key twice
    b'{"client_id": "\\u0043-1"}',
    b'{"client_id": "\\ud800"}',  # a lone surrogate
    b'{"client_id": "bad id!"}',
    b"",
    b"{}",
    b"[]",
    b"null",
    b'"text"',
    b"123",
    b'{"profile": null}',
    f'{{"profile": {PROFILE}, "client_id": "C-1"}}'.encode(),
    b'{"client_id": "C-1", "extra": 1}',
    b'{"client_id": "C-1",}',
    b'{"profile": ',
    b"not json",
    b"\xff\xfe{",
    b'{"client_id": "C-1", "explain": "yes"}',
    b'{"client_id": "C-1", "explain": 1}',
    b'{"client_id": "C-1", "explain": null}',
    b'{"client_id": 123}',
    _with("birth_year", '"1984"'),
    _with("birth_year", "1984.0"),
    _with("birth_year", "1984.5"),
    _with("birth_year", "true"),
    _with("birth_year", str(10**30)),
    _with("kind", '"alien"'),
    _with("annual_income", "NaN"),
    _with("annual_income", "Infinity"),
    _with("annual_income", "-Infinity"),
    _with("annual_income", "1e400"),
    _with("annual_income", '"320000"'),
    _with("annual_income", "-1"),
    _with("first_policy_date", '"2019-02-30"'),
    _with("first_policy_date", '"2019-02-03T00:00:00"'),
    _with("first_policy_date", "20190203"),
    _with("products_held", '["life", "life"]'),
    _with("products_held", '"life"'),
    _with("province", '" guangdong "'),
    _with("unknown_field", "1"),
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.insurer+json",
    "application/JSON",
    "text/plain",
    None,
]


def _post(path: str, body: bytes, content_type: str | None, key: str) -> tuple[int, Any]:
    headers = {"x-key": key} | ({"content-type": content_type} if content_type else {})
    response = CLIENT.post(path, content=body, headers=headers)
    return response.status_code, response.json() if response.content else None


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_every_body_gets_what_fastapi_gives(body: bytes, content_type: str | None) -> None:
    for key in ("ok", "wrong"):
        expected = _post("/declared", body, content_type, key)
        got = _post("/read", body, content_type, key)
        if isinstance(expected[1], dict) and "instance" in expected[1]:
            expected[1]["instance"] = "/read"
        assert got == expected


def test_the_bodies_include_good_and_bad_answers() -> None:
    statuses = {_post("/declared", body, "application/json", "ok")[0] for body in BODIES}
    assert statuses == {200, 400, 422}


async def _declared(
    body: Annotated[ClassifyRequest, Body(openapi_examples=CLASSIFY_EXAMPLES)],
) -> None: ...


def test_the_document_describes_the_body_read_as_the_declared_one() -> None:
    app = _app()
    document_declared(app, {("POST", "/read"): _declared})
    paths = app.openapi()["paths"]
    declared = paths["/declared"]["post"]["requestBody"]["content"]["application/json"]
    read = paths["/read"]["post"]["requestBody"]["content"]["application/json"]
    assert read["schema"] == declared["schema"] == {"$ref": "#/components/schemas/ClassifyRequest"}
    assert "ClientProfile" in app.openapi()["components"]["schemas"]
