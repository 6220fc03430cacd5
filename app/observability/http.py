"""Every HTTP request measured and logged once, as it leaves the service.

Called by the outermost layer (`app.api.edge`): it sees the final status, the matched route's
template (never the raw path, which holds client ids), and the request's `RequestRecord`: the
request id the edge settled, the caller's key id and the versions a classification used, which
the routes write into it (`record_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from app.observability.logging import FIELDS
from app.observability.metrics import ServiceMetrics

logger = logging.getLogger("clientscore.requests")
UNMATCHED = "unmatched"  # one label for every path no route serves
# The ASGI scope key of the request's record: the edge puts it there, the routes fill it in.
RECORD = "clientscore.record"


@dataclass(slots=True)
class RequestRecord:
    """What a request's log line tells beyond the HTTP exchange."""

    request_id: str | None = None
    key_id: str | None = None  # the caller: its key id, or a person's pseudonymous id
    versions: Mapping[str, Any] | None = None  # the models and ruleset that classified


def record_of(scope: Scope) -> RequestRecord:
    """The request's record (a new one for a request that did not come through the edge)."""
    record: RequestRecord = scope.setdefault(RECORD, RequestRecord())
    return record


class RequestTelemetry:
    """Each HTTP request counted, timed and logged as one JSON line (by `app.api.edge`)."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def shed(self) -> None:
        self.metrics.http_shed.inc()

    def started(self) -> None:
        self.metrics.http_in_progress.inc()

    def done(self, scope: Scope, record: RequestRecord, status: int, seconds: float) -> None:
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
            fields = _fields(scope["method"], route, record, status, seconds)
            logger.info("request", extra={FIELDS: fields})


def _fields(
    method: str, route: str, record: RequestRecord, status: int, seconds: float
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": record.request_id,
        "method": method,
        "route": route,
        "status": status,
        "latency_ms": round(seconds * 1000, 3),
        "key_id": record.key_id,
    }
    if record.versions is not None:
        fields["models"] = record.versions["models"]
        fields["ruleset"] = record.versions["ruleset"]
    return fields
