"""The desk's pages: sign-in, finding the caller, the card, recording the call, sign-out.

Server-rendered (Jinja2) with every asset served from /desk/static. The card classifies
through the same service as `GET /v1/clients/{id}/classification` and is recorded in the
audit trail alike. Searched numbers travel in query strings, which the request log leaves
out (it records the route template only).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from app.api.browser import Visitor, visitor
from app.api.classification import call_for
from app.api.deps import SessionDep, StateDep
from app.auth.service import Scope
from app.classification import service as classification
from app.desk import card as cards
from app.desk import signin
from app.desk.i18n import LANGS, Lang, t
from app.desk.lookup import find
from app.desk.pages import LANG_COOKIE, lang, message, page, safe_next
from app.errors import NotFound, ServiceError
from app.outcomes import service as outcomes
from app.outcomes.schemas import OutcomeCreate
from app.profiles import service as profiles
from app.settings import Settings
from app.signin.roles import ANALYSIS, DESK
from app.strategy import service as strategy

STATIC = Path(__file__).parent / "static"
router = APIRouter(prefix="/desk", include_in_schema=False)
HISTORY = 5


async def _agent(request: Request, state: StateDep) -> Visitor:
    """An agent, team lead or admin signed in, or a desk-scope key (the demo)."""
    return await visitor(request, state, roles=DESK, scopes=(Scope.desk,))


async def _analyst(request: Request, state: StateDep) -> Visitor:
    """An analyst or admin signed in, or a desk-scope key (the demo's one sign-in)."""
    return await visitor(request, state, roles=ANALYSIS, scopes=(Scope.desk, Scope.analyst))


AgentDep = Annotated[Visitor, Depends(_agent)]
AnalystDep = Annotated[Visitor, Depends(_analyst)]


@router.get("/")
async def with_slash() -> Response:
    """`/desk/` is the desk: a relative redirect, never built from the request's Host."""
    return RedirectResponse("/desk", status_code=308)


@router.get("/lang/{choice}")
async def switch_language(choice: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if choice in LANGS:
        response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, path="/desk", samesite="lax")
    return response


@router.get("")
async def search(
    request: Request,
    session: SessionDep,
    agent: AgentDep,
    q: str | None = None,
    phone: str | None = None,
    national_id: str | None = None,
    client_id: str | None = None,
) -> Response:
    """The search page; with a query, straight to the one client found, or a choice."""
    query = next((v.strip() for v in (phone, national_id, client_id, q) if v and v.strip()), None)
    if query is None:
        return page(request, "search.html", agent=agent, query="", found=None)
    found = await find(
        session, query=query, phone=phone, national_id=national_id, client_id=client_id
    )
    if len(found) == 1:
        return RedirectResponse(f"/desk/clients/{quote(found[0].client_id)}", status_code=303)
    return page(request, "search.html", agent=agent, query=query, found=found)


@router.get("/clients/{client_id}")
async def client_card(
    request: Request,
    state: StateDep,
    session: SessionDep,
    agent: AgentDep,
    recorded: int | None = None,
    error: str | None = None,
) -> Response:
    client_id = request.path_params["client_id"]
    chosen = lang(request)
    try:
        return await _card(request, state, session, agent, client_id, chosen, recorded, error)
    except NotFound:
        return page(request, "search.html", agent=agent, query=client_id, found=[])
    except ServiceError as exc:  # e.g. 503: a model or the ruleset is not loaded
        return page(request, "message.html", exc.status, title=t(chosen, "error"), text=exc.detail)


async def _card(
    request: Request,
    state: StateDep,
    session: SessionDep,
    agent: Visitor,
    client_id: str,
    chosen: Lang,
    recorded: int | None,
    error: str | None,
) -> HTMLResponse:
    profile = await profiles.get_client(session, client_id=client_id)
    call = call_for(request, state, agent.caller)
    result = await classification.classify_read(session, call, profile, explain=True)
    catalogue = {spec.code: spec for spec in call.pinned.ruleset.document.actions}
    card = cards.build(
        chosen, profile=profile, result=result, catalogue=catalogue, today=date.today()
    )
    history = await classification.history(
        session, client_id=client_id, since=None, until=None, cursor=None, limit=HISTORY
    )
    card.classifications = cards.history_rows(chosen, history.items)
    answered = await outcomes.list_outcomes(session, client_id=client_id, cursor=None, limit=8)
    card.outcomes = cards.outcome_rows(chosen, answered.items, catalogue)
    saved = t(chosen, "saved", n=recorded) if recorded else None
    problem = t(chosen, error) if error in {"answer_one", "not_recorded"} else None
    return page(
        request, "card.html", agent=agent, card=card, query="", message=saved, problem=problem
    )


@router.get("/strategy")
async def strategy_report(request: Request, session: SessionDep, agent: AnalystDep) -> Response:
    """The strategy report: per action and segment, offers, acceptance and the uplift of the
    treated over the control group (`clientscore strategy report`, docs/strategy.md)."""
    rows = await strategy.report(session)
    searches = bool({Scope.desk, Scope.admin} & agent.caller.scopes)  # not for an analyst
    return page(request, "strategy.html", agent=agent, query="", rows=rows, searches=searches)


@router.post("/clients/{client_id}/outcomes")
async def record_call(request: Request, session: SessionDep, agent: AgentDep) -> Response:
    client_id = request.path_params["client_id"]
    form = await request.form()
    sent = form.get("csrf")
    if not agent.session.csrf_ok(sent if isinstance(sent, str) else None):
        return message(request, 403, "csrf")
    card_url = f"/desk/clients/{quote(client_id)}"
    answers = {
        str(name).removeprefix("result_"): value
        for name, value in form.multi_items()
        if str(name).startswith("result_") and value
    }
    if not answers:
        return RedirectResponse(f"{card_url}?error=answer_one", status_code=303)
    note, offer = form.get("note"), form.get("offer_request_id")
    try:
        # One savepoint: a bad answer records none of the call's answers.
        async with session.begin_nested():
            for code, answer in answers.items():
                body = OutcomeCreate.model_validate(
                    {"action_code": code, "result": answer, "note": note or None,
                     "offer_request_id": offer or None}
                )  # fmt: skip
                await outcomes.record(
                    session, client_id=client_id, body=body, key_id=agent.caller.key_id,
                    at=datetime.now(UTC), person=agent.person,
                )  # fmt: skip
    except (ValidationError, ServiceError):
        return RedirectResponse(f"{card_url}?error=not_recorded", status_code=303)
    return RedirectResponse(f"{card_url}?recorded={len(answers)}", status_code=303)


def install(app: FastAPI, settings: Settings) -> None:
    """The desk's routes, its static files and its sign-in, on `app`."""
    app.mount("/desk/static", StaticFiles(directory=STATIC), name="desk-static")
    signin.install(app, settings)
    app.include_router(router)
