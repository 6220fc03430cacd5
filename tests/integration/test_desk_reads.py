"""The desk card's reads: each written once (a SQLAlchemy Core statement), run through psycopg
on PostgreSQL and through SQLAlchemy elsewhere and in a session; held equal here, on SQLite
and on PostgreSQL, as tests/integration/test_hot_reads.py holds the classification's reads.

A card reads its session with the session's key, the client with its personal data, its
policies and claims, the classes of its latest classifications, its latest calls and its
complaint records, all without a transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text

from app.auth import service as keys
from app.classification import service as classification
from app.db.hot import Core, Reader
from app.db.unit import SessionFactory
from app.outcomes import service as outcomes
from app.profiles import service as profiles
from app.settings import Settings
from app.signin import browser_sessions
from tests.conftest import sync_engine
from tests.integration.test_hot_reads import _hot, _hot_reader, _run, _stored_book

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
CLASSES = [("high", "low", "growth"), ("high", "low", "growth"), ("medium", "high", "mature")]


def _card_rows(url: str, client_id: str) -> None:
    """Policies, a claim, audit rows and calls (a complaint among them) for `client_id`."""
    engine = sync_engine(url)
    with engine.begin() as conn:
        for n, day in enumerate(("2024-03-01", "2023-01-15")):
            conn.execute(
                text(
                    "INSERT INTO client_policy VALUES (:c, :p, 'auto', 1200.5, :d, :r, 'in_force')"
                ),
                {"c": client_id, "p": f"P-{n}", "d": day, "r": "2026-09-01" if n else None},
            )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO client_claim VALUES (:c, 'K-1', 'P-0', '2026-05-02', NULL, 'reported')"
            ),
            {"c": client_id},
        )
        for n, (value, risk, stage) in enumerate(CLASSES):
            document = {"value": {"tier": value}, "risk": {"tier": risk},
                      "lifecycle": {"stage": stage}, "reasons": {"risk": []}}  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO classification_audit (client_id, client_version, key_id,"
                    " request_id, input_fingerprint, versions, result, classified_at)"
                    " VALUES (:c, 1, 'k', :r, 'f', '{}', :result, :at)"
                ),
                {"c": client_id, "r": f"req-{n}", "result": orjson.dumps(document).decode(),
                 "at": NOW + timedelta(minutes=n)},
            )  # fmt: skip
        for n, answer in enumerate(("accepted", "complaint", "call_back", "complaint")):
            conn.execute(
                text(
                    "INSERT INTO call_outcome (client_id, action_code, result, note, key_id,"
                    " offer_request_id, callback_at, model_versions, ruleset_version,"
                    " recorded_at) VALUES (:c, :a, :r, :note, 'k', NULL, :cb, '{}', 'rs', :at)"
                ),
                {"c": client_id, "a": None if answer == "complaint" else "ACT_1", "r": answer,
                 "note": f"note {n}", "cb": NOW + timedelta(days=1) if n == 2 else None,
                 "at": NOW + timedelta(hours=n)},
            )  # fmt: skip
    engine.dispose()


async def _card_reads(reader: Reader, client_id: str, token: str) -> tuple[Any, ...]:
    page = await browser_sessions.on_page(reader, token, now=NOW, idle=timedelta(minutes=30))
    reads = [
        *profiles.client_card_reads(client_id),
        classification.recent_classes_read(client_id, 20),
        outcomes.calls_read(client_id, 3),
    ]
    rows = await reader.read(reads)
    return (
        page,
        profiles.client_card_of(client_id, rows[:3]).model_dump(),
        classification.classes_of(rows[3]),
        *outcomes.calls_of(rows[4], 3),
    )


def test_the_cards_hot_path_reads_equal_the_sqlalchemy_reads(db_url: str) -> None:
    client_id = _stored_book(db_url, clients=3)[0]
    _card_rows(db_url, client_id)

    async def work(settings: Settings, session_factory: SessionFactory) -> None:
        async with session_factory() as session, session.begin():
            issued = await keys.create_key(session, name="agent", scopes=["desk"])
            token, _ = await browser_sessions.open_session(
                session, kind="key", subject=issued.key_id, name="agent", roles=frozenset(),
                key_id=issued.key_id, id_token=None, now=NOW - timedelta(minutes=5),
                lifetime=timedelta(hours=8), recheck=None, idle=timedelta(minutes=30),
            )  # fmt: skip
        async with _hot(settings, session_factory) as hot, hot.connection() as reader:
            through_hot_path = await _card_reads(_hot_reader(db_url, reader), client_id, token)
        async with session_factory() as session:
            through_session = await _card_reads(Core(session), client_id, token)
        async with session_factory.kw["bind"].connect() as connection:
            through_core = await _card_reads(Core(connection), client_id, token)
        assert through_hot_path == through_session == through_core
        page, card, classes, calls, complaint = through_hot_path
        assert page.key == (issued.key_id, "agent", ("desk",))
        assert page.stale
        assert not page.ended
        assert [p["policy_number"] for p in card["policies"]] == ["P-1", "P-0"]
        assert card["claims"][0]["amount"] is None
        assert card["personal"] is not None
        assert [(c.value_tier, c.risk_tier, c.lifecycle_stage) for c in classes] == CLASSES[::-1]
        assert [c.result for c in calls] == ["complaint", "call_back", "complaint"]
        assert [c.note for c in complaint] == ["note 1", "note 3"]

    _run(work, db_url)
