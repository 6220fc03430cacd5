"""The service's one ASGI layer around FastAPI, and the hot routes served from it.

Every HTTP request passes here once: past `max_in_flight` requests in hand it is shed at
once (503 with `Retry-After`), else its request id is settled (`app.api.request_id`), its
body held to the size limit (`app.api.limits`) and to JSON (`app.api.media`), and when it is
answered it is counted, timed and logged (`app.observability.http`). One layer instead of
three middlewares.

The hot routes (`POST /v1/classify`, `GET /v1/clients/{id}/classification`) are served right
here: their FastAPI endpoint is called with the request, without FastAPI's router, exception
middleware and dependency solver in between, which cost about a third of an inline
classification. Each route stays declared on FastAPI as any other (its OpenAPI entry, and the
same endpoint function), and its errors are answered by the app's own exception handlers, as
FastAPI would answer them.
"""

from __future__ import annotations

import inspect
import re
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
from app.api.media import media_refusal
from app.api.problems import problem_response
from app.api.request_id import HEADER, settle
from app.observability.http import RequestTelemetry

Endpoint = Callable[[Request], Awaitable[Response]]
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


@dataclass(frozen=True)
class HotRoute:
    """A route served by the edge: its template (for the metrics and the log), its endpoint,
    and the routes declared before it that would take a path first."""

    path: str
    endpoint: Endpoint
    regex: re.Pattern[str]
    earlier: tuple[Callable[[str], bool], ...] = ()

    def params(self, path: str) -> dict[str, str] | None:
        """The path's parameters if this route is the one FastAPI would route `path` to."""
        found = self.regex.match(path)
        if found is None or any(claims(path) for claims in self.earlier):
            return None
        return found.groupdict()


class Edge:
    """ASGI middleware: request id, body limit, telemetry; the hot routes served directly."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        fastapi: FastAPI,
        telemetry: RequestTelemetry,
        limit: BodyLimit,
        hot: Mapping[str, list[HotRoute]],
        max_in_flight: int = 0,
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.telemetry = telemetry
        self.limit = limit
        self.hot = dict(hot)  # by method
        self.max_in_flight = max_in_flight  # 0: no bound
        self.in_flight = 0

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

        if (
            self.max_in_flight
            and self.in_flight >= self.max_in_flight
            and scope["path"] not in UNSHED
        ):
            # Over the bound: answered now, before any work, rather than queued for seconds.
            self.telemetry.shed()
            self.telemetry.started()
            await shed(scope, answer, self.max_in_flight)
            self.telemetry.done(scope, status, time.perf_counter() - started)
            return
        self.in_flight += 1
        self.telemetry.started()
        try:
            refusal = refusal or self.limit.refusal(scope) or media_refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, answer)
                return
            receive = self.limit.counting(scope, receive)
            for route in self.hot.get(scope["method"], ()):
                params = route.params(scope["path"])
                if params is not None:
                    await self._serve(route, params, scope, receive, answer)
                    return
            await self.app(scope, receive, answer)
        finally:
            self.in_flight -= 1
            self.telemetry.done(scope, status, time.perf_counter() - started)

    async def _serve(
        self, route: HotRoute, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = params
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


def hot_routes(app: FastAPI, wanted: list[tuple[str, str]]) -> dict[str, list[HotRoute]]:
    """The app's routes of those (method, path template), by method. Each must exist and
    take only the request; a request goes to it only when no route declared before it
    would take the request's path first, as FastAPI's router decides."""
    routes = [r for r in iter_route_contexts(app.routes) if r.path]
    found: dict[str, list[HotRoute]] = {}
    for method, path in wanted:
        at = next(
            (i for i, r in enumerate(routes) if r.path == path and method in (r.methods or ())),
            None,
        )
        if at is None:
            raise RuntimeError(f"no route {method} {path}")
        endpoint = routes[at].endpoint
        if endpoint is None or list(inspect.signature(endpoint).parameters) != ["request"]:
            raise RuntimeError(f"{method} {path}: a hot route takes only the request")
        regex, _, _ = compile_path(path)
        earlier = [_claims(r) for r in routes[:at] if _takes(r, method)]
        if not regex.groupindex:  # one path only: check now which earlier route takes it
            if any(claims(path) for claims in earlier):
                raise RuntimeError(f"{method} {path}: a route declared before it takes it")
            earlier = []
        found.setdefault(method, []).append(HotRoute(path, endpoint, regex, tuple(earlier)))
    return found


def _takes(route: RouteContext, method: str) -> bool:
    return isinstance(route.route, Mount) or method in (route.methods or ())


def _claims(route: RouteContext) -> Callable[[str], bool]:
    assert route.path is not None
    if isinstance(route.route, Mount):
        prefix = route.path.rstrip("/") + "/"
        return lambda path: path.startswith(prefix)
    regex = compile_path(route.path)[0]
    return lambda path: regex.match(path) is not None
