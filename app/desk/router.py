"""The desk's pages: sign-in, finding the caller, the card, recording the call, sign-out.

Server-rendered (Jinja2) with every asset served from /desk/static. The card classifies
through the same service as `GET /v1/clients/{id}/classification` and is recorded in the
audit trail alike. Searched numbers travel in query strings, which the request log leaves
out (it records the route template only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app.api.classification import call_for
from app.api.deps import SessionDep, StateDep
from app.api.pages import protect
from app.auth.service import Caller, Scope
from app.classification import service as classification
from app.desk import card as cards
from app.desk.i18n import LANGS, Lang, lang_of, t
from app.desk.lookup import find
from app.desk.session import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    DeskSession,
    Sessions,
    new_token,
    same_token,
)
from app.errors import Forbidden, NotFound, ServiceError
from app.outcomes import service as outcomes
from app.outcomes.schemas import MAX_NOTE, CallResult, OutcomeCreate
from app.profiles import service as profiles
from app.settings import Settings
from app.strategy import service as strategy

STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/desk", include_in_schema=False)
LANG_COOKIE = "desk_lang"
HISTORY = 5


@dataclass(frozen=True, slots=True)
class Agent:
    caller: Caller
    session: DeskSession


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.desk_sessions
    return sessions


def _lang(request: Request) -> Lang:
    return lang_of(request.cookies.get(LANG_COOKIE))


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(target: str | None) -> str:
    # Only back into the desk: never an open redirect to another site.
    if target and target.startswith("/desk") and not target.startswith("//"):
        return target
    return "/desk"


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"lang": lang, "other": "en" if lang == "zh" else "zh", "t": t, "here": _here(request),
         "max_note": MAX_NOTE, "results": [r.value for r in CallResult], **context},
        status_code=status,
    )  # fmt: skip
    protect(response)
    return response


class SignInRequired(Exception):
    """No valid session: the page sends the agent to sign in, keeping where they were."""

    def __init__(self, target: str, expired: bool) -> None:
        self.target = target
        self.expired = expired


async def _agent(request: Request, state: StateDep) -> Agent:
    cookie = request.cookies.get(SESSION_COOKIE)
    desk = _sessions(request).read(cookie)
    caller = None
    if desk is not None:
        caller = await state.verifier.signed_in(state.sessions, desk.key_id)
    if desk is None or caller is None:
        raise SignInRequired(_here(request), expired=cookie is not None)
    caller.require_any(Scope.desk)
    request.state.caller = caller  # for the request's log line: the key id
    return Agent(caller, desk)


AgentDep = Annotated[Agent, Depends(_agent)]


def sign_in_redirect(_request: Request, exc: SignInRequired) -> Response:
    query = {"next": exc.target} | ({"expired": "1"} if exc.expired else {})
    response = RedirectResponse(f"/desk/sign-in?{urlencode(query)}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


SIGN_IN_ERRORS = frozenset({"key_refused", "no_desk_scope"})


@router.get("/")
async def with_slash() -> Response:
    """`/desk/` is the desk: a relative redirect, never built from the request's Host."""
    return RedirectResponse("/desk", status_code=308)


