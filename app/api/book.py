"""HTTP routes of the whole book: the latest portfolio report (`/book`, scope `analyst`)
and a candidate ruleset simulated against a sample book (`POST /v1/rules:simulate`, admin).

`/book` opens in a browser for an analyst or admin signed in through the identity provider
(app.api.browser), and for a system with an `analyst` key in its Authorization header. Its
language: `?lang=zh|en` (kept, as the desk's switch keeps it), else the language chosen on
any page, else the browser's Accept-Language, else Chinese. The charts and the tables'
downloads beside it are served under /book/ by name, from a strict whitelist."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import Field

from app.api.browser import SESSION_COOKIE, visitor
from app.api.deps import CallerAdmin, StateDep, authorized
from app.api.docs import ERROR_RESPONSES
from app.api.pages import page_headers
from app.api.rules import RulesetUpload
from app.auth.service import Caller, Scope
from app.book.files import DOWNLOAD, NAV, REPORT_FILE, page_name
from app.book.sandbox import Job
from app.errors import NotFound
from app.i18n.texts import LANG_COOKIE, LANGS, Lang, accepted, lang_of, t
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
# The report names its charts and downloads beside it (`mix-zh.png`, to work from its
# folder too); served here they live under /book/, whichever of /book and /book/ was opened.
_BESIDE = re.compile(
    r"(src|href)=(['\"])([a-z][a-z0-9_]{0,39}(?:-(?:zh|en))?\.(?:png|csv|parquet))\2"
)
_OTHER_LANG = re.compile(r"href='report-(zh|en)\.html'")
_MEDIA = {
    "png": "image/png",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
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


def _language(request: Request, lang: str | None) -> Lang:
    if lang in LANGS:
        return lang_of(lang)
    if request.cookies.get(LANG_COOKIE) in LANGS:
        return lang_of(request.cookies.get(LANG_COOKIE))
    return accepted(request.headers.get("accept-language")) or "zh"


def _nav(lang: Lang) -> str:
    """The page's links to the what-if and to sign out."""
    return (
        f"<a href='/book/whatif'>{t(lang, 'whatif')}</a> · "
        f"<a href='/desk/sign-out'>{t(lang, 'sign_out')}</a> ·"
    )


def _served(text: str, lang: Lang) -> str:
    text = _BESIDE.sub(r"\1=\2/book/\3\2", text)
    text = _OTHER_LANG.sub(r"href='/book?lang=\1'", text)
    return text.replace(NAV, _nav(lang), 1)


@router.get("/book", response_class=HTMLResponse, include_in_schema=False)
@router.get("/book/", response_class=HTMLResponse, include_in_schema=False)
async def book_report(
    request: Request, state: StateDep, _caller: CallerAnalyst, lang: str | None = None
) -> HTMLResponse:
    """The latest portfolio report (scope `analyst` or `admin`), in `?lang=zh|en`, the
    language chosen on any page, or the browser's."""
    folder = state.settings.book_report_dir
    chosen = _language(request, lang)
    headers = page_headers(inline_styles=True)  # the report's own <style> block
    path = next(
        (p for p in (folder / page_name(chosen), folder / REPORT_FILE) if p.is_file()), None
    )
    if path is None:
        return HTMLResponse(_NO_REPORT.format(folder=folder), status_code=404, headers=headers)
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    response = HTMLResponse(_served(text, chosen), headers=headers)
    if lang in LANGS:  # as the desk's switch keeps it, for the what-if page too
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, path="/", samesite="lax")
    return response


@router.get("/book/{name}", include_in_schema=False)
async def book_file(name: str, state: StateDep, _caller: CallerAnalyst) -> Response:
    """A chart of the report, or one of its tables as CSV or Parquet (a download)."""
    path: Path = state.settings.book_report_dir / name
    if not DOWNLOAD.match(name) or not await asyncio.to_thread(path.is_file):
        raise NotFound(f"the report has no file {name}")
    suffix = name.rsplit(".", 1)[1]
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if suffix == "png":
        return FileResponse(path, media_type=_MEDIA[suffix], headers=headers)
    return FileResponse(path, media_type=_MEDIA[suffix], filename=name, headers=headers)


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
        versions=state.classifier.pin().versions(),
        files=files,
        sample=body.sample,
        as_of=date.today(),
    )
    return await state.simulations.simulate(job)
