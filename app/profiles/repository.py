"""All SQL for client profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson
from sqlalchemy import (
    Column,
    MetaData,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.hot import Reader, rows_of
from app.db.statements import Query, Statement, any_of
from app.profiles.mapping import Holdings
from app.profiles.tables import Client, ClientClaim, ClientPersonal, ClientPolicy

_UPSERT_SKIP = ("client_id", "created_at", "version")


async def get(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> tuple[Client, ClientPersonal | None] | None:
    """The client and its personal data. `for_update` locks the row until the transaction
    ends (Postgres; SQLite has one writer at a time anyway) and reads it afresh."""
    query = (
        select(Client, ClientPersonal)
        .outerjoin(ClientPersonal, ClientPersonal.client_id == Client.client_id)
        .where(Client.client_id == client_id)
    )
    if for_update:
        query = query.with_for_update(of=Client).execution_options(populate_existing=True)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def insert_client(
    session: AsyncSession, values: dict[str, Any], personal: dict[str, Any] | None
) -> bool:
    """Insert a new client; False when the id was taken meanwhile."""
    try:
        async with session.begin_nested():
            await session.execute(insert(Client).values(values))
    except IntegrityError:
        return False
    if personal is not None:
        await session.execute(
            insert(ClientPersonal).values(client_id=values["client_id"], **personal)
        )
    return True


async def update_if_version(
    session: AsyncSession,
    *,
    client_id: str,
    expected_version: int,
    values: dict[str, Any],
    personal: dict[str, Any] | None,
) -> bool:
    """Replace the profile only if nobody changed it since `expected_version` was read."""
    result = await session.execute(
        update(Client)
        .where(Client.client_id == client_id, Client.version == expected_version)
        .values(values)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(delete(ClientPersonal).where(ClientPersonal.client_id == client_id))
    if personal is not None:
        await session.execute(insert(ClientPersonal).values(client_id=client_id, **personal))
    return True


async def delete_if_version(
    session: AsyncSession, *, client_id: str, expected_version: int | None
) -> bool:
    # Personal data goes with its own statement: SQLite may run without cascading keys.
    condition = [Client.client_id == client_id]
    if expected_version is not None:
        condition.append(Client.version == expected_version)
    result = await session.execute(delete(Client).where(*condition))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(delete(ClientPersonal).where(ClientPersonal.client_id == client_id))
    await _drop_holdings(session, [client_id])
    return True


async def _drop_holdings(session: AsyncSession, client_ids: Sequence[str]) -> None:
    for table in (ClientPolicy, ClientClaim):
        await session.execute(delete(table).where(table.client_id.in_(client_ids)))


async def replace_holdings(session: AsyncSession, found: dict[str, Holdings]) -> None:
    """The clients' policies and claims become `found`'s (each client's rows replaced)."""
    if not found:
        return
    await _drop_holdings(session, list(found))
    await _add_holdings(session, found)


async def _add_holdings(session: AsyncSession, found: dict[str, Holdings]) -> None:
    policies = [{"client_id": c, **p} for c, h in found.items() for p in h.policies]
    claims = [{"client_id": c, **k} for c, h in found.items() for k in h.claims]
    if policies:
        await session.execute(insert(ClientPolicy), policies)
    if claims:
        await session.execute(insert(ClientClaim), claims)


def holdings_reads(client_ids: Sequence[str]) -> list[Query]:
    """The reads of the clients' policies (by start date) and open claims (by report date):
    two primary-key range reads."""
    ids = sorted(set(client_ids))
    return [_HELD[table](ids=ids) for table in (_POLICY, _CLAIM)]


def holdings_of_rows(
    client_ids: Sequence[str], policies: Sequence[Any], claims: Sequence[Any]
) -> dict[str, Holdings]:
    """Each client's holdings from the rows of `holdings_reads` (empty for a client without)."""
    found = {client_id: Holdings() for client_id in client_ids}
    for rows, into in ((policies, "policies"), (claims, "claims")):
        for row in rows:
            held = row._asdict()
            getattr(found[held.pop("client_id")], into).append(held)
    return found


async def holdings(reader: Reader, client_ids: Sequence[str]) -> dict[str, Holdings]:
    """Each client's policies and open claims (`holdings_reads`)."""
    if not client_ids:
        return {}
    policies, claims = await reader.read(holdings_reads(client_ids))
    return holdings_of_rows(client_ids, policies, claims)


def _page_query(
    *, after: str | None, limit: int, filters: dict[str, str | None]
) -> Select[Client, ClientPersonal]:
    query = (
        select(Client, ClientPersonal)
        .outerjoin(ClientPersonal, ClientPersonal.client_id == Client.client_id)
        .order_by(Client.client_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Client.client_id > after)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Client, name) == value)
    return query


