"""API keys: minting, listing, revoking, and checking a presented key against its scopes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from app.auth import repository
from app.auth.scopes import Scope as Scope  # where the API and the desk import it from
from app.auth.tables import ApiKey
from app.auth.throttle import Throttle
from app.db.outage import OUTAGE_ERRORS, is_outage
from app.db.unit import Session, SessionFactory
from app.errors import Forbidden, TooManyRequests, Unauthorized, ValidationFailed

KEY_PREFIX = "cs"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the key's public id (logged and audited, never the secret)."""

    key_id: str
    name: str
    scopes: frozenset[Scope]

    def require_any(self, *scopes: Scope) -> None:
        """Admit a key holding at least one of `scopes`.

        `admin` is the operator's key: it may do everything the other scopes allow."""
        if Scope.admin not in self.scopes and not self.scopes.intersection(scopes):
            named = " or ".join(f"'{scope.value}'" for scope in scopes)
            raise Forbidden(f"this endpoint needs the {named} scope")


ANONYMOUS = Caller(key_id="anonymous", name="auth disabled", scopes=frozenset(Scope))


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    name: str
    scopes: list[str]
    token: str


def _digest(secret: str) -> str:
    # Keys carry 256 random bits, so a plain SHA-256 is not brute-forceable; no slow KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(raw: list[str]) -> list[Scope]:
    scopes: list[Scope] = []
    for item in raw:
        try:
            scopes.append(Scope(item))
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise ValidationFailed(f"unknown scope '{item}': use {allowed}") from None
    if not scopes:
        raise ValidationFailed("a key needs at least one scope")
    return sorted(set(scopes))


async def create_key(session: Session, *, name: str, scopes: list[str]) -> IssuedKey:
    if not 1 <= len(name.strip()) <= 100:
        raise ValidationFailed("a key name has 1 to 100 characters")
    parsed = parse_scopes(scopes)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=key_id,
        name=name.strip(),
        scopes=[s.value for s in parsed],
        secret_sha256=_digest(secret),
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    await repository.add(session, key)
    return IssuedKey(key_id, key.name, key.scopes, f"{KEY_PREFIX}_{key_id}_{secret}")


async def list_keys(session: Session) -> list[ApiKey]:
    return await repository.list_all(session)


async def revoke_key(session: Session, *, key_id: str) -> bool:
    return await repository.revoke(session, key_id=key_id, at=datetime.now(UTC))


async def revoke_keys_named(session: Session, *, name: str) -> int:
    return await repository.revoke_by_name(session, name=name, at=datetime.now(UTC))


async def key_caller(session: Session, key_id: str) -> Caller | None:
    """The caller of a key id that was verified earlier (a desk sign-in); None if revoked."""
    key = await repository.get(session, key_id)
    if key is None or key.revoked_at is not None:
        return None
    return _caller(key)


def _caller(key: ApiKey) -> Caller:
    return caller_of(key.key_id, key.name, key.scopes)


def caller_of(key_id: str, name: str, scopes: Iterable[str]) -> Caller:
    """The caller of a stored key, from its id, name and scopes."""
    return Caller(key_id, name, frozenset(Scope(s) for s in scopes))


# Reads of the stored key ids that find no key: a burst of 100, then 20 a second. A read
# that finds the key it was made for costs nothing.
KNOWN_READS_BURST = 100.0
KNOWN_READS_PER_SECOND = 20.0


def _key_id(token: str) -> str | None:
    """The key id a well-formed token names (None for a malformed one)."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    return key_id if prefix == KEY_PREFIX and key_id and secret and len(key_id) <= 32 else None


V = TypeVar("V")
TIMED_CACHE_AT_MOST = 10_000  # entries; then the cache starts again empty


@dataclass
class _TimedCache(Generic[V]):
    """A cache whose reads name how old a value they accept: each value kept with its time."""

    _entries: dict[str, tuple[float, V]] = field(default_factory=dict)

    def get(self, key: str, seconds: float) -> V | None:
        """The value found for `key` less than `seconds` ago, if any."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= seconds:
            return None
        return entry[1]

    def keep(self, key: str, value: V) -> None:
        if len(self._entries) > TIMED_CACHE_AT_MOST:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)


@dataclass(frozen=True, slots=True)
class _Found:
    """A looked-up caller, None for a revoked key: remembered as found either way."""

    caller: Caller | None


