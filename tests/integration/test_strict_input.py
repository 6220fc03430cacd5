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
