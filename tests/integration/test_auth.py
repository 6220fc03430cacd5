"""Every endpoint against no key, a bad key, a revoked key, the wrong scope and the right one."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import event, text

from app.auth import service as keys
from app.db.engine import create_engine_for, create_sessionmaker
from app.profiles.schemas import profile_example
from app.settings import Settings
from tests.conftest import sync_engine
from tests.integration.conftest import Api, api_for, make_key

NDJSON = b'{"client_id": "A-9", "kind": "corporate"}\n'
# (method, path, body kwargs, scope it needs, status when allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any], str, int]] = [
    ("PUT", "/v1/clients/A-1", {"json": profile_example()}, "profiles:write", 201),
    ("PATCH", "/v1/clients/A-0", {"json": {"city_tier": 2}}, "profiles:write", 200),
    ("GET", "/v1/clients/A-0", {}, "profiles:read", 200),
    ("GET", "/v1/clients", {}, "profiles:read", 200),
    ("DELETE", "/v1/clients/A-0", {}, "profiles:write", 204),
    (
        "POST",
        "/v1/clients:import",
        {"content": NDJSON, "headers": {"Content-Type": "application/x-ndjson"}},
        "profiles:write",
        200,
    ),
]
WRONG_SCOPE = {"profiles:write": "profiles:read", "profiles:read": "classify"}


def call(api: Api, endpoint: tuple[str, str, dict[str, Any], str, int], token: str | None) -> Any:
    method, path, kwargs, _, _ = endpoint
    headers = dict(kwargs.get("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {k: v for k, v in kwargs.items() if k != "headers"}
    return api.client.request(method, path, headers=headers, **body)


def seed(api: Api) -> None:
    response = api.client.put("/v1/clients/A-0", json=profile_example(), headers=api.auth())
    assert response.status_code == 201


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_auth_matrix(api: Api, endpoint: tuple[str, str, dict[str, Any], str, int]) -> None:
    seed(api)
    scope, allowed = endpoint[3], endpoint[4]
    for token, status, code in (
        (None, 401, "unauthorized"),
        ("cs_0123456789ab_not-the-secret", 401, "unauthorized"),
        ("garbage", 401, "unauthorized"),
        (api.token(WRONG_SCOPE[scope]), 403, "forbidden"),
    ):
        response = call(api, endpoint, token)
        assert response.status_code == status, (token, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
    assert call(api, endpoint, api.token(scope)).status_code == allowed


@pytest.mark.parametrize("endpoint", ENDPOINTS[:1], ids=["PUT"])
def test_admin_may_do_everything(
    api: Api, endpoint: tuple[str, str, dict[str, Any], str, int]
) -> None:
    assert call(api, endpoint, api.token("admin")).status_code == endpoint[4]


async def _revoke(settings: Settings, key_id: str) -> None:
    engine = create_engine_for(settings)
    async with create_sessionmaker(engine)() as session, session.begin():
        assert await keys.revoke_key(session, key_id=key_id)
    await engine.dispose()


def test_a_revoked_key_is_refused(db_url: str) -> None:
    # No verification cache, so the revocation shows on the very next request.
    with api_for(db_url, auth_cache_seconds=0) as api:
        token = make_key(api.settings, "profiles:read")
        headers = {"Authorization": f"Bearer {token}"}
        assert api.client.get("/v1/clients", headers=headers).status_code == 200
        asyncio.run(_revoke(api.settings, token.split("_")[1]))
        refused = api.client.get("/v1/clients", headers=headers)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]


def test_auth_can_be_switched_off_only_explicitly(db_url: str) -> None:
    with api_for(db_url, auth_disabled=True) as api:
        assert api.client.get("/v1/clients").status_code == 200


def test_keys_are_stored_only_as_hashes(api: Api) -> None:

    token = api.token("classify")
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_id, secret_sha256 FROM api_key")).all()
    engine.dispose()
    secret = token.split("_", 2)[2]
    assert stored
    assert all(secret not in row.secret_sha256 for row in stored)


def test_a_signed_in_desk_sees_a_revocation_once_its_cache_expires(db_url: str) -> None:
    settings = Settings.model_validate({"database_url": db_url})

    async def work() -> list[bool]:
        engine = create_engine_for(settings)
        session_factory = create_sessionmaker(engine)
        try:
            async with session_factory() as session, session.begin():
                issued = await keys.create_key(session, name="agent", scopes=["desk"])
            remembering = keys.KeyVerifier(cache_seconds=3600)
            asking = keys.KeyVerifier(cache_seconds=0)
            seen = [
                await remembering.signed_in(session_factory, issued.key_id) is not None,
                await asking.signed_in(session_factory, issued.key_id) is not None,
            ]
            async with session_factory() as session, session.begin():
                assert await keys.revoke_key(session, key_id=issued.key_id)
            seen += [
                await remembering.signed_in(session_factory, issued.key_id) is not None,
                await asking.signed_in(session_factory, issued.key_id) is not None,
            ]
            return seen
        finally:
            await engine.dispose()

    # Remembered for its cache time, like a token; asked again every time without one.
    assert asyncio.run(work()) == [True, True, True, False]


def test_failed_keys_are_throttled_per_address_with_429_a_metric_and_one_log_line(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with api_for(db_url, auth_failures_allowed=5, auth_failure_window_seconds=60) as api:
        good = {"Authorization": f"Bearer {make_key(api.settings, 'profiles:read')}"}
        for i in range(5):
            wrong = {"Authorization": f"Bearer cs_{i:012x}_nope"}
            assert api.client.get("/v1/clients", headers=wrong).status_code == 401
        with caplog.at_level("WARNING", logger="clientscore.auth"):
            for i in range(30):
                wrong = {"Authorization": f"Bearer cs_{i:012x}_nope"}
                refused = api.client.get("/v1/clients", headers=wrong)
                assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "too_many_requests"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            # A key not verified before waits too: the address is throttled, not the key.
            assert api.client.get("/v1/clients", headers=good).status_code == 429
        bursts = [r for r in caplog.records if "failed authentications" in r.getMessage()]
        assert len(bursts) <= 1  # the burst began before the capture, or once within it
        assert "testclient" not in caplog.text  # the address is hashed in the log
        scraped = api.client.get("/metrics").text
        assert 'clientscore_auth_throttled_total{by="address"}' in scraped


def test_guessed_key_ids_cost_no_query_per_guess(db_url: str) -> None:
    with api_for(db_url, auth_failures_allowed=10_000) as api:
        make_key(api.settings, "profiles:read")
        engine = api.client.app.state.services.engine  # type: ignore[attr-defined]
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        started = time.monotonic()
        for i in range(300):
            wrong = {"Authorization": f"Bearer cs_{i:012x}_guess"}
            assert api.client.get("/v1/clients", headers=wrong).status_code == 401
        elapsed = time.monotonic() - started
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        # The stored ids are read again on a miss only within a budget: a burst of 100,
        # then 20 a second; never one query per guess.
        assert len(statements) <= 100 + 20 * elapsed + 2, (len(statements), elapsed)
        assert len(statements) < 300
        made = make_key(api.settings, "profiles:read")  # a key made now is found at once
        time.sleep(0.3)
        fresh = {"Authorization": f"Bearer {made}"}
        assert api.client.get("/v1/clients", headers=fresh).status_code == 200


def test_a_burst_of_first_requests_with_a_new_key_is_all_admitted(db_url: str) -> None:
    """Many requests that miss the key ids read so far wait for one read of them, rather
    than each spending the reads' budget and the late ones being refused."""
    settings = Settings.model_validate({"database_url": db_url})

    async def work() -> list[str]:
        engine = create_engine_for(settings)
        session_factory = create_sessionmaker(engine)
        try:
            async with session_factory() as session, session.begin():
                issued = await keys.create_key(session, name="burst", scopes=["classify"])
            verifier = keys.KeyVerifier(cache_seconds=0)
            callers = await asyncio.gather(
                *(verifier.verify(session_factory, issued.token) for _ in range(80))
            )
            return [caller.key_id for caller in callers]
        finally:
            await engine.dispose()

    assert len(set(asyncio.run(work()))) == 1
