"""The hot path's database work: reads through its one interface, audit rows in group commits.

Each read of a stored client and of its contact history is written once (a SQLAlchemy Core
statement) and runs two ways: through psycopg on PostgreSQL, through SQLAlchemy elsewhere
and in a session. These tests hold the two equal, on SQLite and on PostgreSQL, against the
rows stored. The audit trail's writer commits the rows of concurrent requests together, and
a bad row fails only its own request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.classification import repository as audit_repository
from app.classification.audit import AuditTrail
from app.db.engine import create_engine_for, create_sessionmaker, is_sqlite
from app.db.hot import Core, HotPath, Psycopg, Reader
from app.db.unit import SessionFactory
from app.demo.repository import load_book
from app.demo.synthetic import generate_book
from app.profiles import service as profiles
from app.profiles.schemas import ClientProfile
from app.settings import Settings
from app.strategy import repository as strategy
from tests.conftest import sync_engine
from tests.integration.test_classification_api import audit_count

AS_OF = date(2026, 6, 30)


def _stored_book(url: str, clients: int = 40) -> list[str]:
    book = generate_book(clients, 5, as_of=AS_OF)
    load_book(url, book, observed_at=AS_OF)
    ids: list[str] = list(book.profiles["client_id"])
    engine = sync_engine(url)
    with engine.begin() as conn:
        for n, client_id in enumerate(ids[:6]):
            for k in range(n % 3 + 1):
                conn.execute(
                    text(
                        "INSERT INTO call_outcome (client_id, action_code, result, key_id,"
                        " offer_request_id, model_versions, ruleset_version, recorded_at)"
                        " VALUES (:c, :a, :r, 'k', 'req', '{}', 'rs', :at)"
                    ),
                    {"c": client_id, "a": f"ACT_{k}", "r": ("accepted", "declined")[k % 2],
                     "at": datetime(2026, 6, 1 + k, 9, tzinfo=UTC)},
                )  # fmt: skip
    engine.dispose()
    return ids


def _run(work: Callable[[Settings, SessionFactory], Coroutine[Any, Any, Any]], url: str) -> Any:
    async def main() -> Any:
        settings = Settings.model_validate({"database_url": url})
        engine = create_engine_for(settings)
        try:
            return await work(settings, create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _reads(reader: Reader, ids: list[str]) -> tuple[Any, Any]:
    return await profiles.stored_profiles(reader, ids), await strategy.histories(reader, ids)


def _hot_reader(url: str, reader: Reader) -> Reader:
    """The hot path's reader, checked to be the one picked for the database."""
    assert isinstance(reader, Core if is_sqlite(url) else Psycopg)
    return reader


def test_the_hot_path_reads_equal_the_sqlalchemy_reads(db_url: str) -> None:
    ids = _stored_book(db_url)
    asked = [*ids[:10], "NO-SUCH-CLIENT", ids[3]]
    generated = generate_book(40, 5, as_of=AS_OF)  # what `_stored_book` stored
    book = dict(zip(generated.profiles["client_id"], generated.records(), strict=True))

    async def work(settings: Settings, sessions: SessionFactory) -> None:
        async with _hot(settings, sessions) as hot, hot.connection() as reader:
            through_hot_path = await _reads(_hot_reader(db_url, reader), asked)
        async with sessions() as session:
            through_session = await _reads(Core(session), asked)
        async with sessions.kw["bind"].connect() as connection:
            through_core = await _reads(Core(connection), asked)
        assert through_hot_path == through_session == through_core
        found, histories = through_hot_path
        assert sorted(found) == sorted(ids[:10])
        assert sum(len(h.contacts) for h in histories.values()) == 1 + 2 + 3 + 1 + 2 + 3
        assert [c.action_code for c in histories[ids[2]].contacts] == ["ACT_0", "ACT_1", "ACT_2"]
        for client_id, read in found.items():
            # Every field read back as the same Python value and type, and as stored.
            assert read.model_dump() == through_core[0][client_id].model_dump()
            stored = ClientProfile.model_validate(book[client_id]).model_dump(exclude={"personal"})
            assert {k: v for k, v in read.model_dump().items() if k in stored} == stored

    _run(work, db_url)


def _row(client_id: str, n: int) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_version": 1,
        "key_id": "k",
        "request_id": f"r-{n}",
        "input_fingerprint": "f" * 64,
        "versions": {"models": {}, "ruleset": "rs"},
        "result": {"n": n},
        "classified_at": datetime(2026, 6, 30, 12, tzinfo=UTC),
    }