@router.get("/sign-in")
async def sign_in_page(
    request: Request, next: str | None = None, expired: bool = False, error: str | None = None
) -> HTMLResponse:
    token = new_token()
    response = _page(
        request,
        "sign_in.html",
        next=_safe_next(next),
        csrf=token,
        expired=expired,
        error=error if error in SIGN_IN_ERRORS else None,
    )
    _cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    state: StateDep,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/desk",
) -> Response:
    lang = _lang(request)
    if not same_token(request.cookies.get(SIGN_IN_COOKIE), csrf):
        return _page(request, "message.html", 403, title=t(lang, "error"), text=t(lang, "csrf"))
    try:
        caller = await state.verifier.verify(state.sessions, key.strip())
        if Scope.desk not in caller.scopes and Scope.admin not in caller.scopes:
            raise Forbidden(t(lang, "no_desk_scope"))
    except ServiceError as exc:
        # A code, never text: the page says only what the desk itself words.
        code = "no_desk_scope" if isinstance(exc, Forbidden) else "key_refused"
        query = urlencode({"next": _safe_next(next), "error": code})
        return RedirectResponse(f"/desk/sign-in?{query}", status_code=303)
    _, cookie = _sessions(request).issue(caller.key_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _cookie(request, response, SESSION_COOKIE, cookie, max_age=_sessions(request).max_age)
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, agent: AgentDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    if not agent.session.csrf_ok(csrf):
        lang = _lang(request)
        return _page(request, "message.html", 403, title=t(lang, "error"), text=t(lang, "csrf"))
    response = RedirectResponse("/desk/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/lang/{lang}")
async def switch_language(lang: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if lang in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, path=COOKIE_PATH, samesite="strict"
        )
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
        return _page(request, "search.html", agent=agent, query="", found=None)
    found = await find(
        session, query=query, phone=phone, national_id=national_id, client_id=client_id
    )
    if len(found) == 1:
        return RedirectResponse(f"/desk/clients/{quote(found[0].client_id)}", status_code=303)
    return _page(request, "search.html", agent=agent, query=query, found=found)


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
    lang = _lang(request)
    try:
        return await _card(request, state, session, agent, client_id, lang, recorded, error)
    except NotFound:
        return _page(request, "search.html", agent=agent, query=client_id, found=[])
    except ServiceError as exc:  # e.g. 503: a model or the ruleset is not loaded
        return _page(request, "message.html", exc.status, title=t(lang, "error"), text=exc.detail)


async def _card(
    request: Request,
    state: StateDep,
    session: SessionDep,
    agent: Agent,
    client_id: str,
    lang: Lang,
    recorded: int | None,
    error: str | None,
) -> HTMLResponse:
    profile = await profiles.get_client(session, client_id=client_id)
    call = call_for(request, state, agent.caller)
    result = await classification.classify_read(session, call, profile, explain=True)
    catalogue = {spec.code: spec for spec in call.pinned.ruleset.document.actions}
    card = cards.build(
        lang, profile=profile, result=result, catalogue=catalogue, today=date.today()
    )
    history = await classification.history(
        session, client_id=client_id, since=None, until=None, cursor=None, limit=HISTORY
    )
    card.classifications = cards.history_rows(lang, history.items)
    answered = await outcomes.list_outcomes(session, client_id=client_id, cursor=None, limit=8)
    card.outcomes = cards.outcome_rows(lang, answered.items, catalogue)
    message = t(lang, "saved", n=recorded) if recorded else None
    problem = t(lang, error) if error in {"answer_one", "not_recorded"} else None
    return _page(
        request, "card.html", agent=agent, card=card, query="", message=message, problem=problem
    )


@router.get("/strategy")
async def strategy_report(request: Request, session: SessionDep, agent: AgentDep) -> Response:
    """The strategy report: per action and segment, offers, acceptance and the uplift of the
    treated over the control group (`clientscore strategy report`, docs/strategy.md)."""
    rows = await strategy.report(session)
    return _page(request, "strategy.html", agent=agent, query="", rows=rows)


@router.post("/clients/{client_id}/outcomes")
async def record_call(request: Request, session: SessionDep, agent: AgentDep) -> Response:
    client_id = request.path_params["client_id"]
    form = await request.form()
    lang = _lang(request)
    sent = form.get("csrf")
    if not agent.session.csrf_ok(sent if isinstance(sent, str) else None):
        return _page(request, "message.html", 403, title=t(lang, "error"), text=t(lang, "csrf"))
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
                    at=datetime.now(UTC),
                )  # fmt: skip
    except (ValidationError, ServiceError):
        return RedirectResponse(f"{card_url}?error=not_recorded", status_code=303)
    return RedirectResponse(f"{card_url}?recorded={len(answers)}", status_code=303)


def install(app: FastAPI, settings: Settings) -> None:
    """The desk's routes, its static files and its sign-in redirect, on `app`."""
    secret = settings.desk_session_secret
    app.state.desk_sessions = Sessions(
        secret.get_secret_value() if secret else new_token(), settings.desk_session_minutes
    )
    app.mount("/desk/static", StaticFiles(directory=STATIC), name="desk-static")
    app.add_exception_handler(SignInRequired, sign_in_redirect)  # type: ignore[arg-type]
    app.include_router(router)
