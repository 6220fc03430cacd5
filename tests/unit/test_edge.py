"""The edge layer: a hot route answers exactly as the same route dispatched by FastAPI.

One app declares a route that answers, or raises each kind of error the service handles;
served through the edge's hot path and through FastAPI's router, every request gets the same
status, headers of note and body, and is counted once under the route's template.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app.api import outage, problems
from app.api.body import JsonBody
from app.api.edge import Edge, hot_routes
from app.api.limits import BodyLimit
from app.classification.schemas import ClassifyRequest
from app.db.outage import OutageLog
from app.errors import NotFound, Unauthorized
from app.observability.http import RequestTelemetry
from app.observability.metrics import ServiceMetrics

PATH = "/v1/thing"


def _app(*, hot: bool) -> tuple[FastAPI, ServiceMetrics]:
    app = FastAPI()
    metrics = ServiceMetrics()
    problems.install(app)
    outage.install(app, OutageLog())

    @app.post(PATH)
    async def thing(request: Request) -> Response:
        asked = request.query_params.get("raise")
        if asked == "service":
            raise NotFound("no such thing")
        if asked == "auth":
            raise Unauthorized("send a key")
        if asked == "outage":
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
        if asked == "fault":
            raise RuntimeError("a bug")
        body = (await JsonBody.read(request, ClassifyRequest)).validated()
        return Response(body.model_dump_json(), media_type="application/json")

    app.add_middleware(
        Edge,
        fastapi=app,
        telemetry=RequestTelemetry(metrics),
        limit=BodyLimit(default=2048, per_path={}),
        hot=hot_routes(app, [("POST", PATH)]) if hot else {},
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
    ("?raise=fault", b"{}", {"X-Request-ID": "caller-8"}),
]


def _answer(
    app: FastAPI, query: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str | None], list[str], bytes]:
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            PATH + query, content=body, headers={"content-type": "application/json", **headers}
        )
    kept = {k: response.headers.get(k) for k in ("content-type", "retry-after")}
    request_ids = response.headers.get_list("x-request-id")
    if "X-Request-ID" not in headers:  # made up: one, of a uuid's length
        assert len(request_ids) == 1
        assert len(request_ids[0]) == 36
        request_ids = ["made up"]
    return response.status_code, kept, request_ids, response.content


@pytest.mark.parametrize(("query", "body", "headers"), CASES)
def test_a_hot_route_answers_as_the_routed_one(
    query: str, body: bytes, headers: dict[str, str]
) -> None:
    hot = _answer(_app(hot=True)[0], query, body, headers)
    routed = _answer(_app(hot=False)[0], query, body, headers)
    if b"internal_error" not in hot[3]:
        assert hot == routed
    else:  # the problem names the request: the same id, made up or not
        assert hot[:3] == routed[:3]


def test_each_request_is_counted_once_under_its_template() -> None:
    app, metrics = _app(hot=True)
    assert metrics.registry is not None
    for query, body, headers in CASES:
        _answer(app, query, body, headers)
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


def test_only_a_route_that_is_first_and_takes_only_the_request_can_be_hot() -> None:
    app = FastAPI()

    @app.post("/v1/{anything}")
    async def first(anything: str) -> None: ...

    @app.post("/v1/classify")
    async def later(request: Request) -> None: ...

    with pytest.raises(RuntimeError, match="declared before it takes it"):
        hot_routes(app, [("POST", "/v1/classify")])
    with pytest.raises(RuntimeError, match="takes only the request"):
        hot_routes(app, [("POST", "/v1/{anything}")])
