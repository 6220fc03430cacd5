"""The edge layer: a hot route answers exactly as the same route dispatched by FastAPI.

One app declares a request-only route that answers, or raises each kind of error the service
handles (its handlers registered by class and by status code); served through the edge's
bypass and through FastAPI's router, every request gets the same status, headers of note and
body, and is counted once under the route's template, also under a root path. Over generated
paths, the bypass takes only requests that FastAPI's router gives the same route.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Message

from app.api import classification, outage, problems
from app.api.edge import Edge, route_path
from app.api.limits import BodyLimit
from app.api.request_only import JsonBody, RequestOnlyRoute
from app.classification.schemas import ClassifyRequest
from app.db.outage import OutageLog
from app.errors import NotFound, Unauthorized
from app.main import create_app
from app.observability.http import RequestTelemetry
from app.observability.metrics import ServiceMetrics
from app.settings import Settings

PATH = "/v1/thing"
ROOT = "/api"
BODY = JsonBody(ClassifyRequest)


class Teapot(Exception):
    """An error with a handler registered by its class only in this app."""


async def thing(request: Request) -> Response:
    # Which way the request came: FastAPI's router leaves itself in the scope.
    routed = "router" in request.scope
    asked = request.query_params.get("raise")
    if asked == "service":
        raise NotFound("no such thing")
    if asked == "auth":
        raise Unauthorized("send a key")
    if asked == "outage":
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
    if asked == "fault":
        raise RuntimeError("a bug")
    if asked == "status":
        raise HTTPException(418, "short and stout")
    if asked == "class":
        raise Teapot
    body = await BODY.read(request)
    return Response(
        body.model_dump_json(), media_type="application/json", headers={"x-routed": str(routed)}
    )


async def _by_status(_: Request, exc: Exception) -> Response:
    return Response(f"by status: {exc}", status_code=418, media_type="text/plain")


async def _by_class(_: Request, __: Exception) -> Response:
    return Response("by class", status_code=419, media_type="text/plain")


def _app(*, hot: bool) -> tuple[FastAPI, ServiceMetrics]:
    app = FastAPI()
    metrics = ServiceMetrics()
    problems.install(app)
    outage.install(app, OutageLog())
    app.add_exception_handler(418, _by_status)
    app.add_exception_handler(Teapot, _by_class)
    router = APIRouter()
    router.add_api_route(PATH, thing, methods=["POST"], route_class_override=RequestOnlyRoute)
    app.include_router(router)
    app.add_middleware(
        Edge,
        fastapi=app,
        telemetry=RequestTelemetry(metrics),
        limit=BodyLimit(default=2048, per_path={}),
        hot=router.routes if hot else (),
    )
    return app, metrics


CASES = [
    ("", b'{"client_id": "C-1"}', {}),
    ("", b'{"client_id": "bad id"}', {}),
    ("", b"{not json", {}),
    ("", b"x" * 4096, {}),  # over the limit
    ("", b'{"client_id": "C-1"}', {"X-Request-ID": "caller-7"}),
    ("", b'{"client_id": "C-1"}', {"X-Request-ID": "bad id!"}),
    ("?raise=service", b"{}", {}),
    ("?raise=auth", b"{}", {}),
    ("?raise=outage", b"{}", {}),
    ("?raise=status", b"{}", {}),
    ("?raise=class", b"{}", {}),
    ("?raise=fault", b"{}", {"X-Request-ID": "caller-8"}),
]
Answer = tuple[int, dict[str, str | None], list[str], bytes]


def _answer(
    app: FastAPI, query: str, body: bytes, headers: dict[str, str], root: str = ""
) -> tuple[Answer, str | None]:
    with TestClient(app, raise_server_exceptions=False, root_path=root) as client:
        response = client.post(
            root + PATH + query,
            content=body,
            headers={"content-type": "application/json", **headers},
        )
    kept = {k: response.headers.get(k) for k in ("content-type", "retry-after")}
    request_ids = response.headers.get_list("x-request-id")
    if "X-Request-ID" not in headers:  # made up: one, of a uuid's length
        assert len(request_ids) == 1
        assert len(request_ids[0]) == 36
        request_ids = ["made up"]
    routed = response.headers.get("x-routed")
    return (response.status_code, kept, request_ids, response.content), routed


@pytest.mark.parametrize("root", ["", ROOT])
@pytest.mark.parametrize(("query", "body", "headers"), CASES)
def test_a_hot_route_answers_as_the_routed_one(
    query: str, body: bytes, headers: dict[str, str], root: str
) -> None:
    hot, hot_way = _answer(_app(hot=True)[0], query, body, headers, root)
    routed, routed_way = _answer(_app(hot=False)[0], query, body, headers, root)
    if b"internal_error" not in hot[3]:
        assert hot == routed
    else:  # the problem names the request: the same id, made up or not
        assert hot[:3] == routed[:3]
    if hot[0] == 200:  # the bypass took it, under the root path too; the router the other
        assert (hot_way, routed_way) == ("False", "True")


def test_each_request_is_counted_once_under_its_template() -> None:
    app, metrics = _app(hot=True)
    assert metrics.registry is not None
    for query, body, headers in CASES:
        _answer(app, query, body, headers, ROOT)
    counted = {
        (s.labels["route"], s.labels["status"]): s.value
        for family in metrics.registry.collect()
        if family.name == "clientscore_http_requests"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert sum(counted.values()) == len(CASES)
    assert counted[(PATH, "200")] == 2
    assert counted[(PATH, "500")] == 1
    assert counted[(PATH, "418")] == 1


def test_only_an_endpoint_that_takes_only_the_request_can_be_request_only() -> None:
    async def later(anything: str) -> None: ...

    with pytest.raises(TypeError, match="takes only the request"):
        RequestOnlyRoute("/v1/{anything}", later, methods=["POST"])


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/v1/classify", "", "/v1/classify"),
        ("/api/v1/classify", "/api", "/v1/classify"),
        ("/api", "/api", ""),
        ("/apix/v1/classify", "/api", "/apix/v1/classify"),
        ("/v1/classify", "/api", "/v1/classify"),
    ],
)
def test_the_route_path_is_under_the_root_path(path: str, root: str, expected: str) -> None:
    assert route_path({"path": path, "root_path": root}) == expected


# The real app's routes, without starting it: which route FastAPI's router picks for a path.
APP = create_app(Settings.model_validate({"database_url": "sqlite+aiosqlite:///:memory:"}))
SEGMENT = st.sampled_from(
    ["v1", "clients", "classify", "classification", "classifications", "C-1", "x y", "%2F",
     "C.1:a_b-c", "", "classify:batch", "desk", "book", "api", "é", "x" * 65]
)  # fmt: skip
SUFFIX = st.sampled_from(["", "/", "//", ":batch", "es", "/x", "?"])
ODD_ID = st.text(st.characters(codec="utf-8", exclude_characters="?#"), max_size=70)
PATHS = st.one_of(
    st.builds(lambda i, s: f"/v1/clients/{i}/classification{s}", ODD_ID, SUFFIX),
    st.builds(lambda s: f"/v1/classify{s}", SUFFIX),
    st.builds(
        lambda seg, s: "/" + "/".join(seg) + s, st.lists(SEGMENT, min_size=1, max_size=5), SUFFIX
    ),
)


def _scope(method: str, path: str, root: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": root + path,
        "root_path": root,
        "query_string": b"",
        "headers": [],
    }


def _routed(scope: dict[str, Any]) -> dict[str, Any]:
    """The scope as FastAPI's router leaves it for the route it picks (run, not answered)."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Message) -> None: ...

    async def route() -> None:
        try:
            await APP.router(scope, receive, send)
        except Exception:  # the app is not started: its routes fail, once picked
            return

    asyncio.run(route())
    return scope


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT"]),
    path=PATHS,
    root=st.sampled_from(["", ROOT, "/v1"]),
)
def test_the_bypass_takes_only_what_the_router_gives_the_same_route(
    method: str, path: str, root: str
) -> None:
    taken = None
    for route in classification.HOT:
        match, child = route.matches(_scope(method, path, root))
        if match is Match.FULL:
            taken = child
            break
    routed = _routed(_scope(method, path, root) | {"app": APP})
    if taken is not None:
        assert routed.get("route") is taken["route"]
        assert routed.get("endpoint") is taken["endpoint"]
        assert routed.get("path_params") == taken["path_params"]
    elif routed.get("route") in classification.HOT:  # a hot route, but not in full: 405
        assert method not in (routed["route"].methods or ())


def test_the_hot_routes_are_taken_in_full_on_their_own_paths() -> None:
    for method, path in [("POST", "/v1/classify"), ("GET", "/v1/clients/C-1/classification")]:
        for root in ("", ROOT):
            routed = _routed(_scope(method, path, root) | {"app": APP})
            assert routed["route"] in classification.HOT
