"""The service's one ASGI layer around FastAPI, and the hot routes served from it.

Every HTTP request passes here once: its request id is settled (`app.api.request_id`), its
body held to the size limit (`app.api.limits`), and when it is answered it is counted, timed
and logged (`app.observability.http`). One layer instead of three middlewares.

The hot routes (`POST /v1/classify`) are served right here: their FastAPI endpoint is called
with the request, without FastAPI's router, exception middleware and dependency solver in
between, which cost about a third of an inline classification. The route stays declared on
FastAPI as any other (its OpenAPI entry, and the same endpoint function), and its errors are
answered by the app's own exception handlers, as FastAPI would answer them.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.routing import Mount, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.limits import BodyLimit
from app.api.request_id import HEADER, settle
from app.observability.http import RequestTelemetry

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class HotRoute:
    """A route served by the edge: its template (for the metrics and the log) and endpoint."""

    path: str
    endpoint: Endpoint


class Edge:
    """ASGI middleware: request id, body limit, telemetry; the hot routes served directly."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        fastapi: FastAPI,
        telemetry: RequestTelemetry,
        limit: BodyLimit,
        hot: Mapping[tuple[str, str], HotRoute],
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.telemetry = telemetry
        self.limit = limit
        self.hot = dict(hot)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        request_id, refusal = settle(scope)

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if request_id is not None:
                    MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        self.telemetry.started()
        try:
            refusal = refusal or self.limit.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, answer)
                return
            receive = self.limit.counting(scope, receive)
            route = self.hot.get((scope["method"], scope["path"]))
            if route is None:
                await self.app(scope, receive, answer)
            else:
                await self._serve(route, scope, receive, answer)
        finally:
            self.telemetry.done(scope, status, time.perf_counter() - started)

    async def _serve(self, route: HotRoute, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The answer of the app's exception handler for `exc` (the most specific one)."""
        handlers = self.fastapi.exception_handlers
        handler = next((handlers[k] for k in type(exc).__mro__ if k in handlers), None)
        if handler is not None:
            try:
                return await _response(handler(request, exc))
            except Exception as unhandled:  # a handler that passes it on (not an outage)
                exc = unhandled
        return await _response(handlers[Exception](request, exc))


async def _response(answer: Response | Awaitable[Response]) -> Response:
    return await answer if inspect.isawaitable(answer) else answer


def hot_routes(app: FastAPI, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], HotRoute]:
    """The app's routes of those (method, path): each must exist, take only the request, and
    be the first route to match its path (so nothing declared before it is bypassed)."""
    routes = list(iter_route_contexts(app.routes))
    found: dict[tuple[str, str], HotRoute] = {}
    for method, path in wanted:
        first = next(r for r in routes if r.path and _matches(r, path))
        if first.path != path or method not in (first.methods or ()):
            raise RuntimeError(f"{method} {path} is not the first route of its path")
        endpoint = first.endpoint
        if endpoint is None or list(inspect.signature(endpoint).parameters) != ["request"]:
            raise RuntimeError(f"{method} {path}: a hot route takes only the request")
        found[(method, path)] = HotRoute(first.path, endpoint)
    return found


def _matches(route: RouteContext, path: str) -> bool:
    assert route.path is not None
    if isinstance(route.route, Mount):
        return path.startswith(route.path.rstrip("/") + "/")
    return compile_path(route.path)[0].match(path) is not None
