"""Client profile use cases: create or replace, patch, read, erase, list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from app.db.hot import Core, Reader
from app.db.statements import Query
from app.db.unit import Session
from app.errors import NotFound, PreconditionFailed, ValidationFailed
from app.paging import decode_cursor, encode_cursor
from app.profiles import repository
from app.profiles.identifiers import normalise_phone
from app.profiles.mapping import (
    PERSONAL_FIELDS,
    etag,
    holdings_of,
    merge_patch,
    read_from,
    stamp,
    to_profile_dict,
    to_read,
    to_row,
)
from app.profiles.schemas import ClientCreate, ClientPage, ClientProfile, ClientRead
from app.profiles.tables import Client, ClientPersonal
from app.profiles.validation import field_errors


def _check_precondition(if_match: str | None, current: int | None) -> None:
    """Honour `If-Match`: `*` needs the client to exist, a tag needs it unchanged."""
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if current is None:
        raise PreconditionFailed("If-Match was sent but the client does not exist")
    if "*" not in tags and etag(current) not in tags:
        raise PreconditionFailed(
            f"the client has changed: its ETag is now {etag(current)}; read it again and retry"
        )


def _stale() -> PreconditionFailed:
    return PreconditionFailed("the client was changed by another request; read it again and retry")


# A write without a precondition is retried when another one got in between: none can fail
# for being concurrent (on Postgres the row lock already serializes them).
_ATTEMPTS = 5
Found = tuple[Client, ClientPersonal | None] | None


async def put_client(
    session: Session,
    *,
    client_id: str,
    profile: ClientProfile,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> tuple[ClientRead, bool]:
    """Create or replace a client. Returns the stored client and whether it was created."""
    for _ in range(_ATTEMPTS):
        found = await repository.get(session, client_id, for_update=True)
        current = found[0] if found else None
        _check_precondition(if_match, current.version if current else None)
        if if_none_match is not None and if_none_match.strip() == "*" and current is not None:
            raise PreconditionFailed("If-None-Match: * was sent but the client already exists")
        written = await _write(session, client_id, profile, found)
        if written is not None:
            return written
        if if_match is not None or if_none_match is not None:
            break
    raise _stale()


async def _write(
    session: Session, client_id: str, profile: ClientProfile, found: Found
) -> tuple[ClientRead, bool] | None:
    """Store `profile` over what was `found`; None when another write got in between."""
    values, personal = to_row(client_id, profile)
    now = datetime.now(UTC)
    if found is None:
        stamp(values, version=1, now=now, created_at=now)
        if not await repository.insert_client(session, values, personal):
            return None
        await repository.replace_holdings(session, {client_id: holdings_of(profile)})
        return read_from(
            profile, client_id=client_id, version=1, created_at=now, updated_at=now
        ), True
    current = found[0]
    if current.fingerprint == values["fingerprint"]:
        held = await repository.holdings(Core(session), [client_id])
        return to_read(*found, held[client_id]), False
    version = current.version + 1
    stamp(values, version=version, now=now, created_at=current.created_at)
    if not await repository.update_if_version(
        session,
        client_id=client_id,
        expected_version=current.version,
        values=values,
        personal=personal,
    ):
        return None
    await repository.replace_holdings(session, {client_id: holdings_of(profile)})
    read = read_from(
        profile, client_id=client_id, version=version, created_at=current.created_at, updated_at=now
    )
    return read, False


async def patch_client(
    session: Session, *, client_id: str, patch: dict[str, Any], if_match: str | None = None
) -> ClientRead:
    """Apply an RFC 7396 merge patch; the result must be a valid profile as a whole."""
    for _ in range(_ATTEMPTS):
        found = await repository.get(session, client_id, for_update=True)
        if found is None:
            raise NotFound(f"no client with id '{client_id}'")
        _check_precondition(if_match, found[0].version)
        held = await repository.holdings(Core(session), [client_id])
        merged = merge_patch(to_profile_dict(*found, held[client_id]), patch)
        try:
            profile = ClientCreate.model_validate(merged)
        except ValidationError as exc:
            raise ValidationFailed(
                "the patched profile is not valid", errors=field_errors(exc)
            ) from None
        written = await _write(session, client_id, profile, found)
        if written is not None:
            return written[0]
        if if_match is not None:
            break
    raise _stale()


async def get_client(session: Session, *, client_id: str) -> ClientRead:
    found = await repository.get(session, client_id)
    if found is None:
        raise NotFound(f"no client with id '{client_id}'")
    held = await repository.holdings(Core(session), [client_id])
    return to_read(*found, held[client_id])


def client_card_reads(client_id: str) -> list[Query]:
    """The reads of a stored client for the desk's card (`client_card_of`): the client with
    its personal data, its policies, its claims."""
    return [repository.client_card_read(client_id), *repository.holdings_reads([client_id])]


def client_card_of(client_id: str, rows: Sequence[Sequence[Any]]) -> ClientRead:
    """The client with its personal data, policies and claims, from the rows of
    `client_card_reads`."""
    found, policies, claims = rows
    if not found:
        raise NotFound(f"no client with id '{client_id}'")
    row = found[0]
    held = repository.holdings_of_rows([client_id], policies, claims)
    personal = row if any(getattr(row, name) is not None for name in PERSONAL_FIELDS) else None
    return to_read(row, personal, held[client_id])


async def client_card(reader: Reader, *, client_id: str) -> ClientRead:
    """A stored client with its personal data, policies and claims, read without a
    transaction: three statements, sent together on PostgreSQL."""
    return client_card_of(client_id, await reader.read(client_card_reads(client_id)))


async def erase_client(session: Session, *, client_id: str, if_match: str | None = None) -> None:
    """Delete the client and its personal data for good (erasure, not a flag)."""
    found = await repository.get(session, client_id)
    if found is None:
        raise NotFound(f"no client with id '{client_id}'")
    _check_precondition(if_match, found[0].version)
    expected = found[0].version if if_match is not None else None
    if not await repository.delete_if_version(
        session, client_id=client_id, expected_version=expected
    ):
        raise _stale()


async def list_clients(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    kind: str | None = None,
    province: str | None = None,
    industry: str | None = None,
) -> ClientPage:
    after = decode_cursor(cursor, str) if cursor else None
    rows = await repository.page(
        session,
        after=after,
        limit=limit + 1,
        filters={"kind": kind, "province": province, "industry": industry},
    )
    held = await repository.holdings(
        Core(session), [client.client_id for client, _ in rows[:limit]]
    )
    items = [to_read(c, personal, held[c.client_id]) for c, personal in rows[:limit]]
    next_cursor = encode_cursor(items[-1].client_id) if len(rows) > limit else None
    return ClientPage(items=items, next_cursor=next_cursor)


async def stored_profiles(reader: Reader, client_ids: Sequence[str]) -> dict[str, ClientRead]:
    """The stored profiles of those ids that exist, without their personal data."""
    if not client_ids:
        return {}
    return stored_profiles_of(await repository.clients(reader, client_ids))


def stored_profiles_read(client_ids: Sequence[str]) -> Query:
    """The read of `stored_profiles`, to send with others (`stored_profiles_of` its rows)."""
    return repository.clients_read(client_ids)


def stored_profiles_of(rows: Sequence[Any]) -> dict[str, ClientRead]:
    return {row.client_id: to_read(row, None) for row in rows}


async def book_page(session: Session, *, after: str | None, limit: int) -> list[ClientRead]:
    """Stored profiles in client id order, without personal data: the book page by page."""
    return [to_read(c, None) for c in await repository.clients_after(session, after, limit)]


async def find_clients(
    session: Session, *, phone: str | None = None, national_id: str | None = None, limit: int
) -> list[ClientRead]:
    """Clients with this phone number (in any usual form: it is normalised as stored ones
    are) or national id (at most `limit`)."""
    if (phone is None) == (national_id is None):
        raise ValidationFailed("give exactly one of phone and national_id")
    rows = await repository.find_by_personal(
        session,
        phone=normalise_phone(phone) if phone is not None else None,
        national_id=national_id,
        limit=limit,
    )
    return [to_read(client, personal) for client, personal in rows]


async def find_by_id_any_case(session: Session, *, client_id: str) -> list[ClientRead]:
    """The client with this id as typed, in upper case or in lower case (`s0000001` finds
    `S0000001`): primary-key hits. An id stored in mixed case is found as stored only."""
    variants = {client_id, client_id.upper(), client_id.lower()}
    rows = await repository.find_by_ids(session, sorted(variants))
    return [to_read(client, personal) for client, personal in rows]


async def find_by_name(session: Session, *, name: str, limit: int) -> list[ClientRead]:
    """Clients by name: a prefix, and on PostgreSQL a fuzzy match (`repository`)."""
    rows = await repository.find_by_name(session, name=name, limit=limit)
    return [to_read(client, personal) for client, personal in rows]
