"""The service's one ASGI layer around FastAPI, and the bypass to its hot routes.

Every HTTP request passes here once: past `max_in_flight` requests in hand it is shed at
once (503 with `Retry-After`), else its request id is settled (`app.api.request_id`), its
body held to the size limit (`app.api.limits`) and to JSON (`app.api.media`), and when it is
answered it is counted, timed and logged (`app.observability.http`) from its `RequestRecord`.
One layer instead of three middlewares.

The hot routes (`POST /v1/classify`, `GET /v1/clients/{id}/classification`) are FastAPI's
own route objects (`RequestOnlyRoute`, declared in their router like any other). A request
one of them matches in full (`route.matches`, which reads the path under the `root_path` as
the router does) is handed to that route's `handle` here, inside Starlette's
`ExceptionMiddleware` with the app's handlers (by class and by status code, as the app's own
stack holds them); FastAPI's router would pick the same route, which
`tests/unit/test_edge.py` checks over generated paths. Matching through the app's routes costs
about a third of an inline classification (docs/architecture.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.limits import BodyLimit
from app.api.media import media_refusal
from app.api.problems import problem_response
from app.api.request_id import HEADER, settle
from app.observability.http import RECORD, RequestRecord, RequestTelemetry

# Never shed: the orchestrator and Prometheus must see an overloaded worker as alive.
UNSHED = frozenset({"/healthz", "/readyz", "/metrics"})


async def shed(scope: Scope, send: Send, bound: int) -> None:
    """503 `overloaded` with `Retry-After`, the request's body left unread."""
    response = problem_response(
        status=503,
        code="overloaded",
        title="Overloaded",
        detail=f"this worker has {bound} requests in hand, its bound: retry after a second",
        instance=scope["path"],
        headers={"Retry-After": "1"},
    )

    async def nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    await response(scope, nothing, send)


def route_path(scope: Scope) -> str:
    """The path the app routes: the request's path under the `root_path` it is served at."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


async def _selected(scope: Scope, receive: Receive, send: Send) -> None:
    route: BaseRoute = scope["route"]
    await route.handle(scope, receive, send)


class Edge:
    """ASGI middleware: request id, body limit, telemetry; the hot routes handed straight to
    their route."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        fastapi: FastAPI,
        telemetry: RequestTelemetry,
        limit: BodyLimit,
        hot: Sequence[BaseRoute] = (),
        max_in_flight: int = 0,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limit = limit
        self.hot = tuple(hot)
        # The app's handlers as its own stack splits them: 500 and `Exception` belong to the
        # outermost error middleware, which the bypass's errors reach as the router's do.
        handlers = {
            k: v for k, v in fastapi.exception_handlers.items() if k not in (500, Exception)
        }
        self.handled = ExceptionMiddleware(_selected, handlers=handlers)
        self.max_in_flight = max_in_flight  # 0: no bound
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        request_id, refusal = settle(scope)
        record = scope[RECORD] = RequestRecord(request_id=request_id)
        path = route_path(scope)

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if request_id is not None:
                    MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        if self.max_in_flight and self.in_flight >= self.max_in_flight and path not in UNSHED:
            # Over the bound: answered now, before any work, rather than queued for seconds.
            self.telemetry.shed()
            self.telemetry.started()
            await shed(scope, answer, self.max_in_flight)
            self.telemetry.done(scope, record, status, time.perf_counter() - started)
            return
        self.in_flight += 1
        self.telemetry.started()
        try:
            refusal = refusal or self.limit.refusal(scope, path) or media_refusal(scope, path)
            if refusal is not None:
                await refusal(scope, receive, answer)
                return
            receive = self.limit.counting(scope, receive, path)
            for route in self.hot:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await self.handled(scope, receive, answer)
                    return
            await self.app(scope, receive, answer)
        finally:
            self.in_flight -= 1
            self.telemetry.done(scope, record, status, time.perf_counter() - started)
