"""Malformed requests of every shape get a 4xx problem, never a 5xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.profiles.schemas import ClientProfile, profile_example
from tests.integration.conftest import Api

FIELDS = list(ClientProfile.model_fields)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
TRICKY = [
    b'{"kind": "individual", "annual_premium": 1e400}',
    b'{"kind": "individual", "annual_premium": NaN}',
    b'{"kind": "individual", "birth_year": 99999999999999999999999}',
    b'{"kind": "individual", "first_policy_date": "2024-02-30"}',
    b'{"kind": "corporate", "extra": {"a": {"b": {"c": [[[[[]]]]]}}}}',
    b'{"kind": "individual", "personal": {"national_id": "110105194912310021"}}',
    b'{"kind": "individual"' * 50,
    b"\xff\xfe{}",
]
# A valid profile with some fields replaced by arbitrary JSON values.
mutated_profiles = st.builds(
    lambda base, changes: base | changes,
    st.just(profile_example()),
    st.dictionaries(st.sampled_from([*FIELDS, "client_id", "unknown"]), json_values, max_size=4),
)
bodies = (
    mutated_profiles.map(lambda body: ("json", body))
    | json_values.map(lambda body: ("json", body))
    | st.binary(max_size=200).map(lambda raw: ("raw", raw))
    | st.sampled_from(TRICKY).map(lambda raw: ("raw", raw))
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def send(api: Api, method: str, path: str, body: tuple[str, Any], content_type: str) -> Any:
    kind, payload = body
    headers = api.auth() | {"Content-Type": content_type}
    if kind == "json":
        return api.client.request(method, path, json=payload, headers=headers)
    return api.client.request(method, path, content=payload, headers=headers)


def assert_clean(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code


@FUZZ
@given(body=bodies, client_id=st.text(max_size=70))
def test_put_never_fails_with_a_5xx(api: Api, body: tuple[str, Any], client_id: str) -> None:
    path = "/v1/clients/" + (quote(client_id, safe="") or "x")
    assert_clean(send(api, "PUT", path, body, "application/json"))


@FUZZ
@given(body=bodies)
def test_patch_never_fails_with_a_5xx(api: Api, body: tuple[str, Any]) -> None:
    api.client.put("/v1/clients/F-1", json=profile_example(), headers=api.auth())
    assert_clean(send(api, "PATCH", "/v1/clients/F-1", body, "application/merge-patch+json"))


@FUZZ
@given(
    lines=st.lists(bodies, max_size=5),
    content_type=st.sampled_from(["application/x-ndjson", "text/csv", "text/plain"]),
)
def test_import_never_fails_with_a_5xx(
    api: Api, lines: list[tuple[str, Any]], content_type: str
) -> None:
    raw = b"\n".join(
        payload if kind == "raw" else json.dumps(payload).encode() for kind, payload in lines
    )
    response = api.client.post(
        "/v1/clients:import", content=raw, headers=api.auth() | {"Content-Type": content_type}
    )
    assert_clean(response)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["cursor", "limit", "kind", "province", "industry"]), st.text(max_size=20)
    )
)
def test_list_query_never_fails_with_a_5xx(api: Api, params: dict[str, str]) -> None:
    assert_clean(api.client.get("/v1/clients", params=params, headers=api.auth()))