@asynccontextmanager
async def _hot(settings: Settings, sessions: SessionFactory) -> AsyncIterator[HotPath]:
    """The hot path on the sessions' engine, open for the block."""
    hot = HotPath(settings, sessions.kw["bind"], on_connect=lambda: None)
    await hot.open()
    try:
        yield hot
    finally:
        await hot.close()


@asynccontextmanager
async def _trail(settings: Settings, sessions: SessionFactory) -> AsyncIterator[AuditTrail]:
    async with _hot(settings, sessions) as hot:
        trail = AuditTrail(hot)
        trail.start()
        try:
            yield trail
        finally:
            await trail.stop()


def test_concurrent_requests_share_one_commit(db_url: str) -> None:
    ids = _stored_book(db_url, clients=5)

    async def work(settings: Settings, sessions: SessionFactory) -> int:
        async with _trail(settings, sessions) as trail:
            # Queued before the writer runs: all 40 go in one transaction.
            await asyncio.gather(*(trail.write([_row(ids[n % 5], n)]) for n in range(40)))
            return trail.transactions

    assert _run(work, db_url) == 1
    assert audit_count(db_url) == 40


def test_a_bad_row_fails_only_its_own_request(db_url: str) -> None:
    ids = _stored_book(db_url, clients=3)

    async def work(settings: Settings, sessions: SessionFactory) -> list[Any]:
        async with _trail(settings, sessions) as trail:
            writes = [trail.write([_row(ids[n % 3], n)]) for n in range(9)]
            writes.insert(4, trail.write([_row("ERASED-MEANWHILE", 99)]))  # no such client
            return await asyncio.gather(*writes, return_exceptions=True)

    outcomes = _run(work, db_url)
    # SQLAlchemy's IntegrityError on SQLite, the driver's own on PostgreSQL.
    refused = (IntegrityError, psycopg.errors.ForeignKeyViolation)
    assert [isinstance(o, refused) for o in outcomes].count(True) == 1
    assert isinstance(outcomes[4], refused)
    assert outcomes[:4] + outcomes[5:] == [None] * 9
    assert audit_count(db_url) == 9


def test_a_stopped_trail_still_writes_and_commits(db_url: str) -> None:
    ids = _stored_book(db_url, clients=2)

    async def work(settings: Settings, sessions: SessionFactory) -> None:
        async with _trail(settings, sessions) as trail:
            await trail.write([_row(ids[0], 1)])
            await trail.stop()
            await trail.write([_row(ids[1], 2), _row(ids[0], 3)])  # a transaction of its own

    _run(work, db_url)
    assert audit_count(db_url) == 3


def test_the_hot_path_writes_the_audit_row_sqlalchemy_writes(db_url: str) -> None:
    ids = _stored_book(db_url, clients=1)
    row = _row(ids[0], 1) | {
        "result": {"value": {"clv": 1234.5, "tier": "high"}, "when": "2026-06-30", "n": [1, None]},
        "input_fingerprint": None,
    }

    async def work(settings: Settings, sessions: SessionFactory) -> None:
        async with _hot(settings, sessions) as hot, hot.transaction() as writer:
            assert isinstance(writer, Core if is_sqlite(db_url) else Psycopg)
            await audit_repository.record(writer, [row | {"request_id": "hot"}])
        async with sessions.kw["bind"].begin() as connection:
            await audit_repository.record(Core(connection), [row | {"request_id": "core"}])

    _run(work, db_url)
    engine = sync_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT request_id, client_id, client_version, key_id, input_fingerprint,"
                " versions, result, classified_at FROM classification_audit ORDER BY request_id"
            )
        ).all()
    engine.dispose()
    assert [r[0] for r in stored] == ["core", "hot"]
    assert stored[0][1:] == stored[1][1:]
    result = stored[0].result
    assert (orjson.loads(result) if isinstance(result, str) else result) == row["result"]


def test_the_writer_commits_while_requests_hold_every_read_connection(db_url: str) -> None:
    ids = _stored_book(db_url, clients=2)

    async def work(_settings: Settings, sessions: SessionFactory) -> None:
        settings = Settings.model_validate(
            {"database_url": db_url, "database_pool_size": 2, "database_max_overflow": 0}
        )
        async with _trail(settings, sessions) as trail, AsyncExitStack() as held:
            readers = [await held.enter_async_context(trail.hot.connection()) for _ in range(2)]
            # Requests waiting on the audit trail still hold their read connections.
            for reader in readers:
                await profiles.stored_profiles(reader, ids)
            await asyncio.wait_for(trail.write([_row(ids[0], 1), _row(ids[1], 2)]), timeout=10)

    _run(work, db_url)
    assert audit_count(db_url) == 2
