"""The classification endpoints on a real database, with real models and a calibrated ruleset."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.classification.schemas import AuditPage, BatchRead, Classification
from app.profiles.schemas import profile_example
from tests.conftest import sync_engine
from tests.integration.conftest import Api, api_for
from tests.integration.test_malformed_bodies import FUZZ, assert_clean, bodies, json_values, send
from tests.service_models import calibrated_rules, champions, copy_ruleset, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
PERSONAL = profile_example()["personal"]


def inline() -> dict[str, Any]:
    body = profile_example()
    body.pop("personal")
    return body


def rules_copy(calibrated_rules: Path, parent: Path) -> Path:
    target = parent / "rules"
    shutil.copytree(calibrated_rules, target)
    return target


@contextmanager
def classifying_api(url: str, models_dir: Path, rules_dir: Path) -> Iterator[Api]:
    with api_for(url, models_dir=models_dir, rules_dir=rules_dir, rules_reload_seconds=0.05) as api:
        yield api


@pytest.fixture(scope="module")
def module_api(
    backend_url: str,
    models_dir: Path,
    calibrated_rules: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    """One app per backend for the tests that leave the ruleset as it is."""
    rules_dir = rules_copy(calibrated_rules, tmp_path_factory.mktemp("classification"))
    with classifying_api(backend_url, models_dir, rules_dir) as built:
        yield built


@pytest.fixture
def own_api(
    db_url: str, models_dir: Path, calibrated_rules: Path, tmp_path: Path
) -> Iterator[tuple[Api, Path]]:
    """An app of the test's own, with its ruleset folder, for a test that changes the ruleset."""
    rules_dir = rules_copy(calibrated_rules, tmp_path)
    with classifying_api(db_url, models_dir, rules_dir) as api:
        yield api, rules_dir


def store(api: Api, client_id: str, **changes: Any) -> None:
    response = api.client.put(
        f"/v1/clients/{client_id}", json=profile_example() | changes, headers=api.auth()
    )
    assert response.status_code in {200, 201}, response.text


def audit_rows(api: Api, client_id: str | None = None) -> int:
    return audit_count(api.url, client_id)


def audit_count(url: str, client_id: str | None = None) -> int:
    """Rows of the audit trail in the database at `url` (of one client, if named)."""
    engine = sync_engine(url)
    with engine.connect() as conn:
        if client_id is None:
            count = conn.execute(text("SELECT count(*) FROM classification_audit")).scalar()
        else:
            count = conn.execute(
                text("SELECT count(*) FROM classification_audit WHERE client_id = :id"),
                {"id": client_id},
            ).scalar()
    engine.dispose()
    return int(count or 0)


def test_an_inline_profile_is_classified_with_reasons_and_not_audited(api: Api) -> None:
    response = api.client.post(
        "/v1/classify", json={"profile": inline()}, headers=api.auth("classify")
    )
    assert response.status_code == 200, response.text
    body = Classification.model_validate(response.json())
    assert body.client_id is None
    assert body.reasons is not None
    assert body.reasons.risk
    assert body.reasons.lifecycle
    assert set(body.versions.models) == {"lapse", "claims", "propensity"}
    assert body.versions.ruleset.startswith("rs-")
    assert str(uuid.UUID(body.request_id)) == response.headers["X-Request-ID"]
    assert audit_rows(api) == 0


