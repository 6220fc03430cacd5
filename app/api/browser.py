"""Who is at the browser: the server-side session behind a page's cookie, and what it may open.

A person signed in through the identity provider opens what their roles allow; an API-key
sign-in (the demo's desk) what its key's scopes allow, checked against the key on every
page, so revoking the key ends the session at once. The page decides what it needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request

from app.api.state import AppState
from app.auth.service import Caller, Scope, caller_of
from app.db.hot import Reader
from app.observability.http import record_of
from app.signin import browser_sessions
from app.signin.browser_sessions import Signed
from app.signin.roles import Role

SESSION_COOKIE = "clientscore_session"
COOKIE_PATH = "/"
SIGN_IN = "/desk/sign-in"
ROLE_SCOPES = {
    Role.agent: Scope.desk,
    Role.team_lead: Scope.desk,
    Role.analyst: Scope.analyst,
    Role.admin: Scope.admin,
}


class SignInRequired(Exception):
    """No live session: the page sends the browser to sign in, keeping where it was.
    `recheck`: the session is due to go back through the provider."""

    def __init__(self, target: str, *, expired: bool, recheck: bool = False) -> None:
        self.target = target
        self.expired = expired
        self.recheck = recheck


class NotPermitted(Exception):
    """Signed in, but the person's roles (or the key's scopes) do not open this page."""

    def __init__(self, visitor: Visitor, needed: frozenset[Role]) -> None:
        self.visitor = visitor
        self.needed = needed


@dataclass(frozen=True, slots=True)
class Visitor:
    caller: Caller
    session: Signed

    @property
    def person(self) -> tuple[str, str] | None:
        """(subject, name) of a person signed in through the provider; None for a key."""
        return (self.session.subject, self.session.name) if self.session.kind == "oidc" else None

    @property
    def team(self) -> str | None:
        """The person's team (from the token), None for a key or a person without one."""
        return self.session.team if self.session.kind == "oidc" else None

    @property
    def leads_team(self) -> str | None:
        """The team a team lead sees the callbacks and outcomes of; None for anyone else."""
        return self.team if Role.team_lead in self.session.roles else None


def person_id(subject: str) -> str:
    """A person's id in logs and the audit trail: pseudonymous, as short as a key id."""
    return "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:12]


def here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def visitor(
    request: Request,
    state: AppState,
    *,
    roles: frozenset[Role],
    scopes: tuple[Scope, ...],
    reader: Reader | None = None,
) -> Visitor:
    """The session's visitor if it may open this page: a person holding one of `roles`, or
    a key sign-in holding one of `scopes`. Else SignInRequired or NotPermitted. The session
    and its key are read in one statement, on `reader` (the request's reads) if given."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(here(request), expired=False)
    now = datetime.now(UTC)
    found = await _kept(state, token, await _read(state, token, now, reader), now)
    if found is None:
        raise SignInRequired(here(request), expired=True)
    signed = found.signed
    if signed.kind == "oidc":
        if not state.settings.oidc_issuer:  # the provider was taken out of the configuration
            raise SignInRequired(here(request), expired=True)
        if signed.recheck_at is not None and signed.recheck_at <= now:
            raise SignInRequired(here(request), expired=False, recheck=True)
        caller = Caller(
            person_id(signed.subject),
            signed.name,
            frozenset(ROLE_SCOPES[role] for role in signed.roles),
        )
    else:
        assert found.key is not None  # else not kept
        caller = caller_of(*found.key)
    record_of(request.scope).key_id = caller.key_id  # for the log line: key or person id
    visiting = Visitor(caller, signed)
    allowed = (
        bool(signed.roles & roles)
        if signed.kind == "oidc"
        else Scope.admin in caller.scopes or bool(caller.scopes.intersection(scopes))
    )
    if not allowed:
        raise NotPermitted(visiting, roles)
    return visiting


async def _read(
    state: AppState, token: str, now: datetime, reader: Reader | None
) -> browser_sessions.OnPage | None:
    idle = timedelta(minutes=state.settings.session_idle_minutes)
    if reader is not None:
        return await browser_sessions.on_page(reader, token, now=now, idle=idle)
    async with state.hot_path.connection() as own:
        return await browser_sessions.on_page(own, token, now=now, idle=idle)


async def _kept(
    state: AppState, token: str, found: browser_sessions.OnPage | None, now: datetime
) -> browser_sessions.OnPage | None:
    """The session if it lives on. One that has ended, or a key sign-in whose key is revoked
    (checked on every page: a revocation ends it now) or whose kind is turned off, is
    deleted; a live one's last page is written when it is stale."""
    if found is None:
        return None
    key_refused = found.signed.kind == "key" and (
        found.key is None or not state.settings.key_sign_in
    )
    gone = found.ended or key_refused
    if gone or found.stale:
        async with state.session_factory() as db, db.begin():
            if gone:
                await browser_sessions.close(db, token)
            else:
                await browser_sessions.seen(db, token, now)
    return None if gone else found
