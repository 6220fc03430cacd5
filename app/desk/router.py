"""The desk's pages: sign-in, finding the caller, the card, recording the call, sign-out.

Server-rendered (Jinja2) with every asset served from /desk/static. The card classifies
through the same service as `GET /v1/clients/{id}/classification` and is recorded in the
audit trail alike. Searched numbers travel in query strings, which the request log leaves
out (it records the route template only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api.browser import Visitor, visitor
from app.api.classification import call_for
from app.api.deps import SessionDep, StateDep, UnitDep, services, unit_of_work
from app.auth.service import Scope
from app.classification import service as classification
from app.db.hot import Reader
from app.desk import calls, history, insurance, signin, whatif
from app.desk import card as cards
from app.desk.lookup import choice, find
from app.desk.pages import lang, page, safe_next
from app.errors import NotFound, ServiceError
from app.i18n.texts import LANG_COOKIE, LANGS, TIMEZONE, Lang, t
from app.outcomes import service as outcomes
from app.profiles import service as profiles
from app.settings import Settings
from app.signin.roles import ANALYSIS, DESK
from app.strategy import service as strategy

STATIC = Path(__file__).parent / "static"
router = APIRouter(prefix="/desk", include_in_schema=False)
CALLS = 8  # the calls the card lists
CLASSIFICATIONS = 20  # the classifications whose classes are read for the changes of class
CHANGES = 5


async def _agent(request: Request, state: StateDep, unit: UnitDep) -> Visitor:
    """An agent, team lead or admin signed in, or a desk-scope key (the demo); read on the
    request's connection for reads, which the card goes on using."""
    reader = await unit.reads()
    return await visitor(request, state, roles=DESK, scopes=(Scope.desk,), reader=reader)


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
        # For every page: the desk's, and the book's what-if (/book/whatif) alike.
        response.delete_cookie(LANG_COOKIE, path="/desk")  # where it was kept before
        response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, path="/", samesite="lax")
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
    if len(found.clients) == 1:
        return RedirectResponse(
            f"/desk/clients/{quote(found.clients[0].client_id)}", status_code=303
        )
    if found.hint:
        return page(request, "search.html", agent=agent, query=query, found=None, hint=found.hint)
    choices = [choice(lang(request), client, date.today()) for client in found.clients]
    return page(request, "search.html", agent=agent, query=query, found=choices)


@router.get("/clients/{client_id}")
async def client_card(request: Request) -> Response:
    """The caller's card. It takes only the request, as the API's hot routes do: the unit of
    work, the session check on its read connection and the page's messages are read here,
    not through FastAPI's dependency solver (about 5% of a card's CPU under load)."""
    state = services(request)
    chosen = lang(request)
    async with unit_of_work(state) as unit:
        reader = await unit.reads()
        agent = await visitor(request, state, roles=DESK, scopes=(Scope.desk,), reader=reader)
        client_id = request.path_params["client_id"]
        try:
            card = await _card(request, state, reader, agent, client_id, chosen)
        except NotFound:
            return page(request, "search.html", agent=agent, query=client_id, found=[])
        except ServiceError as exc:  # e.g. 503: a model or the ruleset is not loaded
            text = exc.detail
            return page(request, "message.html", exc.status, title=t(chosen, "error"), text=text)
    saved, problem = _messages(chosen, request.query_params)
    return page(
        request, "card.html", agent=agent, card=card, query="", message=saved, problem=problem
    )


def _messages(chosen: Lang, query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """What the card says after a redirect (`?recorded=2`, `?done=...`, `?error=...`): only
    the desk's own words for the codes it knows; anything else says nothing."""
    recorded, done, error = query.get("recorded", ""), query.get("done"), query.get("error")
    answers = int(recorded) if recorded.isdecimal() and len(recorded) < 4 else 0
    saved = (
        t(chosen, "saved", n=answers)
        if answers
        else t(chosen, done)
        if done in calls.DONE
        else None
    )
    return saved, t(chosen, error) if error in calls.PROBLEMS else None


async def _card(
    request: Request, state: StateDep, reader: Reader, agent: Visitor, client_id: str, chosen: Lang
) -> cards.Card:
    """The card, from reads that need no transaction, sent together (one round trip on
    PostgreSQL): the client with its personal data, policies and claims, its contact
    history, its latest classes, its latest calls and complaint records; then the
    classification, recorded in the audit trail."""
    rows = await reader.read(
        [
            *profiles.client_card_reads(client_id),
            strategy.contact_history_read(client_id),
            classification.recent_classes_read(client_id, CLASSIFICATIONS - 1),
            outcomes.calls_read(client_id, CALLS),
        ],
    )
    found, contacts, classes, recent = rows[:3], *rows[3:]
    profile = profiles.client_card_of(client_id, found)
    call = call_for(request, state, agent.caller)
    result = await classification.classify_and_record(
        reader,
        call,
        profile,
        explain=True,
        histories=strategy.contact_history_of(client_id, contacts),
    )
    catalogue = {spec.code: spec for spec in call.pinned.ruleset.document.actions}
    today = datetime.now(TIMEZONE).date()
    card = cards.build(chosen, profile=profile, result=result, catalogue=catalogue, today=today)
    # The classes were read before this classification was recorded: it comes first.
    classified = [_classes_now(result), *classification.classes_of(classes)]
    card.changes = history.tier_changes(chosen, classified, CHANGES)
    answered, complaint = outcomes.calls_of(recent, CALLS)
    card.outcomes = history.outcome_rows(chosen, answered, catalogue)
    card.insurance = insurance.build(
        chosen, profile, calls=answered, complaint=complaint, today=today
    )
    return card


def _classes_now(result: Mapping[str, Any]) -> classification.Classes:
    return classification.Classes(
        result["classified_at"],
        result["value"]["tier"],
        result["risk"]["tier"],
        result["lifecycle"]["stage"],
    )


@router.get("/strategy")
async def strategy_report(request: Request, session: SessionDep, agent: AnalystDep) -> Response:
    """The strategy report: per action and segment, offers, acceptance and the uplift of the
    treated over the control group (`clientscore strategy report`, docs/strategy.md)."""
    rows = await strategy.report(session)
    searches = bool({Scope.desk, Scope.admin} & agent.caller.scopes)  # not for an analyst
    return page(request, "strategy.html", agent=agent, query="", rows=rows, searches=searches)


async def favicon() -> Response:
    """Browsers ask every site for /favicon.ico: the desk's icon, never a 404."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def install(app: FastAPI, settings: Settings) -> None:
    """The desk's routes, its static files and its sign-in, on `app`."""
    app.mount("/desk/static", StaticFiles(directory=STATIC), name="desk-static")
    app.add_api_route("/favicon.ico", favicon, include_in_schema=False)
    signin.install(app, settings)
    app.include_router(router)
    app.include_router(calls.router)
    app.include_router(whatif.router)  # before /book/{name}, the report's plots