async def page(
    session: AsyncSession, *, after: str | None, limit: int, filters: dict[str, str | None]
) -> list[tuple[Client, ClientPersonal | None]]:
    rows = await session.execute(_page_query(after=after, limit=limit, filters=filters))
    return [(client, personal) for client, personal in rows]


_CLIENT = cast(Table, Client.__table__)
_PERSONAL = cast(Table, ClientPersonal.__table__)
_COLUMNS = [c.name for c in Client.__table__.columns]
_PERSONAL_COLUMNS = [c.name for c in _PERSONAL.columns if c.name != "client_id"]
# The stored clients among some ids (personal data not loaded), by client id.
_CLIENTS = Statement(
    select(_CLIENT).where(any_of(_CLIENT.c.client_id, "ids")).order_by(_CLIENT.c.client_id)
)
# A client with its personal data, one row (the desk's card).
_CLIENT_CARD = Statement(
    select(_CLIENT, *(_PERSONAL.c[name] for name in _PERSONAL_COLUMNS))
    .outerjoin(_PERSONAL, _PERSONAL.c.client_id == _CLIENT.c.client_id)
    .where(_CLIENT.c.client_id == bindparam("client_id"))
)
_POLICY = cast(Table, ClientPolicy.__table__)
_CLAIM = cast(Table, ClientClaim.__table__)
_HELD_ORDER = {
    _POLICY: (_POLICY.c.start_date, _POLICY.c.policy_number),
    _CLAIM: (_CLAIM.c.reported_on, _CLAIM.c.claim_number),
}
_HELD = {
    table: Statement(select(table).where(any_of(table.c.client_id, "ids")).order_by(*order))
    for table, order in _HELD_ORDER.items()
}
_STAGING = Table(
    "client_staging",
    MetaData(),
    *(Column(c.name, c.type) for c in Client.__table__.columns),
    *(Column(c.name, c.type) for c in _PERSONAL.columns if c.name != "client_id"),
)
_STAGING_SHAPE = (
    "AS SELECT c.*, p.name, p.phone, p.national_id FROM client c "
    "JOIN client_personal p ON p.client_id = c.client_id"
)


async def _stage_postgres(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    # The batch travels as one JSON array that Postgres spreads into the staging table's
    # columns: formatting forty columns per row in Python would cost more than the rest.
    await session.execute(
        text(f"CREATE TEMP TABLE client_staging ON COMMIT DROP {_STAGING_SHAPE} WITH NO DATA")
    )
    await session.execute(
        text(
            "INSERT INTO client_staging "
            "SELECT * FROM json_populate_recordset(NULL::client_staging, CAST(:rows AS json))"
        ),
        {"rows": orjson.dumps(rows).decode()},
    )


async def _stage_sqlite(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(
        text(f"CREATE TEMP TABLE IF NOT EXISTS client_staging {_STAGING_SHAPE} WHERE 0")
    )
    await session.execute(text("DELETE FROM client_staging"))
    await session.execute(insert(_STAGING), list(rows))


async def upsert_many(
    session: AsyncSession,
    rows: Sequence[dict[str, Any]],
    holdings: dict[str, Holdings] | None = None,
) -> tuple[int, int]:
    """Insert or replace many profiles; rows whose fingerprint is unchanged are left alone.
    The policies and claims of a client written become those of `holdings` (none when it
    names the client not).

    Each row holds the client columns and the personal ones (`name`, `phone`,
    `national_id`). The rows are staged in a temporary table (COPY on Postgres) and merged
    with set-based statements, many times faster than row-by-row upserts.
    Returns (created, updated). Each client id must appear once in `rows`.
    """
    if not rows:
        return 0, 0
    postgres = session.get_bind().dialect.name == "postgresql"
    await (_stage_postgres if postgres else _stage_sqlite)(session, rows)
    dialect_insert = postgresql.insert if postgres else sqlite.insert
    staged = _STAGING.c
    base = dialect_insert(Client).from_select(
        _COLUMNS, select(*(staged[name] for name in _COLUMNS)).where(true())
    )
    changed = {name: base.excluded[name] for name in _COLUMNS if name not in _UPSERT_SKIP}
    changed["version"] = Client.version + 1
    stmt = base.on_conflict_do_update(
        index_elements=[Client.client_id],
        set_=changed,
        where=Client.fingerprint != base.excluded.fingerprint,
    ).returning(Client.client_id, Client.version)
    written = (await session.execute(stmt)).all()
    versions = [version for _, version in written]
    created = sum(1 for version in versions if version == 1)
    # A new client has no policies yet (an erased one's went with it): only the ones
    # replaced lose theirs first.
    replaced = [client_id for client_id, version in written if version > 1]
    if replaced:
        await _drop_holdings(session, replaced)
    if holdings:
        held = {c: holdings[c] for c, _ in written if c in holdings}
        await _add_holdings(session, held)

    has_personal = or_(*(staged[name].is_not(None) for name in _PERSONAL_COLUMNS))
    personal = dialect_insert(_PERSONAL).from_select(
        ["client_id", *_PERSONAL_COLUMNS],
        select(staged.client_id, *(staged[name] for name in _PERSONAL_COLUMNS)).where(has_personal),
    )
    await session.execute(
        personal.on_conflict_do_update(
            index_elements=[_PERSONAL.c.client_id],
            set_={name: personal.excluded[name] for name in _PERSONAL_COLUMNS},
            where=or_(
                *(_PERSONAL.c[n].is_distinct_from(personal.excluded[n]) for n in _PERSONAL_COLUMNS)
            ),
        )
    )
    await session.execute(
        delete(_PERSONAL).where(
            _PERSONAL.c.client_id.in_(select(staged.client_id).where(~has_personal))
        )
    )
    return created, len(versions) - created


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Client)) or 0)