def test_the_callers_request_id_is_used_and_echoed(api: Api) -> None:
    headers = api.auth("classify") | {"X-Request-ID": "crm-42.call-7"}
    response = api.client.post("/v1/classify", json={"profile": inline()}, headers=headers)
    assert response.json()["request_id"] == "crm-42.call-7"
    assert response.headers["X-Request-ID"] == "crm-42.call-7"
    bad = api.client.post(
        "/v1/classify", json={"profile": inline()}, headers=headers | {"X-Request-ID": "a b"}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "X-Request-ID"


def test_a_stored_client_is_classified_and_audited_in_the_request(api: Api) -> None:
    store(api, "C-1")
    before = audit_rows(api, "C-1")
    response = api.client.post("/v1/classify", json={"client_id": "C-1"}, headers=api.auth())
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == "C-1"
    assert audit_rows(api, "C-1") == before + 1
    looked_up = api.client.get("/v1/clients/C-1/classification", headers=api.auth("classify"))
    assert looked_up.status_code == 200
    assert looked_up.json()["reasons"] is not None
    assert audit_rows(api, "C-1") == before + 2
    text_of = response.text + looked_up.text
    for secret in PERSONAL.values():
        assert secret not in text_of


def test_an_unknown_client_is_404_and_not_audited(api: Api) -> None:
    for response in (
        api.client.post("/v1/classify", json={"client_id": "C-404"}, headers=api.auth()),
        api.client.get("/v1/clients/C-404/classification", headers=api.auth()),
        api.client.get("/v1/clients/C-404/classifications", headers=api.auth()),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert audit_rows(api) == 0


def test_bad_bodies_name_the_field(api: Api) -> None:
    both = api.client.post(
        "/v1/classify", json={"profile": inline(), "client_id": "C-1"}, headers=api.auth()
    )
    assert both.status_code == 422
    assert both.json()["errors"][0]["field"] == "profile"
    bad_age = api.client.post(
        "/v1/classify", json={"profile": inline() | {"birth_year": 1700}}, headers=api.auth()
    )
    assert bad_age.status_code == 422
    assert bad_age.json()["errors"][0]["field"] == "profile.birth_year"


def test_a_batch_classifies_the_good_items_and_reports_the_bad_ones(api: Api) -> None:
    store(api, "C-1")
    store(api, "C-2", missed_payments_12m=3, interactions_12m=0)
    items = [
        {"client_id": "C-1"},
        {"profile": inline() | {"annual_premium": -5}},
        {"profile": inline()},
        {"client_id": "C-missing"},
        {"client_id": "C-2"},
        {"nonsense": True},
    ]
    response = api.client.post(
        "/v1/classify:batch", json={"items": items}, headers=api.auth("classify")
    )
    assert response.status_code == 200, response.text
    body = BatchRead.model_validate(response.json())
    assert [item.status for item in body.items] == [200, 422, 200, 404, 200, 422]
    assert (body.classified, body.failed) == (3, 3)
    assert body.items[1].problem is not None
    assert body.items[1].problem.errors[0]["field"] == "items.1.profile.annual_premium"
    assert body.items[0].result is not None
    assert body.items[0].result.reasons is None
    assert body.items[4].result is not None
    assert body.items[4].result.client_id == "C-2"
    assert audit_rows(api) == 2  # the two stored clients
    too_many = api.client.post(
        "/v1/classify:batch", json={"items": [{"profile": inline()}] * 1001}, headers=api.auth()
    )
    assert too_many.status_code == 422


def test_every_endpoint_needs_the_classify_scope(api: Api) -> None:
    store(api, "C-1")
    calls = [
        ("POST", "/v1/classify", {"profile": inline()}),
        ("POST", "/v1/classify:batch", {"items": [{"profile": inline()}]}),
        ("GET", "/v1/clients/C-1/classification", None),
        ("GET", "/v1/clients/C-1/classifications", None),
        ("GET", "/v1/rules", None),
    ]
    for method, path, body in calls:
        anonymous = api.client.request(method, path, json=body)
        assert anonymous.status_code == 401, path
        wrong = api.client.request(method, path, json=body, headers=api.auth("profiles:read"))
        assert wrong.status_code == 403, path
        allowed = api.client.request(method, path, json=body, headers=api.auth("classify"))
        assert allowed.status_code == 200, (path, allowed.text)
    upload = api.client.put("/v1/rules", json={"files": {}}, headers=api.auth("classify"))
    assert upload.status_code == 403


def test_the_history_filters_by_time_and_pages(api: Api) -> None:
    store(api, "C-1")
    for _ in range(3):
        api.client.get("/v1/clients/C-1/classification?explain=false", headers=api.auth())
        time.sleep(0.01)
    url = "/v1/clients/C-1/classifications"
    first = api.client.get(url, params={"limit": 2}, headers=api.auth())
    page = AuditPage.model_validate(first.json())
    assert len(page.items) == 2
    assert page.next_cursor
    assert page.items[0].classified_at >= page.items[1].classified_at
    assert page.items[0].result.client_id == "C-1"
    assert page.items[0].key_id != "anonymous"
    rest = api.client.get(url, params={"limit": 2, "cursor": page.next_cursor}, headers=api.auth())
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    middle = page.items[1].classified_at
    since = api.client.get(url, params={"since": middle.isoformat()}, headers=api.auth())
    assert len(since.json()["items"]) == 2
    until = api.client.get(url, params={"until": middle.isoformat()}, headers=api.auth())
    assert len(until.json()["items"]) == 1
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.client.get(url, params={"since": later}, headers=api.auth()).json()["items"] == []
    bad = api.client.get(url, params={"cursor": "!!"}, headers=api.auth())
    assert bad.status_code == 422


def test_erasing_a_client_removes_its_personal_data_from_the_audit(api: Api) -> None:
    store(api, "C-1")
    api.client.get("/v1/clients/C-1/classification", headers=api.auth())
    assert audit_rows(api, "C-1") == 1
    assert api.client.delete("/v1/clients/C-1", headers=api.auth()).status_code == 204
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT client_id, client_version, input_fingerprint, key_id "
                "FROM classification_audit"
            )
        ).one()
        result = conn.execute(text("SELECT result FROM classification_audit")).scalar()
    engine.dispose()
    assert (row[0], row[1], row[2]) == (None, None, None)
    kept = result if isinstance(result, dict) else json.loads(str(result))
    assert "reasons" not in kept
    assert "segment" not in kept
    assert kept["value"]["tier"] in {"high", "medium", "low"}


