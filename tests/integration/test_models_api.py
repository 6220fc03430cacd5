"""The model registry over HTTP: listing, changing the champion, refusals, auth, readiness."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.serving.repository import ModelRepository
from tests.integration.conftest import Api, api_for
from tests.model_versions import (
    corrupt,
    numeric,
    point_by_hand,
    service_features,
    service_registry,
    write_version,
)

LAPSE = service_features()["lapse"]


@pytest.fixture
def models_api(db_url: str, tmp_path: Path) -> Iterator[tuple[Api, Path, dict[str, str]]]:
    champions = service_registry(tmp_path)
    with api_for(db_url, models_dir=tmp_path, model_reload_seconds=0.05) as api:
        yield api, tmp_path, champions


def put_champion(api: Api, name: str, body: dict[str, Any], scope: str = "admin") -> Any:
    return api.client.put(f"/v1/models/{name}/champion", json=body, headers=api.auth(scope))


def test_list_and_read_models(models_api: tuple[Api, Path, dict[str, str]]) -> None:
    api, root, champions = models_api
    newer = write_version(root, "lapse", LAPSE, seed=5)
    listed = api.client.get("/v1/models", headers=api.auth("classify"))
    assert listed.status_code == 200
    body = listed.json()
    assert body["served_by"] == os.getpid()
    by_name = {m["name"]: m for m in body["models"]}
    assert sorted(by_name) == sorted(champions)
    for name, version in champions.items():
        assert (by_name[name]["champion"], by_name[name]["served"]) == (version, version)
        assert by_name[name]["error"] is None
    lapse = api.client.get("/v1/models/lapse", headers=api.auth("classify")).json()
    assert [v["version"] for v in lapse["versions"]] == [newer, champions["lapse"]]
    figures = lapse["versions"][0]
    assert figures["metrics"]["model"]["auc"] == pytest.approx(0.71)
    assert figures["metrics"]["baseline"]["auc"] == 0.5
    assert "curves" not in figures["metrics"]
    assert figures["rows"] == {"train": 200, "validation": 50, "test": 50}
    assert figures["num_trees"] > 0
    missing = api.client.get("/v1/models/churn", headers=api.auth("classify"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "no model named 'churn'"


def test_promote_and_roll_back(models_api: tuple[Api, Path, dict[str, str]]) -> None:
    api, root, champions = models_api
    first, second = champions["lapse"], write_version(root, "lapse", LAPSE, seed=5)
    promoted = put_champion(api, "lapse", {"version": second})
    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert (body["champion"], body["served"], body["history"]) == (second, second, [first])
    back = put_champion(api, "lapse", {"rollback": True}).json()
    assert (back["champion"], back["served"], back["history"]) == (first, first, [])
    again = put_champion(api, "lapse", {"rollback": True})
    assert again.status_code == 409
    assert again.json()["detail"] == "model 'lapse' has no earlier champion to roll back to"
    # Any earlier version can be promoted back by name.
    assert put_champion(api, "lapse", {"version": second}).json()["served"] == second
    pointer = ModelRepository(root).pointer("lapse")
    assert pointer is not None
    assert pointer.promoted_by is not None
    assert pointer.promoted_by.startswith("api-key:")


def test_refused_versions_leave_the_champion(models_api: tuple[Api, Path, dict[str, str]]) -> None:
    api, root, champions = models_api
    first = champions["lapse"]
    corrupted = write_version(root, "lapse", LAPSE, seed=5)
    corrupt(root, "lapse", corrupted)
    refused = put_champion(api, "lapse", {"version": corrupted})
    assert refused.status_code == 422
    assert refused.json()["code"] == "model_invalid"
    assert "model.txt is corrupt or was replaced" in refused.json()["detail"]
    if len(LAPSE) > 1:
        narrow = write_version(root, "lapse", numeric(LAPSE[0].name), seed=6)
        incompatible = put_champion(api, "lapse", {"version": narrow})
        assert incompatible.status_code == 422
        assert "incompatible feature schema" in incompatible.json()["detail"]
    unknown = put_champion(api, "lapse", {"version": "20990101T000000Z-00000000"})
    assert unknown.status_code == 404
    assert put_champion(api, "churn", {"version": first}).status_code == 404
    now = api.client.get("/v1/models/lapse", headers=api.auth()).json()
    assert (now["champion"], now["served"]) == (first, first)
    assert ModelRepository(root).champion("lapse") == first


def test_a_hand_promoted_bad_version_is_refused_by_the_worker(
    models_api: tuple[Api, Path, dict[str, str]],
) -> None:
    api, root, champions = models_api
    corrupted = write_version(root, "claims", service_features()["claims"], seed=5)
    corrupt(root, "claims", corrupted)
    point_by_hand(root, "claims", corrupted)
    deadline = time.monotonic() + 10
    claims: dict[str, Any] = {}
    while time.monotonic() < deadline and not claims.get("error"):
        claims = api.client.get("/v1/models/claims", headers=api.auth()).json()
        time.sleep(0.05)
    assert (claims["champion"], claims["served"]) == (corrupted, champions["claims"])
    assert f"claims/{corrupted}: model.txt is corrupt" in claims["error"]
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["models"]["claims"] == champions["claims"]
    assert "model.txt is corrupt" in ready.json()["model_errors"]["claims"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "version"),
        ({"rollback": False}, "version"),
        ({"version": "20261123T120000Z-1a2b3c4d", "rollback": True}, "rollback"),
        ({"version": "../claims/x"}, "version"),
        ({"rollback": "perhaps"}, "rollback"),
        ({"versoin": "20261123T120000Z-1a2b3c4d"}, "versoin"),
    ],
)
def test_champion_body_is_validated(
    models_api: tuple[Api, Path, dict[str, str]], body: dict[str, Any], field: str
) -> None:
    api, _, champions = models_api
    response = put_champion(api, "lapse", body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert field in [e["field"] for e in problem["errors"]]
    assert ModelRepository(api.settings.models_dir).champion("lapse") == champions["lapse"]


# (method, path, body, scopes refused with 403, scopes allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, tuple[str, ...], tuple[str, ...]]] = [
    ("GET", "/v1/models", None, ("profiles:read", "profiles:write"), ("classify", "admin")),
    ("GET", "/v1/models/lapse", None, ("profiles:read",), ("classify", "admin")),
    ("PUT", "/v1/models/lapse/champion", {}, ("classify", "profiles:write"), ("admin",)),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_auth_matrix(
    models_api: tuple[Api, Path, dict[str, str]],
    endpoint: tuple[str, str, dict[str, Any] | None, tuple[str, ...], tuple[str, ...]],
) -> None:
    api, _, champions = models_api
    method, path, body, refused, allowed = endpoint
    if body is not None:
        body = {"version": champions["lapse"]}
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer cs_0123456789ab_not-the-secret"}, 401),
        *((api.auth(scope), 403) for scope in refused),
    ):
        response = api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for scope in allowed:
        response = api.client.request(method, path, json=body, headers=api.auth(scope))
        assert response.status_code == 200, (scope, response.text)


def test_ready_only_when_every_service_model_has_a_champion(db_url: str, tmp_path: Path) -> None:
    service_registry(tmp_path)
    (tmp_path / "claims" / "champion.json").unlink()
    with api_for(db_url, models_dir=tmp_path) as api:
        ready = api.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["detail"] == (
            "no champion loaded for claims (claims: no champion has been promoted)"
        )
        assert api.client.get("/healthz").status_code == 200
        version = ModelRepository(tmp_path).versions("claims")[0]
        assert put_champion(api, "claims", {"version": version}).status_code == 200
        ready = api.client.get("/readyz")
        assert ready.status_code == 200
        assert set(ready.json()["models"]) == set(service_features())


def test_openapi_documents_the_champion_change(
    models_api: tuple[Api, Path, dict[str, str]],
) -> None:
    api, _, _ = models_api
    operation = api.client.get("/openapi.json").json()["paths"]["/v1/models/{name}/champion"]["put"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"promote", "rollback"}
    assert {"404", "409", "422"} <= set(operation["responses"])
