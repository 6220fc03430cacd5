"""The migrations build the schema from empty, match the table models, and downgrade back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from app.db.migrate import alembic_config, downgrade, upgrade
from tests.conftest import scratch_postgres, sync_engine

TABLES = {
    "alembic_version",
    "api_key",
    "client",
    "client_personal",
    "client_outcome",
    "client_policy",
    "client_claim",
    "classification_audit",
    "call_outcome",
    "offer_answer",
    "offer_event",
    "web_session",
    "sign_in_attempt",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with scratch_postgres("clientscore_migrate") as url:
            yield url


def tables(url: str) -> set[str]:
    engine = sync_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_from_empty_matches_the_models_and_downgrades_to_nothing(empty_url: str) -> None:
    assert tables(empty_url) == set()
    upgrade(empty_url)
    assert tables(empty_url) == TABLES
    # Autogenerate finds nothing to add: the migrations and the table models agree.
    command.check(alembic_config(empty_url))
    downgrade(empty_url, "base")
    assert tables(empty_url) == {"alembic_version"}
    upgrade(empty_url)
    assert tables(empty_url) == TABLES


def test_the_offers_of_recorded_calls_are_carried_over_and_no_inferred_one(
    empty_url: str,
) -> None:
    """Before offers were events, every classification counted as an offer of its actions.
    The upgrade makes offers of the calls that answered one (and their hold-outs), nothing
    of the classifications no call answered."""
    upgrade(empty_url, "0005")
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    strategy = [
        {"code": "retention_offer", "channel": "call", "held_out": False},
        {"code": "care_activities", "channel": "sms", "held_out": False},
        {"code": "cross_sell", "channel": "call", "held_out": True},
    ]
    result = {
        "value": {"clv": 1234.5},
        "strategy": strategy,
        "arbitration": {"segment": "high/at_risk", "period": "2026-11-27"},
    }
    engine = sync_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO client (client_id, kind, products_held, in_force_policies,"
                " annual_premium, premium_paid_12m, renewals, lapses, claim_count_3y,"
                " claim_amount_3y, interactions_12m, complaints_12m, missed_payments_12m,"
                " app_logins_12m, referrals, campaign_target, extra, fingerprint, version,"
                " created_at, updated_at) VALUES (:id, 'individual', '[]', 1, 100, 100, 0, 0,"
                " 0, 0, 0, 0, 0, 0, 0, false, '{}', 'f', 1, :at, :at)"
            ),
            [{"id": "C-1", "at": at}, {"id": "C-2", "at": at}],
        )
        for client_id, request_id in (("C-1", "r-answered"), ("C-1", "r-seen"), ("C-2", "r-2")):
            conn.execute(
                text(
                    "INSERT INTO classification_audit (client_id, client_version, key_id,"
                    " request_id, input_fingerprint, versions, result, classified_at)"
                    " VALUES (:c, 1, 'k', :r, 'f', '{}', :result, :at)"
                ),
                {"c": client_id, "r": request_id, "result": json.dumps(result), "at": at},
            )
        conn.execute(
            text(
                "INSERT INTO call_outcome (client_id, action_code, result, key_id,"
                " offer_request_id, model_versions, ruleset_version, recorded_at) VALUES"
                " ('C-1', 'retention_offer', 'declined', 'agent', 'r-answered', '{}', 'v', :at),"
                " ('C-2', 'care_activities', 'not_offered', 'agent', 'r-2', '{}', 'v', :at)"
            ),
            {"at": at + timedelta(minutes=3)},
        )
    upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT client_id, offer_request_id, action_code, channel, held_out, segment,"
                " clv FROM offer_event ORDER BY action_code"
            )
        ).all()
        consent = conn.execute(text("SELECT contact_consent FROM client")).scalars().all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("C-1", "r-answered", "cross_sell", "call", True, "high/at_risk", 1234.5),
        ("C-1", "r-answered", "retention_offer", "call", False, "high/at_risk", 1234.5),
    ]
    assert [c if isinstance(c, dict) else json.loads(c) for c in consent] == [{}, {}]
