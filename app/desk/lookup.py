"""Finding the caller: by client id (any case), phone number (any usual form), national id
or name. Every lookup is an index hit; a name of one character gets a hint, not a scan."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.db.unit import Session
from app.i18n.texts import Lang, t, word
from app.profiles import service as profiles
from app.profiles.identifiers import CLIENT_ID, PHONE
from app.profiles.schemas import ClientRead

MAX_CHOICES = 20
MIN_NAME = 2  # characters of a name searched: one would match a good part of the book
_CLIENT_ID = re.compile(CLIENT_ID)
_NAME = re.compile(r"[^\d\s+\-]")  # a query with a letter (or a Chinese character) in it


@dataclass
class Found:
    clients: list[ClientRead] = field(default_factory=list)
    hint: str | None = None  # a text key: why the search was not run


@dataclass(frozen=True, slots=True)
class Choice:
    """One client of a choice list, with what tells family members apart: age and place."""

    client_id: str
    name: str
    details: str


def choice(lang: Lang, client: ClientRead, today: date) -> Choice:
    details = [t(lang, str(client.kind))]
    if client.birth_year is not None:
        details.append(t(lang, "age", n=today.year - client.birth_year))
    if client.province is not None:
        place = word(lang, str(client.province))
        if client.city_tier is not None:
            place += " " + t(lang, "city_tier", n=client.city_tier)
        details.append(place)
    name = client.personal.name if client.personal and client.personal.name else client.client_id
    return Choice(client.client_id, name, " · ".join(details))


def _add(found: dict[str, ClientRead], clients: list[ClientRead]) -> None:
    for client in clients:
        found.setdefault(client.client_id, client)


async def _by_id(session: Session, client_id: str) -> list[ClientRead]:
    if not _CLIENT_ID.match(client_id):
        return []
    return await profiles.find_by_id_any_case(session, client_id=client_id)


async def find(
    session: Session,
    *,
    query: str,
    phone: str | None = None,
    national_id: str | None = None,
    client_id: str | None = None,
) -> Found:
    """The clients a search names. A named field searches that field only; a free `query`
    tries the client id, the phone number, the national id and the name."""
    if phone:
        return Found(await profiles.find_clients(session, phone=phone.strip(), limit=MAX_CHOICES))
    if national_id:
        return Found(
            await profiles.find_clients(
                session, national_id=national_id.strip().upper(), limit=MAX_CHOICES
            )
        )
    if client_id:
        return Found(await _by_id(session, client_id.strip()))
    found: dict[str, ClientRead] = {}
    _add(found, await _by_id(session, query))
    if PHONE.match(query):
        _add(found, await profiles.find_clients(session, phone=query, limit=MAX_CHOICES))
    if len(query) == 18:
        _add(
            found,
            await profiles.find_clients(session, national_id=query.upper(), limit=MAX_CHOICES),
        )
    if _NAME.search(query):
        if len(query) < MIN_NAME:
            return Found(list(found.values()), hint=None if found else "name_too_short")
        _add(found, await profiles.find_by_name(session, name=query, limit=MAX_CHOICES))
    return Found(list(found.values())[:MAX_CHOICES])
