"""The request log of a real two-worker server: JSON lines, ids, and no personal data.

A full scenario with names, phone numbers and national id numbers (stored, read, imported,
classified, refused as invalid, erased, and a failed audit write) runs against the real
process; every line it logged is then parsed and searched for those values.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app.db.migrate import upgrade
from app.profiles.schemas import profile_example
from tests.e2e.test_server import mint_key, serving

pytestmark = pytest.mark.e2e
PEOPLE = [
    {"name": "王芳", "phone": "13800138000", "national_id": "330106198403150043"},
    {"name": "欧阳震华", "phone": "13912345678", "national_id": "330106198403150043"},
]
INVALID_ID = "33010619840315004Z"  # refused, and must not be logged either
SECRETS = [value for person in PEOPLE for value in person.values()] + [INVALID_ID]


def person(i: int, **changes: Any) -> dict[str, Any]:
    return profile_example() | {"personal": PEOPLE[i]} | changes


def scenario(http: httpx.Client) -> list[tuple[str, int]]:
    """Every call made, with the request id it sent and the status it got."""
    calls: list[tuple[str, int]] = []

    def call(
        method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        rid = f"log-test-{len(calls)}"
        headers = {**(headers or {}), "X-Request-ID": rid}
        response = http.request(method, url, headers=headers, **kwargs)
        assert response.headers["X-Request-ID"] == rid
        calls.append((rid, response.status_code))
        return response

    assert call("PUT", "/v1/clients/P-1", json=person(0)).status_code == 201
    assert call("GET", "/v1/clients/P-1").json()["personal"]["name"] == PEOPLE[0]["name"]
    bad = {"personal": {**PEOPLE[0], "national_id": INVALID_ID}}
    assert call("PATCH", "/v1/clients/P-1", json=bad).status_code == 422
    line = orjson.dumps({"client_id": "P-2", **person(1)})
    imported = call("POST", "/v1/clients:import", content=line + b"\n{broken\n",
                     headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert imported.json()["created"] == 1
    assert call("GET", "/v1/clients/P-2/classification").status_code == 200
    batch = {"items": [{"client_id": "P-1"}, {"client_id": "P-2"}], "explain": True}
    assert call("POST", "/v1/classify:batch", json=batch).status_code == 200
    assert call("GET", "/v1/clients/P-1/classifications").status_code == 200
    assert call("DELETE", "/v1/clients/P-2").status_code in {200, 204}
    return calls


def test_every_request_logs_one_json_line_without_personal_data(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": f"sqlite:///{db}",
        "CLIENTSCORE_LOG_LEVEL": "INFO",
    }
    upgrade(env["CLIENTSCORE_DATABASE_URL"])
    token = mint_key(env["CLIENTSCORE_DATABASE_URL"], "admin", name="ops")
    log = tmp_path / "server.log"
    with (
        serving(env, log, workers=2) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http,
    ):
        calls = scenario(http)
        # The audit trail is gone from under the service: the classification must fail,
        # be counted, and be logged with its request id.
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TABLE classification_audit")
        failed = http.get(
            "/v1/clients/P-1/classification", headers={"X-Request-ID": "log-test-fail"}
        )
        assert failed.status_code == 500
        assert failed.headers["x-request-id"] == "log-test-fail"
        # Uvicorn closes a connection whose request raised: ask on a new one.
        metrics = httpx.get(f"{base}/metrics").text
    assert "clientscore_audit_write_failures_total 1.0" in metrics

    text = log.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in text, f"{secret} was logged"
    entries = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    requests = {e["request_id"]: e for e in entries if e["logger"] == "clientscore.requests"}
    for rid, status in calls:
        assert requests[rid]["status"] == status
        assert requests[rid]["key_id"] == token.split("_")[1]
    assert requests["log-test-fail"]["status"] == 500
    errors = [
        e for e in entries if e["level"] == "error" and e.get("request_id") == "log-test-fail"
    ]
    assert errors, "the failure was not logged with its request id"
    assert "classification_audit" in errors[0]["error"]
