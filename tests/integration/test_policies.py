"""A client's policies and open claims: stored apart, imported, patched and erased with it;
phone numbers stored in one form."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text

from app.profiles.schemas import profile_example
from tests.conftest import sync_engine
from tests.integration.conftest import Api

NDJSON = {"Content-Type": "application/x-ndjson"}
POLICIES = [
    {"policy_number": "P-100", "product": "auto", "annual_premium": 4200.0,
     "start_date": "2019-05-01", "renewal_date": "2027-05-01", "status": "in_force"},
    {"policy_number": "P-200", "product": "health", "annual_premium": 9800.0,
     "start_date": "2021-01-10", "renewal_date": "2027-01-10", "status": "in_force"},
]  # fmt: skip
CLAIMS = [
    {"claim_number": "CL-7", "policy_number": "P-100", "reported_on": "2026-11-02",
     "amount": 3600.0, "status": "assessing"},
]  # fmt: skip


def with_holdings(**changes: Any) -> dict[str, Any]:
    return profile_example() | {"policies": POLICIES, "claims": CLAIMS} | changes


def count(api: Api, table: str) -> int:
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return int(found or 0)


def test_policies_and_claims_are_stored_read_patched_and_erased_with_the_client(
    api: Api,
) -> None:
    stored = api.client.put("/v1/clients/P-1", json=with_holdings(), headers=api.auth())
    assert stored.status_code == 201, stored.text
    read = api.client.get("/v1/clients/P-1", headers=api.auth()).json()
    assert read["policies"] == POLICIES
    assert read["claims"] == CLAIMS
    assert (count(api, "client_policy"), count(api, "client_claim")) == (2, 1)

    # A patch of another field keeps them; the same profile again is no new version.
    patched = api.client.patch(
        "/v1/clients/P-1",
        json={"referrals": 5},
        headers=api.auth() | {"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["policies"] == POLICIES
    again = api.client.put(
        "/v1/clients/P-1", json=with_holdings(referrals=5), headers=api.auth()
    ).json()
    assert again["version"] == patched.json()["version"]

    # A profile without them replaces them with none.
    api.client.put("/v1/clients/P-1", json=profile_example(), headers=api.auth())
    assert (count(api, "client_policy"), count(api, "client_claim")) == (0, 0)

    api.client.put("/v1/clients/P-1", json=with_holdings(), headers=api.auth())
    assert api.client.delete("/v1/clients/P-1", headers=api.auth()).status_code == 204
    assert (count(api, "client_policy"), count(api, "client_claim")) == (0, 0)


def test_bad_policies_are_refused_naming_the_field(api: Api) -> None:
    late = dict(POLICIES[0], renewal_date="2018-01-01")
    twice = [POLICIES[0], POLICIES[0]]
    for policies, rule in [([late], "date_order"), (twice, "unique_items")]:
        refused = api.client.put(
            "/v1/clients/P-2", json=with_holdings(policies=policies), headers=api.auth()
        )
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]
        assert any(e["rule"] == rule and e["field"].startswith("policies") for e in errors), errors
    assert count(api, "client") == 0


def test_an_ndjson_import_carries_policies_and_a_csv_header_naming_them_is_refused(
    api: Api,
) -> None:
    lines = [
        {"client_id": "I-1", **with_holdings()},
        {"client_id": "I-2", **profile_example()},
    ]
    body = b"\n".join(orjson.dumps(line) for line in lines)
    report = api.client.post("/v1/clients:import", content=body, headers=api.auth() | NDJSON)
    assert report.status_code == 200, report.text
    assert report.json()["created"] == 2
    assert api.client.get("/v1/clients/I-1", headers=api.auth()).json()["policies"] == POLICIES
    assert api.client.get("/v1/clients/I-2", headers=api.auth()).json()["policies"] == []

    # Imported again with one policy fewer: the client is updated, its rows replaced.
    lines[0]["policies"] = POLICIES[:1]
    body = b"\n".join(orjson.dumps(line) for line in lines)
    again = api.client.post("/v1/clients:import", content=body, headers=api.auth() | NDJSON)
    assert (again.json()["updated"], again.json()["unchanged"]) == (1, 1)
    assert count(api, "client_policy") == 1

    csv_body = b"client_id,kind,policies\nI-3,individual,P-1\n"
    refused = api.client.post(
        "/v1/clients:import", content=csv_body, headers=api.auth() | {"Content-Type": "text/csv"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "policies"


def test_phone_numbers_are_stored_in_one_form(api: Api) -> None:
    for client_id, phone in [
        ("T-1", "+86 147 5774 4243"),
        ("T-2", "147-5774-4243"),
        ("T-3", "+8614757744243"),
        ("T-4", "0086 14757744243"),
    ]:
        body = profile_example() | {"personal": {"name": "张伟", "phone": phone}}
        api.client.put(f"/v1/clients/{client_id}", json=body, headers=api.auth())
        read = api.client.get(f"/v1/clients/{client_id}", headers=api.auth()).json()
        assert read["personal"]["phone"] == "14757744243"