def test_no_models_or_no_calibration_is_503(db_url: str, models_dir: Path, tmp_path: Path) -> None:
    uncalibrated = copy_ruleset(tmp_path / "plain")
    with api_for(db_url, models_dir=models_dir, rules_dir=uncalibrated) as api:
        response = api.client.post("/v1/classify", json={"profile": inline()}, headers=api.auth())
        assert response.status_code == 503
        assert "calibrate" in response.json()["detail"]
        assert api.client.get("/readyz").status_code == 503
    with api_for(db_url, models_dir=tmp_path / "none", rules_dir=uncalibrated) as api:
        response = api.client.post("/v1/classify", json={"profile": inline()}, headers=api.auth())
        assert response.status_code == 503


def files_of(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8")
        for path in folder.rglob("*")
        if path.is_file()
        and "versions" not in path.parts
        and not path.name.startswith(".")
        and path.name != "active.json"
    }


def test_uploading_a_ruleset_activates_it_and_a_refused_one_changes_nothing(
    own_api: tuple[Api, Path],
) -> None:
    api, rules_dir = own_api
    assert api.client.get("/readyz").json()["ruleset"].startswith("rs-")
    before = api.client.get("/v1/rules", headers=api.auth()).json()["version"]
    files = files_of(rules_dir)
    files["ruleset.yaml"] = files["ruleset.yaml"].replace(
        "description: ", "description: Reviewed in November. "
    )
    accepted = api.client.put("/v1/rules", json={"files": files}, headers=api.auth("admin"))
    assert accepted.status_code == 200, accepted.text
    version = accepted.json()["version"]
    assert version != before
    assert (rules_dir / "versions" / version / "ruleset.yaml").is_file()
    classified = api.client.post("/v1/classify", json={"profile": inline()}, headers=api.auth())
    assert classified.json()["versions"]["ruleset"] == version

    broken = dict(files)
    broken["cases.yaml"] = broken["cases.yaml"].replace(
        "expect: {abc_grade: C}}", "expect: {abc_grade: A}}", 1
    )
    refused = api.client.put("/v1/rules", json={"files": broken}, headers=api.auth("admin"))
    assert refused.status_code == 422
    assert refused.json()["code"] == "ruleset_refused"
    assert any("cases.yaml" in e["field"] for e in refused.json()["errors"])
    assert api.client.get("/v1/rules", headers=api.auth()).json()["version"] == version
    escape = api.client.put(
        "/v1/rules", json={"files": files | {"../evil.json": "{}"}}, headers=api.auth("admin")
    )
    assert escape.status_code == 422
    assert not (rules_dir.parent / "evil.json").exists()


@FUZZ
@given(body=bodies | json_values.map(lambda v: ("json", {"profile": v})))
def test_no_malformed_classify_body_yields_a_5xx(api: Api, body: tuple[str, Any]) -> None:
    assert_clean(send(api, "POST", "/v1/classify", body, "application/json"))


@FUZZ
@given(items=st.lists(json_values, max_size=4))
def test_no_malformed_batch_yields_a_5xx(api: Api, items: list[Any]) -> None:
    response = api.client.post("/v1/classify:batch", json={"items": items}, headers=api.auth())
    assert_clean(response)
