"""While the database is down, what needs it answers 503 `database_unavailable`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.api.problems import problem_response
from app.db.outage import OUTAGE_ERRORS, OutageLog, is_outage
from app.errors import DatabaseUnavailable

RETRY_AFTER_SECONDS = 5


def install(app: FastAPI, outages: OutageLog) -> None:
    async def unavailable(request: Request, exc: Exception) -> Response:
        if not is_outage(exc):
            raise exc  # a fault, not an outage: the 500 handler logs it
        outages.down(exc)
        return problem_response(
            status=DatabaseUnavailable.status,
            code=DatabaseUnavailable.code,
            title=DatabaseUnavailable.title,
            detail="the database cannot be reached; this request needs it, retry later",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for error in OUTAGE_ERRORS:
        app.add_exception_handler(error, unavailable)
