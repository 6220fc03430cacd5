"""Every HTTP request measured and logged once, as it leaves the service.

Called by the outermost layer (`app.api.edge`): it sees the final status, the matched route's
template (never the raw path, which holds client ids), the request id it settled, the
caller's key id and the versions a classification used, which the routes leave in the
request state.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import Scope

from app.observability.logging import FIELDS
from app.observability.metrics import ServiceMetrics

logger = logging.getLogger("clientscore.requests")
UNMATCHED = "unmatched"  # one label for every path no route serves


class RequestTelemetry:
    """Each HTTP request counted, timed and logged as one JSON line (by `app.api.edge`)."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def shed(self) -> None:
        self.metrics.http_shed.inc()

    def started(self) -> None:
        self.metrics.http_in_progress.inc()

    def done(self, scope: Scope, status: int, seconds: float) -> None:
        self.metrics.http_in_progress.dec()
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        key = (route, scope["method"], str(status))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.metrics.http_requests.labels(*key),
                self.metrics.http_duration.labels(*key),
            )
        children[0].inc()
        children[1].observe(seconds)
        if logger.isEnabledFor(logging.INFO):
            logger.info("request", extra={FIELDS: _fields(scope, route, status, seconds)})


def _fields(scope: Scope, route: str, status: int, seconds: float) -> dict[str, Any]:
    state = scope.get("state", {})
    caller = state.get("caller")
    fields: dict[str, Any] = {
        "request_id": state.get("request_id"),
        "method": scope["method"],
        "route": route,
        "status": status,
        "latency_ms": round(seconds * 1000, 3),
        "key_id": getattr(caller, "key_id", None),
    }
    versions = state.get("versions")
    if versions is not None:
        fields["models"] = versions["models"]
        fields["ruleset"] = versions["ruleset"]
    return fields