@dataclass
class KeyVerifier:
    """Checks bearer tokens, remembering good ones briefly so a hot path avoids a query.

    While the database cannot be reached, a key verified within the last `grace_seconds`
    is still trusted, so what needs no database (inline classification) keeps answering.
    """

    cache_seconds: float
    grace_seconds: float = 0.0
    throttle: Throttle | None = None
    _tokens: _TimedCache[Caller] = field(default_factory=_TimedCache)
    _signed_in: _TimedCache[_Found] = field(default_factory=_TimedCache)
    _known: frozenset[str] = frozenset()  # the key ids stored, as last read
    _budget_at: float = 0.0
    _reading: asyncio.Future[None] | None = None
    _budget: float = KNOWN_READS_BURST

    async def verify(
        self, session_factory: SessionFactory, token: str | None, *, address: str | None = None
    ) -> Caller:
        """The caller of `token`; the database is asked only when the cache has no answer.
        Failures are counted per `address` (the client's) and per key id: past the
        throttle's limit the caller gets 429 before anything is looked up."""
        if not token:
            raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
        cached = self._tokens.get(token, self.cache_seconds)
        if cached is not None:
            return cached
        key_id = _key_id(token)
        if self.throttle is not None:
            wait = self.throttle.wait(address, key_id)
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                raise TooManyRequests(
                    f"too many failed authentications: try again in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
        try:
            caller = await self._checked(session_factory, token, key_id)
        except Unauthorized:
            if self.throttle is not None:
                self.throttle.failed(address, key_id)
            raise
        if self.cache_seconds > 0 or self.grace_seconds > 0:
            self._tokens.keep(token, caller)
        return caller

    async def _checked(
        self, session_factory: SessionFactory, token: str, key_id: str | None
    ) -> Caller:
        try:
            if key_id is not None and not await self._may_exist(session_factory, key_id):
                raise Unauthorized("the API key is not valid")
            async with session_factory() as session:
                return await self._lookup(session, token)
        except OUTAGE_ERRORS as exc:
            kept = self._tokens.get(token, self.grace_seconds)
            if is_outage(exc) and kept is not None:
                return kept
            raise

    async def _may_exist(self, session_factory: SessionFactory, key_id: str) -> bool:
        """Whether a key with this id may be stored. An id not among those last read has
        them read again, as long as the budget of reads that find nothing allows
        (`KNOWN_READS_BURST`, then `KNOWN_READS_PER_SECOND`): a key made meanwhile is found at
        its first use, while a flood of guessed ids costs a few queries a second, not one per
        guess. Requests that miss while a read is under way wait for that read."""
        if key_id in self._known:
            return True
        reading = self._reading
        if reading is None:
            now = time.monotonic()
            self._budget = min(
                KNOWN_READS_BURST,
                self._budget + (now - self._budget_at) * KNOWN_READS_PER_SECOND,
            )
            self._budget_at = now
            if self._budget < 1:
                return False
            self._budget -= 1
            reading = self._reading = asyncio.ensure_future(self._read_known(session_factory))
        await asyncio.shield(reading)
        found = key_id in self._known
        if found:  # a key made since the last read: not what the budget is for
            self._budget = min(KNOWN_READS_BURST, self._budget + 1)
        return found

    async def _read_known(self, session_factory: SessionFactory) -> None:
        try:
            async with session_factory() as session:
                self._known = frozenset(await repository.key_ids(session))
        finally:
            self._reading = None

    async def signed_in(self, session_factory: SessionFactory, key_id: str) -> Caller | None:
        """The caller of a key id verified at a desk sign-in, None if revoked; remembered
        like a token (a revocation reaches a signed-in desk within `cache_seconds`)."""
        cached = self._signed_in.get(key_id, self.cache_seconds)
        if cached is not None:
            return cached.caller
        async with session_factory() as session:
            caller = await key_caller(session, key_id)
        if self.cache_seconds > 0:
            self._signed_in.keep(key_id, _Found(caller))
        return caller

    async def _lookup(self, session: Session, token: str) -> Caller:
        prefix, _, rest = token.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            raise Unauthorized("the API key is malformed")
        key = await repository.get(session, key_id)
        if key is None or not hmac.compare_digest(key.secret_sha256, _digest(secret)):
            raise Unauthorized("the API key is not valid")
        if key.revoked_at is not None:
            raise Unauthorized("the API key has been revoked")
        return _caller(key)
