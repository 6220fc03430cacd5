"""Signing in to the pages and out: single sign-on (OpenID Connect), or an API key (the demo).

`GET /desk/sign-in/oidc` sends the browser to the identity provider with a fresh `state`,
`nonce` and PKCE verifier, kept server-side (`sign_in_attempt`) and bound to the browser by
a cookie holding the state. `GET /desk/sign-in/callback` takes the attempt (once: a replayed
state finds nothing), exchanges the code, verifies the ID token and maps the person's groups
to roles; a person with a role gets a server-side session, one without gets a page saying
so. Sign-out deletes the session record, then sends the browser to the provider's
end-session endpoint when it has one.

Cookies are HttpOnly and SameSite=Lax, Secure over https. Lax, not Strict: the provider
sends the browser back to the callback from its own site, and a Strict cookie is not sent
on such a navigation (nor on the redirects that follow it), so the state cookie would be
missing and the new session would look signed out. Lax still keeps the cookies off
cross-site POSTs, and every form carries a CSRF token besides.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.browser import (
    COOKIE_PATH,
    SESSION_COOKIE,
    NotPermitted,
    SignInRequired,
    Visitor,
    visitor,
)
from app.api.deps import StateDep
from app.auth.service import Scope
from app.desk.pages import lang, message, page, safe_next
from app.errors import ServiceError, TooManyRequests
from app.i18n.texts import t
from app.settings import Settings
from app.signin import browser_sessions
from app.signin.oidc import Provider, ProviderUnreachable, SignInRefused
from app.signin.roles import ANALYSIS, DESK, Role, claimed, mapped

log = logging.getLogger("clientscore.signin")
router = APIRouter(prefix="/desk", include_in_schema=False)
SIGN_IN_COOKIE = "desk_sign_in"  # the key form's CSRF token (double submit)
STATE_COOKIE = "desk_sign_in_state"  # binds a provider sign-in to the browser that began it
STATE_PATH = "/desk/sign-in"
SIGN_IN_ERRORS = frozenset({"key_refused", "no_desk_scope"})
EVERYONE = frozenset(Role)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(cookie: str | None, sent: str | None) -> bool:
    return bool(cookie) and bool(sent) and hmac.compare_digest(str(cookie), str(sent))


def _provider(request: Request) -> Provider | None:
    provider: Provider | None = request.app.state.oidc
    return provider


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.signin_settings
    return settings


def _secure(request: Request) -> bool:
    redirect = _settings(request).oidc_redirect_url or ""
    return request.url.scheme == "https" or redirect.startswith("https://")


def _cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, path: str
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _lifetime(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.desk_session_minutes)


def _idle(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


@router.get("/sign-in")
async def sign_in_page(
    request: Request, next: str | None = None, expired: bool = False, error: str | None = None
) -> HTMLResponse:
    settings = _settings(request)
    token = new_token()
    response = page(
        request,
        "sign_in.html",
        next=safe_next(next),
        csrf=token,
        expired=expired,
        error=error if error in SIGN_IN_ERRORS else None,
        sso=_provider(request) is not None,
        key_sign_in=settings.key_sign_in,
    )
    if settings.key_sign_in:
        _cookie(request, response, SIGN_IN_COOKIE, token, 3600, STATE_PATH)
    return response


@router.post("/sign-in")
async def sign_in_with_key(
    request: Request,
    state: StateDep,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/desk",
) -> Response:
    settings = _settings(request)
    if not settings.key_sign_in:
        return message(request, 403, "key_sign_in_off")
    if not same_token(request.cookies.get(SIGN_IN_COOKIE), csrf):
        return message(request, 403, "csrf")
    address = request.client.host if request.client else None
    try:
        caller = await state.verifier.verify(state.session_factory, key.strip(), address=address)
        code = None
        if Scope.desk not in caller.scopes and Scope.admin not in caller.scopes:
            code = "no_desk_scope"
    except TooManyRequests as exc:
        refused = message(request, 429, "too_many_attempts")
        refused.headers.update(exc.headers)
        return refused
    except ServiceError:
        code = "key_refused"  # a code, never text: the page says only what the desk words
    if code is not None:
        query = urlencode({"next": safe_next(next), "error": code})
        return RedirectResponse(f"/desk/sign-in?{query}", status_code=303)
    now = datetime.now(UTC)
    async with state.session_factory() as db, db.begin():
        await browser_sessions.close(db, request.cookies.get(SESSION_COOKIE))
        token, _ = await browser_sessions.open_session(
            db, kind="key", subject=caller.key_id, name=caller.name, roles=frozenset(),
            key_id=caller.key_id, id_token=None, now=now, lifetime=_lifetime(settings),
            recheck=None, idle=_idle(settings),
        )  # fmt: skip
    response = RedirectResponse(safe_next(next), status_code=303)
    _cookie(request, response, SESSION_COOKIE, token, settings.desk_session_minutes * 60, "/")
    response.delete_cookie(SIGN_IN_COOKIE, path=STATE_PATH)
    return response


@router.get("/sign-in/oidc")
async def sign_in_with_provider(
    request: Request, state: StateDep, next: str | None = None
) -> Response:
    provider = _provider(request)
    if provider is None:
        return message(request, 404, "sso_not_configured")
    try:
        start = await provider.start()
    except ProviderUnreachable as exc:
        log.warning("sign-in: the identity provider cannot be reached: %s", exc)
        return message(request, 503, "sso_unreachable")
    async with state.session_factory() as db, db.begin():
        await browser_sessions.start_attempt(
            db, state=start.state, nonce=start.nonce, code_verifier=start.code_verifier,
            next_page=safe_next(next), now=datetime.now(UTC),
        )  # fmt: skip
    response = RedirectResponse(start.url, status_code=303)
    lifetime = int(browser_sessions.ATTEMPT_LIFETIME.total_seconds())
    _cookie(request, response, STATE_COOKIE, start.state, lifetime, STATE_PATH)
    return response


def _team(claims: Mapping[str, Any], claim: str) -> str | None:
    """The person's team: the claim's text, or the first of its list; None without one."""
    value = claims.get(claim)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _landing(target: str, roles: frozenset[Role]) -> str:
    """Where a new session goes: where the person was going, or for the desk's default an
    analyst without a desk role goes to the book."""
    if target == "/desk" and not roles & DESK and roles & ANALYSIS:
        return "/book"
    return target


@router.get("/sign-in/callback")
async def callback(
    request: Request,
    state: StateDep,
    code: str | None = None,
    error: str | None = None,
) -> Response:
    provider = _provider(request)
    if provider is None:
        return message(request, 404, "sso_not_configured")
    sent = request.query_params.get("state")
    if not same_token(request.cookies.get(STATE_COOKIE), sent):
        return _refused(request, 400, "sso_bad_state")
    now = datetime.now(UTC)
    async with state.session_factory() as db, db.begin():
        attempt = await browser_sessions.take_attempt(db, sent, now=now)
    if attempt is None:
        return _refused(request, 400, "sso_bad_state")
    if error or not code or len(code) > 2000:
        return _refused(request, 403, "sso_denied")
    try:
        identity = await provider.finish(
            code=code, nonce=attempt.nonce, code_verifier=attempt.code_verifier
        )
    except ProviderUnreachable as exc:
        log.warning("sign-in: the identity provider cannot be reached: %s", exc)
        return _refused(request, 503, "sso_unreachable")
    except SignInRefused as exc:
        log.warning("sign-in refused: %s", exc)
        return _refused(request, 401, "sso_refused")
    settings = _settings(request)
    role_map = {group: Role(role) for group, role in settings.oidc_role_map.items()}
    roles = mapped(claimed(identity.claims, settings.oidc_roles_claim), role_map)
    async with state.session_factory() as db, db.begin():
        await browser_sessions.close(db, request.cookies.get(SESSION_COOKIE))
        if not roles:
            token = None
        else:
            token, _ = await browser_sessions.open_session(
                db, kind="oidc", subject=identity.subject, name=identity.name, roles=roles,
                key_id=None, id_token=identity.id_token, now=now, lifetime=_lifetime(settings),
                recheck=timedelta(minutes=settings.oidc_recheck_minutes), idle=_idle(settings),
                team=_team(identity.claims, settings.oidc_team_claim),
            )  # fmt: skip
    if token is None:
        response: Response = message(request, 403, "no_role", name=identity.name)
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    else:
        response = RedirectResponse(_landing(attempt.next_page, roles), status_code=303)
        _cookie(request, response, SESSION_COOKIE, token, settings.desk_session_minutes * 60, "/")
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


def _refused(request: Request, status: int, text_key: str) -> Response:
    response = message(request, status, text_key)
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


async def _anyone(request: Request, state: StateDep) -> Visitor:
    return await visitor(request, state, roles=EVERYONE, scopes=tuple(Scope))


@router.get("/sign-out")
async def sign_out_page(request: Request, who: Annotated[Visitor, Depends(_anyone)]) -> Response:
    """A page with the sign-out button, for pages that have none (the book report)."""
    return page(request, "sign_out.html", agent=None, visitor=who)


@router.post("/sign-out")
async def sign_out(
    request: Request,
    state: StateDep,
    who: Annotated[Visitor, Depends(_anyone)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not who.session.csrf_ok(csrf):
        return message(request, 403, "csrf")
    async with state.session_factory() as db, db.begin():
        await browser_sessions.close(db, request.cookies.get(SESSION_COOKIE))
    response: Response = RedirectResponse("/desk/sign-in", status_code=303)
    provider = _provider(request)
    if provider is not None and who.session.kind == "oidc":
        back = urlsplit(provider.redirect_url)._replace(path="/desk/sign-in", query="")
        ended = await provider.end_session_url(id_token=who.session.id_token, after=back.geturl())
        if ended:
            # A page that goes on to the provider: the pages' `form-action 'self'` policy
            # stops a form's redirect to another site, not a page's own navigation.
            response = page(request, "signed_out.html", provider_url=ended)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def sign_in_redirect(request: Request, exc: SignInRequired) -> Response:
    if exc.recheck and _provider(request) is not None:
        # Back through the provider: silent while the person's provider session lasts, and
        # the roles are those of the groups they hold now.
        return RedirectResponse(
            f"/desk/sign-in/oidc?{urlencode({'next': safe_next(exc.target)})}", status_code=303
        )
    query = {"next": safe_next(exc.target)} | ({"expired": "1"} if exc.expired else {})
    response = RedirectResponse(f"/desk/sign-in?{urlencode(query)}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def not_permitted(request: Request, exc: NotPermitted) -> Response:
    chosen = lang(request)
    held = ", ".join(sorted(exc.visitor.session.roles)) or ", ".join(
        sorted(exc.visitor.caller.scopes)
    )
    return page(
        request,
        "sign_out.html",
        403,
        agent=None,
        visitor=exc.visitor,
        problem=t(chosen, "wrong_role", roles=held),
    )


def install(app: FastAPI, settings: Settings) -> None:
    """The sign-in routes, and what a page without a session or permission answers."""
    app.state.signin_settings = settings
    app.state.oidc = None
    if settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_url:
        secret = settings.oidc_client_secret
        app.state.oidc = Provider(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            redirect_url=settings.oidc_redirect_url,
            scopes=settings.oidc_scopes,
            timeout=settings.oidc_timeout_seconds,
        )
    app.add_exception_handler(SignInRequired, sign_in_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(NotPermitted, not_permitted)  # type: ignore[arg-type]
    app.include_router(router)