def clients_read(client_ids: Sequence[str]) -> Query:
    """The read of the stored clients among `client_ids` (personal data not loaded), to send
    with others: the hot path of classifying a stored client, so never through the ORM."""
    return _CLIENTS(ids=sorted(set(client_ids)))


async def clients(reader: Reader, client_ids: Sequence[str]) -> Sequence[Any]:
    """The stored clients among `client_ids` (`clients_read`), as rows."""
    return await rows_of(reader, clients_read(client_ids))


def client_card_read(client_id: str) -> Query:
    """The read of a client and its personal data in one row (personal columns null without
    any)."""
    return _CLIENT_CARD(client_id=client_id)


async def clients_after(session: AsyncSession, after: str | None, limit: int) -> list[Client]:
    """Up to `limit` clients in client id order, after `after`."""
    query = select(Client).order_by(Client.client_id).limit(limit)
    if after is not None:
        query = query.where(Client.client_id > after)
    return list(await session.scalars(query))


async def find_by_personal(
    session: AsyncSession, *, phone: str | None = None, national_id: str | None = None, limit: int
) -> list[tuple[Client, ClientPersonal | None]]:
    """Clients with this phone number or national id (indexed columns), by client id."""
    query = _page_query(after=None, limit=limit, filters={})
    if phone is not None:
        query = query.where(ClientPersonal.phone == phone)
    if national_id is not None:
        query = query.where(ClientPersonal.national_id == national_id)
    return [(client, personal) for client, personal in await session.execute(query)]


async def find_by_ids(
    session: AsyncSession, client_ids: Sequence[str]
) -> list[tuple[Client, ClientPersonal | None]]:
    """The clients among these ids (primary-key hits), by client id."""
    query = _page_query(after=None, limit=len(client_ids), filters={})
    query = query.where(Client.client_id.in_(sorted(set(client_ids))))
    return [(client, personal) for client, personal in await session.execute(query)]


# Past every character: `name < prefix + TOP` bounds the names that start with `prefix`.
_TOP = "\U0010ffff"


async def find_by_name(
    session: AsyncSession, *, name: str, limit: int
) -> list[tuple[Client, ClientPersonal | None]]:
    """Clients whose name starts with `name` (then, on PostgreSQL, whose name is like it:
    pg_trgm's similarity), best first. PostgreSQL answers both from the trigram index
    (prefix case-insensitively); SQLite answers the prefix from the name's b-tree index
    (exactly as typed) and has no fuzzy match."""
    query = (
        select(Client, ClientPersonal)
        .join(Client, ClientPersonal.client_id == Client.client_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        prefix = ClientPersonal.name.ilike(pattern)
        query = query.where(or_(prefix, ClientPersonal.name.op("%")(name))).order_by(
            prefix.desc(), func.similarity(ClientPersonal.name, name).desc(), Client.client_id
        )
    else:
        query = query.where(
            ClientPersonal.name >= name, ClientPersonal.name < name + _TOP
        ).order_by(ClientPersonal.name, Client.client_id)
    return [(client, personal) for client, personal in await session.execute(query)]
