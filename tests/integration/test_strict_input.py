"""Input the service must refuse plainly: oversized streamed bodies, broken JSON, numbers that
are not numbers, and dates no insurer can have."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from app.profiles.schemas import profile_example
from tests.integration.conftest import Api

JSON = {"Content-Type": "application/json"}


def put(api: Api, body: bytes | dict[str, Any], client_id: str = "S-1") -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return api.client.put(f"/v1/clients/{client_id}", content=raw, headers=api.auth() | JSON)


def rules(response: Any) -> dict[str, str]:
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"]: e["rule"] for e in response.json().get("errors", [])}


def test_a_chunked_body_over_the_limit_gets_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is known only as it streams
        yield b'{"kind": "individual", "extra": {"a": "'
        for _ in range(40):
            yield b"x" * 65_536
        yield b'"}}'

    response = api.client.put("/v1/clients/S-1", content=chunks(), headers=api.auth() | JSON)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"


def test_malformed_json_is_located_by_line_and_column(api: Api) -> None:
    response = put(api, b'{\n  "kind": "individual",\n  "city_tier": ,\n}')
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("body", "json_invalid")
    assert "line 3, column 16" in error["detail"]


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_inside_extra_are_refused(api: Api, number: bytes) -> None:
    body = b'{"kind": "individual", "extra": {"score": [1, {"x": ' + number + b"}]}}"
    response = put(api, body)
    assert response.status_code == 422, response.text
    assert rules(response) == {"extra": "finite_number"}
    assert api.client.get("/v1/clients/S-1", headers=api.auth()).status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("annual_premium", "5000", "float_type"),
        ("in_force_policies", "2", "int_type"),
        ("city_tier", True, "int_type"),
        ("birth_year", 1984.5, "int_type"),
        ("campaign_target", 1, "bool_type"),
        ("renewal_intent", "yes", "bool_type"),
        ("first_policy_date", "0001-01-01", "date_range"),
        ("last_purchase_date", 1_700_000_000, "date_type"),
    ],
)
def test_numbers_flags_and_dates_must_be_what_they_say(
    api: Api, field: str, value: Any, rule: str
) -> None:
    body = profile_example() | {field: value}
    response = put(api, body)
    assert response.status_code == 422, response.text
    assert rules(response) == {field: rule}
    patched = api.client.patch(
        "/v1/clients/S-2",
        content=orjson.dumps({field: value}),
        headers=api.auth() | {"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code in (404, 422)


def test_json_numbers_and_csv_cells_are_still_taken(api: Api) -> None:
    assert put(api, profile_example() | {"annual_premium": 5000, "city_tier": 2}).status_code == 201
    csv = (
        b"client_id,kind,birth_year,annual_premium,campaign_target,first_policy_date\n"
        b"S-3,individual,1980,1200.5,true,2015-06-01\n"
        b'S-4,individual,"1980x",12,false,1899-12-31\n'
    )
    report = api.client.post(
        "/v1/clients:import", content=csv, headers=api.auth() | {"Content-Type": "text/csv"}
    ).json()
    assert (report["created"], report["rejected"]) == (1, 1)
    assert {(e["field"], e["rule"]) for e in report["errors"]} == {
        ("birth_year", "int_type"),
        ("first_policy_date", "date_range"),
    }
    stored = api.client.get("/v1/clients/S-3", headers=api.auth()).json()
    assert (stored["annual_premium"], stored["campaign_target"]) == (1200.5, True)


def test_a_405_allows_every_method_of_the_path(api: Api) -> None:
    rules_allowed = api.client.options("/v1/rules", headers=api.auth())
    assert rules_allowed.status_code == 405
    assert set(rules_allowed.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT"}
    client_allowed = api.client.post("/v1/clients/S-1", headers=api.auth())
    assert set(client_allowed.headers["allow"].split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}


def test_the_document_lists_what_each_operation_answers(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"200", "201", "412"} <= set(paths["/v1/clients/{client_id}"]["put"]["responses"])
    assert not {"404", "412"} & set(paths["/v1/rules"]["get"]["responses"])
    imported = paths["/v1/clients:import"]["post"]
    assert "415" in imported["responses"]
    ndjson = imported["requestBody"]["content"]["application/x-ndjson"]
    assert ndjson["schema"]["format"] == "binary"
    assert "client_id" in ndjson["x-item-schema"]["allOf"][1]["required"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/classify"),
        ("POST", "/v1/classify:batch"),
        ("PUT", "/v1/clients/S-1"),
        ("PATCH", "/v1/clients/S-1"),
        ("POST", "/v1/clients/S-1/outcomes"),
        ("POST", "/v1/clients/S-1/offers"),
    ],
)
@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_gets_415(
    api: Api, method: str, path: str, media_type: str | None
) -> None:
    headers = api.auth() | ({"Content-Type": media_type} if media_type else {})
    response = api.client.request(method, path, content=b'{"kind": "individual"}', headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert (error["field"], error["rule"], error["location"]) == (
        "Content-Type",
        "media_type",
        "header",
    )
    assert api.client.get("/v1/clients/S-1", headers=api.auth()).status_code == 404


def test_json_flavours_and_the_import_s_own_types_are_not_refused(api: Api) -> None:
    patch = {"Content-Type": "application/merge-patch+json"}
    assert put(api, profile_example()).status_code == 201
    patched = api.client.patch("/v1/clients/S-1", json={"city_tier": 2}, headers=api.auth() | patch)
    assert patched.status_code == 200, patched.text
    csv = api.client.post(
        "/v1/clients:import",
        content=b"client_id,kind\nS-2,individual\n",
        headers=api.auth() | {"Content-Type": "text/csv"},
    )
    assert csv.status_code == 200, csv.text


@pytest.mark.parametrize("value", ["2026-01-01", "1700000000", "2026-01-01T00:00:00", "soon"])
def test_since_and_until_take_rfc_3339_timestamps_only(api: Api, value: str) -> None:
    assert put(api, profile_example()).status_code == 201
    for name in ("since", "until"):
        response = api.client.get(
            "/v1/clients/S-1/classifications", params={name: value}, headers=api.auth()
        )
        assert response.status_code == 422, response.text
        assert rules(response) == {name: "datetime_format"}
    report = api.client.get("/v1/strategy/report", params={"since": value}, headers=api.auth())
    assert report.status_code == 422
    assert rules(report) == {"since": "datetime_format"}
    for good in (
        "2026-01-01T00:00:00Z",
        "2026-01-01T08:00:00+08:00",
        "2026-01-01T08:00:00.5-05:00",
    ):
        response = api.client.get(
            "/v1/clients/S-1/classifications", params={"since": good}, headers=api.auth()
        )
        assert response.status_code == 200, (good, response.text)


@pytest.mark.parametrize("value", ["yes", "1", "on", "True"])
def test_explain_takes_json_booleans_only(api: Api, value: str) -> None:
    assert put(api, profile_example()).status_code == 201
    query = api.client.get(
        "/v1/clients/S-1/classification", params={"explain": value}, headers=api.auth()
    )
    assert query.status_code == 422, query.text
    assert rules(query) == {"explain": "bool_type"}
    body = api.client.post(
        "/v1/classify", json={"client_id": "S-1", "explain": value}, headers=api.auth()
    )
    assert body.status_code == 422, body.text
    assert rules(body) == {"explain": "bool_type"}
    batch = api.client.post(
        "/v1/classify:batch",
        json={"items": [{"client_id": "S-1"}], "explain": 1},
        headers=api.auth(),
    )
    assert batch.status_code == 422, batch.text


def test_the_document_declares_the_api_key_and_the_batch_body_limit(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key, `cs_<key id>_<secret>` (`clientscore keys create`).",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/"):
                assert operation["security"] == [{"bearer": []}], (method, path)
            else:
                assert "security" not in operation, (method, path)
    batch = document["paths"]["/v1/classify:batch"]["post"]["description"]
    assert "CLIENTSCORE_MAX_BODY_BYTES" in batch
