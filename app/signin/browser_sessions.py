"""Browser sessions: opened at sign-in, read on every page, ended by sign-out or by time.

A session ends at the first of: sign-out (its record is deleted, so a replayed cookie opens
nothing), `idle` without a page, and its absolute lifetime. The cookie carries a random
token; the database keeps only the token's SHA-256, so a copy of the table opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.db.base import as_utc
from app.db.hot import Reader
from app.db.unit import Session
from app.signin import repository
from app.signin.roles import Role
from app.signin.tables import SignInAttempt, WebSession

SEEN_EVERY = timedelta(minutes=1)  # a session's last page is written at most this often
ATTEMPT_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Signed:
    """Who a browser session belongs to, and what it carries."""

    kind: str  # "oidc": a person from the identity provider; "key": an API-key desk sign-in
    subject: str
    name: str
    roles: frozenset[Role]
    key_id: str | None
    csrf: str
    id_token: str | None
    recheck_at: datetime | None
    team: str | None = None  # the person's team, from the token (a team lead's view)

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(self.csrf, sent)


@dataclass(frozen=True, slots=True)
class Attempt:
    nonce: str
    code_verifier: str
    next_page: str


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _signed(row: Any) -> Signed:
    # `row`: a `WebSession`, or a row of `web_session` as its repository reads it.
    return Signed(
        kind=row.kind,
        subject=row.subject,
        name=row.name,
        roles=frozenset(Role(r) for r in row.roles if r in Role.__members__),
        key_id=row.key_id,
        csrf=row.csrf,
        id_token=row.id_token,
        recheck_at=as_utc(row.recheck_at) if row.recheck_at else None,
        team=row.team,
    )


async def open_session(
    session: Session,
    *,
    kind: str,
    subject: str,
    name: str,
    roles: frozenset[Role],
    key_id: str | None,
    id_token: str | None,
    now: datetime,
    lifetime: timedelta,
    recheck: timedelta | None,
    idle: timedelta,
    team: str | None = None,
) -> tuple[str, Signed]:
    """A new session; (the cookie's token, the session). Ended sessions are swept first."""
    await repository.delete_expired(session, now=now, idle_since=now - idle)
    token = new_token()
    row = WebSession(
        token_sha256=_sha256(token),
        kind=kind,
        subject=subject[:255],
        name=name[:200],
        roles=sorted(r.value for r in roles),
        key_id=key_id,
        csrf=new_token(),
        id_token=id_token,
        created_at=now,
        seen_at=now,
        expires_at=now + lifetime,
        recheck_at=now + recheck if recheck is not None else None,
        team=team[:100] if team else None,
    )
    await repository.add_session(
        session, {c.name: getattr(row, c.name) for c in WebSession.__table__.columns}
    )
    return token, _signed(row)


@dataclass(frozen=True, slots=True)
class OnPage:
    """A session as a page reads it. `ended`: past its lifetime or idle too long, to be
    deleted; `stale`: its last page is older than `SEEN_EVERY`, to be written; `key`: a key
    sign-in's key (id, name, scopes) while it exists and is not revoked."""

    signed: Signed
    ended: bool
    stale: bool
    key: tuple[str, str, tuple[str, ...]] | None


async def on_page(
    reader: Reader, token: str | None, *, now: datetime, idle: timedelta
) -> OnPage | None:
    """The session of a cookie's token with its key, in one read that needs no transaction;
    None when there is none. Ending it (`close`) or writing its last page (`seen`) is for a
    transaction of the caller's, when `ended` or `stale` say so."""
    if not token or len(token) > 100:
        return None
    row = await repository.page_session(reader, _sha256(token))
    if row is None:
        return None
    seen_at = as_utc(row.seen_at)
    key = None
    if row.key_name is not None and row.key_revoked_at is None:
        key = (row.key_id, row.key_name, tuple(row.key_scopes))
    return OnPage(
        _signed(row),
        ended=as_utc(row.expires_at) <= now or seen_at + idle <= now,
        stale=now - seen_at >= SEEN_EVERY,
        key=key,
    )


async def seen(session: Session, token: str, now: datetime) -> None:
    """A page of the session's was seen at `now`."""
    await repository.seen(session, _sha256(token), now)


async def close(session: Session, token: str | None) -> bool:
    """End the session of a cookie's token; whether there was one."""
    if not token or len(token) > 100:
        return False
    return await repository.delete_session(session, _sha256(token))


async def start_attempt(
    session: Session, *, state: str, nonce: str, code_verifier: str, next_page: str, now: datetime
) -> None:
    """Record a sign-in sent to the provider with `state`, until its callback."""
    await repository.add_attempt(
        session,
        {
            "state_sha256": _sha256(state),
            "nonce": nonce,
            "code_verifier": code_verifier,
            "next_page": next_page,
            "expires_at": now + ATTEMPT_LIFETIME,
        },
    )


async def take_attempt(session: Session, state: str | None, *, now: datetime) -> Attempt | None:
    """The attempt of a callback's `state`, used up: a second callback with it gets None."""
    if not state or len(state) > 100:
        return None
    row: SignInAttempt | None = await repository.take_attempt(session, _sha256(state))
    if row is None or as_utc(row.expires_at) <= now:
        return None
    return Attempt(row.nonce, row.code_verifier, row.next_page)


SESSION_ID_LENGTH = 12  # the start of the token's SHA-256 an operator names a session by


@dataclass(frozen=True, slots=True)
class Listed:
    """A session as an operator sees it: never the token, nor anything that opens it."""

    session_id: str
    kind: str
    subject: str
    name: str
    key_id: str | None
    created_at: datetime
    seen_at: datetime
    expires_at: datetime


async def listed(
    session: Session, *, subject: str | None = None, key_id: str | None = None
) -> list[Listed]:
    rows = await repository.list_sessions(session, subject=subject, key_id=key_id)
    return [
        Listed(
            row.token_sha256[:SESSION_ID_LENGTH],
            row.kind,
            row.subject,
            row.name,
            row.key_id,
            as_utc(row.created_at),
            as_utc(row.seen_at),
            as_utc(row.expires_at),
        )
        for row in rows
    ]


async def end(
    session: Session,
    *,
    session_id: str | None = None,
    subject: str | None = None,
    key_id: str | None = None,
) -> int:
    """End sessions at once: one by its id, or every one of a person or a key; how many."""
    if session_id is not None and len(session_id) < SESSION_ID_LENGTH:
        raise ValueError(f"a session id has {SESSION_ID_LENGTH} characters")
    return await repository.delete_sessions(
        session, id_prefix=session_id, subject=subject, key_id=key_id
    )
