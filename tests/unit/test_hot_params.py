"""`read_params` answers every path and query as FastAPI answers the route's declaration.

The parameters of `GET /v1/clients/{client_id}/classification`, declared to FastAPI the
usual way (a signature made of the route's `Param`s), are served by FastAPI beside a route
reading them with `read_params`; both check a key first, as the service does. Every path,
query and key gets the same status and body.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from app.api import problems
from app.api.classification import _CLASSIFICATION_PARAMS
from app.api.request_only import declared_parameters, read_params
from app.errors import Unauthorized


def _key(request: Request) -> None:
    if request.headers.get("x-key") != "ok":
        raise Unauthorized("send the key")


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    async def declared(**values: Any) -> dict[str, Any]:
        values.pop("_key")
        return values

    key = inspect.Parameter(
        "_key", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[None, Depends(_key)]
    )
    params = declared_parameters(_CLASSIFICATION_PARAMS)
    declared.__signature__ = inspect.Signature([key, *params])  # type: ignore[attr-defined]
    app.get("/declared/{client_id}/classification")(declared)

    @app.get("/read/{client_id}/classification")
    async def read(request: Request) -> dict[str, Any]:
        _key(request)
        return read_params(request, _CLASSIFICATION_PARAMS)

    return app


CLIENT = TestClient(_app(), raise_server_exceptions=False)
IDS = ["C-000123", "S-1.a:b_c", "bad id!", "-leading", "x" * 64, "x" * 65, "%E7%8E%8B", "C%2D1"]
QUERIES = [
    "",
    "?explain=false",
    "?explain=0",
    "?explain=no",
    "?explain=off",
    "?explain=FALSE",
    "?explain=yes",
    "?explain=on",
    "?explain=",
    "?explain=maybe",
    "?explain=2",
    "?explain=true&explain=false",
    "?other=1",
]


def _get(prefix: str, client_id: str, query: str, key: str) -> tuple[int, Any]:
    response = CLIENT.get(f"/{prefix}/{client_id}/classification{query}", headers={"x-key": key})
    body = response.json()
    if isinstance(body, dict) and "instance" in body:
        body["instance"] = body["instance"].replace(f"/{prefix}/", "/")
    return response.status_code, body


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("client_id", IDS)
def test_every_path_and_query_gets_what_fastapi_gives(client_id: str, query: str) -> None:
    for key in ("ok", "wrong"):
        assert _get("read", client_id, query, key) == _get("declared", client_id, query, key)


def test_the_cases_include_good_and_bad_answers() -> None:
    statuses = {_get("declared", c, q, "ok")[0] for c in IDS for q in QUERIES}
    assert statuses == {200, 422}
