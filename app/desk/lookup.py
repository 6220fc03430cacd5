"""Finding the caller: by client id, phone number or national id (indexed lookups)."""

from __future__ import annotations

import re

from app.db.unit import Session
from app.errors import NotFound
from app.profiles import service as profiles
from app.profiles.identifiers import CLIENT_ID, PHONE
from app.profiles.schemas import ClientRead

MAX_CHOICES = 20
_CLIENT_ID = re.compile(CLIENT_ID)


async def _by_id(session: Session, client_id: str) -> list[ClientRead]:
    if not _CLIENT_ID.match(client_id):
        return []
    try:
        return [await profiles.get_client(session, client_id=client_id)]
    except NotFound:
        return []


async def find(
    session: Session,
    *,
    query: str,
    phone: str | None = None,
    national_id: str | None = None,
    client_id: str | None = None,
) -> list[ClientRead]:
    """The clients a search names. A named field searches that field only; a free `query`
    tries the client id, then the phone number, then the national id."""
    if phone:
        return await profiles.find_clients(session, phone=phone.strip(), limit=MAX_CHOICES)
    if national_id:
        return await profiles.find_clients(
            session, national_id=national_id.strip().upper(), limit=MAX_CHOICES
        )
    if client_id:
        return await _by_id(session, client_id.strip())
    found = {c.client_id: c for c in await _by_id(session, query)}
    if PHONE.match(query):
        for client in await profiles.find_clients(session, phone=query, limit=MAX_CHOICES):
            found.setdefault(client.client_id, client)
    if len(query) == 18:
        for client in await profiles.find_clients(
            session, national_id=query.upper(), limit=MAX_CHOICES
        ):
            found.setdefault(client.client_id, client)
    return list(found.values())[:MAX_CHOICES]
