"""`GET /metrics`: the Prometheus exposition, summed over the worker processes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.observability.metrics import CONTENT_TYPE, ServiceMetrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests, latency, classes given, model scores and drift,
    versions served, audit failures, database connections. No authentication: expose it on
    the internal network only."""
    exported: ServiceMetrics = request.app.state.metrics
    services = getattr(request.app.state, "services", None)
    if services is not None:  # this worker's latest counts, not a second old
        services.monitor.flush()
    return Response(exported.exposition(), media_type=CONTENT_TYPE)
