"""Client profiles over HTTP: round trips, idempotence, preconditions, erasure, paging."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.profiles.schemas import profile_example
from tests.conftest import sync_engine
from tests.integration.conftest import Api


def corporate() -> dict[str, Any]:
    return {
        "kind": "corporate",
        "industry": "manufacturing",
        "employees": 850,
        "annual_revenue": 320_000_000,
        "ownership": "state_owned",
        "province": "jiangsu",
        "products_held": ["group_health", "work_injury"],
        "in_force_policies": 2,
        "annual_premium": 1_250_000,
        "personal": {"name": "苏州精工机械有限公司", "national_id": "91350100M000100Y43"},
    }


def stored_rows(url: str, client_id: str) -> tuple[Any, Any]:
    engine = sync_engine(url)
    with engine.connect() as conn:
        client = conn.execute(
            text("SELECT version, annual_premium FROM client WHERE client_id = :id"),
            {"id": client_id},
        ).first()
        personal = conn.execute(
            text("SELECT name, phone, national_id FROM client_personal WHERE client_id = :id"),
            {"id": client_id},
        ).first()
    engine.dispose()
    return client, personal


def test_put_creates_then_get_returns_the_same_profile(api: Api) -> None:
    body = profile_example()
    created = api.client.put("/v1/clients/C-1", json=body, headers=api.auth())
    assert created.status_code == 201
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == "/v1/clients/C-1"

    read = api.client.get("/v1/clients/C-1", headers=api.auth())
    assert read.status_code == 200
    data = read.json()
    assert data["client_id"] == "C-1"
    assert data["version"] == 1
    assert data["personal"] == body["personal"]
    for name, value in body.items():
        if name != "personal":
            assert data[name] == value, name


def test_replaying_a_put_changes_nothing_and_a_change_bumps_the_version(api: Api) -> None:
    body = corporate()
    assert api.client.put("/v1/clients/G-1", json=body, headers=api.auth()).status_code == 201
    again = api.client.put("/v1/clients/G-1", json=body, headers=api.auth())
    assert again.status_code == 200
    assert again.json()["version"] == 1
    changed = api.client.put("/v1/clients/G-1", json=body | {"employees": 900}, headers=api.auth())
    assert changed.json()["version"] == 2
    assert changed.headers["etag"] == '"2"'


def test_a_stale_if_match_is_refused_and_the_row_is_unchanged(api: Api) -> None:
    body = profile_example()
    api.client.put("/v1/clients/C-2", json=body, headers=api.auth())
    first = api.client.patch(
        "/v1/clients/C-2", json={"annual_premium": 20000}, headers=api.auth() | {"If-Match": '"1"'}
    )
    assert first.status_code == 200
    assert first.json()["version"] == 2

    stale = api.client.put(
        "/v1/clients/C-2",
        json=body | {"annual_premium": 99999},
        headers=api.auth() | {"If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["code"] == "precondition_failed"
    client, _ = stored_rows(api.url, "C-2")
    assert tuple(client) == (2, 20000.0)

    stale_patch = api.client.patch(
        "/v1/clients/C-2", json={"annual_premium": 1}, headers=api.auth() | {"If-Match": '"1"'}
    )
    assert stale_patch.status_code == 412
    stale_delete = api.client.delete("/v1/clients/C-2", headers=api.auth() | {"If-Match": '"1"'})
    assert stale_delete.status_code == 412
    assert tuple(stored_rows(api.url, "C-2")[0]) == (2, 20000.0)


def test_if_none_match_star_only_creates(api: Api) -> None:
    headers = api.auth() | {"If-None-Match": "*"}
    assert api.client.put("/v1/clients/C-3", json=corporate(), headers=headers).status_code == 201
    assert api.client.put("/v1/clients/C-3", json=corporate(), headers=headers).status_code == 412


def test_patch_merges_and_null_clears_a_field(api: Api) -> None:
    api.client.put("/v1/clients/C-4", json=profile_example(), headers=api.auth())
    patched = api.client.patch(
        "/v1/clients/C-4",
        json={"city_tier": None, "province": "jiangsu", "personal": {"phone": None}},
        headers=api.auth() | {"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200
    data = patched.json()
    assert data["city_tier"] is None
    assert data["province"] == "jiangsu"
    assert data["personal"]["phone"] is None
    assert data["personal"]["name"] == profile_example()["personal"]["name"]


def test_a_patch_that_makes_the_profile_invalid_is_refused(api: Api) -> None:
    api.client.put("/v1/clients/C-5", json=profile_example(), headers=api.auth())
    bad = api.client.patch("/v1/clients/C-5", json={"employees": 10}, headers=api.auth())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "employees"
    assert bad.json()["errors"][0]["rule"] == "kind_mismatch"
    assert api.client.get("/v1/clients/C-5", headers=api.auth()).json()["version"] == 1


def test_delete_erases_the_profile_and_its_personal_data(api: Api) -> None:
    api.client.put("/v1/clients/C-6", json=profile_example(), headers=api.auth())
    assert api.client.delete("/v1/clients/C-6", headers=api.auth()).status_code == 204
    assert stored_rows(api.url, "C-6") == (None, None)
    gone = api.client.get("/v1/clients/C-6", headers=api.auth())
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"
    assert api.client.delete("/v1/clients/C-6", headers=api.auth()).status_code == 404


def test_list_pages_with_a_cursor_and_filters(api: Api) -> None:
    for n in range(7):
        body = corporate() if n % 2 else profile_example()
        api.client.put(f"/v1/clients/L-{n}", json=body, headers=api.auth())
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.client.get("/v1/clients", params=params, headers=api.auth()).json()
        seen += [item["client_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"L-{n}" for n in range(7)]
    companies = api.client.get(
        "/v1/clients", params={"kind": "corporate", "industry": "manufacturing"}, headers=api.auth()
    ).json()
    assert [c["client_id"] for c in companies["items"]] == ["L-1", "L-3", "L-5"]
    zhejiang = api.client.get("/v1/clients", params={"province": "zhejiang"}, headers=api.auth())
    assert len(zhejiang.json()["items"]) == 4


def test_invalid_profile_names_every_bad_field_and_rule(api: Api) -> None:
    body = profile_example() | {
        "birth_year": 1850,
        "annual_premium": -1,
        "province": "atlantis",
        "premium_discount_rate": 1.5,
        "last_interaction_date": "2999-01-01",
    }
    response = api.client.put("/v1/clients/C-7", json=body, headers=api.auth())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["type"].endswith("validation_failed")
    rules = {e["field"]: e["rule"] for e in problem["errors"]}
    assert rules == {
        "birth_year": "age_range",
        "annual_premium": "greater_than_equal",
        "province": "enum",
        "premium_discount_rate": "less_than_equal",
        "last_interaction_date": "date_not_in_future",
    }
    assert stored_rows(api.url, "C-7") == (None, None)


def test_bad_client_id_unknown_route_and_oversized_body(api: Api) -> None:
    bad_id = api.client.put("/v1/clients/has%20space", json=corporate(), headers=api.auth())
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["location"] == "path"
    missing = api.client.get("/v1/nothing-here", headers=api.auth())
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    huge = corporate() | {"extra": {"note": "x" * 2_000_000}}
    too_big = api.client.put("/v1/clients/C-8", json=huge, headers=api.auth())
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "payload_too_large"


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
