"""`JsonBody` (one pass from the bytes) answers every JSON body as FastAPI's own body handling.

Two routes on one app with the service's problem handlers: one declares the body model the
FastAPI way, the other is request-only and reads it with `JsonBody`; both check a key. Every
body, JSON content type and key below gets the same status and the same document, but for
one difference of order and one of words: FastAPI reads a body that is not JSON before it
checks the key (a 422 for a caller without one), the request-only route checks the key first
(a 401); and where pydantic words a JSON input differently from the Python objects FastAPI
validates: the reason a body is not JSON ("expected value at line 1 column 1" where `json`
says "Expecting value"; always a 422 `json_invalid` on the body, where FastAPI answers bytes
that are not UTF-8 with a 400 and takes a lone surrogate escape), a body that is not an
object (`model_type`, "an object", where FastAPI says `model_attributes_type`, "a valid
dictionary"), a list ("a valid array", not "list"). The fields and locations are the same.
Bodies of other media types never reach a route: the edge refuses them (415, `app.api.media`).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import pytest
from fastapi import Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from app.api import problems
from app.api.request_only import JsonBody, RequestOnlyRoute
from app.classification.schemas import ClassifyRequest
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

    async def read(request: Request) -> Response:
        _key(request)
        return _answer(await BODY.read(request))

    app.router.add_api_route("/read", read, methods=["POST"], route_class_override=RequestOnlyRoute)
    return app


BODY = JsonBody(ClassifyRequest)


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
        surrogate = expected[0] == 422 and _rules(expected) == {"string_unicode"}
        if _not_json(expected) or surrogate:
            if key == "wrong":  # the key is checked first
                assert got == _post("/read", b"{}", content_type, key)
                assert got[0] == 401
            else:
                assert got[0] == 422
                errors = [(e["location"], e["rule"]) for e in got[1]["errors"]]
                assert errors == [("body", "json_invalid")]
        else:
            assert _in_json_words(expected) == got


def _rules(answer: tuple[int, Any]) -> set[str]:
    return {e["rule"] for e in answer[1].get("errors", [])}


def _in_json_words(answer: tuple[int, Any]) -> tuple[int, Any]:
    """FastAPI's answer with pydantic's words for a JSON input rather than Python objects."""
    status, document = answer
    if not isinstance(document, dict) or "errors" not in document:
        return answer
    errors = []
    for error in document["errors"]:
        words = JSON_WORDS.get((error["rule"], error["detail"]), (error["rule"], error["detail"]))
        errors.append({**error, "rule": words[0], "detail": words[1]})
    return status, {**document, "errors": errors}


JSON_WORDS = {
    (
        "model_attributes_type",
        "Input should be a valid dictionary or object to extract fields from",
    ): (
        "model_type",
        "Input should be an object",
    ),
    ("list_type", "Input should be a valid list"): ("list_type", "Input should be a valid array"),
}


def _not_json(answer: tuple[int, Any]) -> bool:
    """FastAPI's answer to a body its parser refuses: bytes it cannot read, or not JSON."""
    status, document = answer
    errors = document.get("errors", []) if isinstance(document, dict) else []
    return status == 400 or any(e.get("rule") == "json_invalid" for e in errors)


def test_the_bodies_include_good_and_bad_answers() -> None:
    statuses = {_post("/declared", body, "application/json", "ok")[0] for body in BODIES}
    assert statuses == {200, 400, 422}
