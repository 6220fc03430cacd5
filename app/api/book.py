"""HTTP routes of the whole book: the latest portfolio report (`/book`, scope `analyst`)
and a candidate ruleset simulated against a sample book (`POST /v1/rules:simulate`, admin).

`/book` opens in a browser for an analyst or admin signed in through the identity provider
(app.api.browser), and for a system with an `analyst` key in its Authorization header."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import Field

from app.api.browser import SESSION_COOKIE, visitor
from app.api.deps import CallerAdmin, StateDep, authorized
from app.api.docs import ERROR_RESPONSES
from app.api.pages import page_headers
from app.api.rules import RulesetUpload
from app.auth.service import Caller, Scope
from app.book.report import REPORT_FILE
from app.book.sandbox import Job
from app.errors import NotFound
from app.signin.roles import ANALYSIS

router = APIRouter(tags=["book"], responses=ERROR_RESPONSES)


async def _analyst(request: Request, state: StateDep) -> Caller:
    """A Bearer key with the `analyst` scope; without one, a browser's session (a page
    asked for by a browser, or a request with the session cookie)."""
    browser = SESSION_COOKIE in request.cookies or "text/html" in request.headers.get("accept", "")
    if state.settings.auth_disabled or request.headers.get("authorization") or not browser:
        return await authorized(request, state, Scope.analyst)
    found = await visitor(request, state, roles=ANALYSIS, scopes=(Scope.analyst,))
    return found.caller


CallerAnalyst = Annotated[Caller, Depends(_analyst)]
_PLOT = re.compile(r"^[a-z]{1,20}\.png$")
_PLOT_SRC = re.compile(r"src=(['\"])([a-z]{1,20}\.png)\1")
_NO_REPORT = (
    "<!doctype html><html><head><meta charset='utf-8'><title>No portfolio report</title></head>"
    "<body><h1>No portfolio report yet</h1><p>Classify the book and write its report into "
    "this service's report folder (<code>CLIENTSCORE_BOOK_REPORT_DIR</code>):</p><pre>"
    "clientscore book classify --out var/book/results\n"
    "clientscore book report var/book/results --out {folder}</pre></body></html>"
)


class SimulationRequest(RulesetUpload):
    """A candidate ruleset (as `PUT /v1/rules` takes it) and the size of the seeded sample."""

    sample: int = Field(default=20_000, ge=100, le=200_000, description="Synthetic clients.")


@router.get("/book", response_class=HTMLResponse, include_in_schema=False)
@router.get("/book/", response_class=HTMLResponse, include_in_schema=False)
async def book_report(state: StateDep, _caller: CallerAnalyst) -> HTMLResponse:
    """The latest portfolio report (scope `analyst` or `admin`)."""
    folder = state.settings.book_report_dir
    path = folder / REPORT_FILE
    headers = page_headers(inline_styles=True)  # the report's own <style> block
    if not path.is_file():
        return HTMLResponse(_NO_REPORT.format(folder=folder), status_code=404, headers=headers)
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    # The report names its plots beside it (`mix.png`, to work from its folder too); served
    # here they live under /book/, whichever of /book and /book/ the page was opened as.
    return HTMLResponse(_PLOT_SRC.sub(r"src=\1/book/\2\1", text), headers=headers)


@router.get("/book/{name}", include_in_schema=False)
async def book_plot(name: str, state: StateDep, _caller: CallerAnalyst) -> FileResponse:
    path = state.settings.book_report_dir / name
    if not _PLOT.match(name) or not path.is_file():
        raise NotFound(f"the report has no plot {name}")
    return FileResponse(path, media_type="image/png")


@router.post("/v1/rules:simulate")
async def simulate_rules(
    body: SimulationRequest, state: StateDep, _caller: CallerAdmin
) -> dict[str, Any]:
    """Classify a seeded synthetic book with the active ruleset and with the candidate (admin).

    The candidate is checked as `PUT /v1/rules` checks it and refused with the same problems
    (422 `ruleset_refused`). The answer gives per dimension the transition matrix (from class
    -> to class, clients and premium) and how many moved, the action counts before and after,
    and 20 clients that moved with the rows that fired before and after. Nothing is activated.

    It runs in a child process: at most `CLIENTSCORE_SIMULATION_CONCURRENCY` per worker
    (429 with `Retry-After` past it), stopped past `CLIENTSCORE_SIMULATION_TIMEOUT_SECONDS`
    or `CLIENTSCORE_SIMULATION_MEMORY_MB` (503 `simulation_limit` naming the limit).
    """
    files = {path: text.encode("utf-8") for path, text in body.files.items()}
    settings = state.settings
    job = Job(
        models_dir=settings.models_dir,
        rules_dir=settings.rules_dir,
        versions=state.classifier.take().versions(),
        files=files,
        sample=body.sample,
        as_of=date.today(),
    )
    return await state.simulations.simulate(job)
