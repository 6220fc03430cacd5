"""Call outcomes through the API, on a real database with real models and a ruleset."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.outcomes.schemas import OutcomePage, OutcomeRead
from app.profiles.schemas import profile_example
from tests.conftest import sync_engine
from tests.integration.conftest import Api, api_for, stored_and_classified
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
NOTE = "Lives at 12 Garden Road, call after six"


@pytest.fixture
def api(db_url: str, models_dir: Path, calibrated_rules: Path, tmp_path: Path) -> Iterator[Api]:
    rules = tmp_path / "rules"
    shutil.copytree(calibrated_rules, rules)
    with api_for(db_url, models_dir=models_dir, rules_dir=rules) as built:
        yield built


def offered(api: Api, client_id: str = "C-1") -> dict[str, Any]:
    """Stores the client and classifies it: the offer an outcome answers."""
    body = stored_and_classified(api, client_id)
    assert body["strategy"], "the example client is offered at least one action"
    return body


def first_offered(offer: dict[str, Any]) -> str:
    """The first action of the strategy actually offered (not held out for the control)."""
    return str(next(a["code"] for a in offer["strategy"] if not a["held_out"]))


def post(api: Api, body: dict[str, Any], scope: str = "desk", client_id: str = "C-1") -> Any:
    return api.client.post(f"/v1/clients/{client_id}/outcomes", json=body, headers=api.auth(scope))


def test_an_outcome_is_stored_with_the_offer_that_made_it_and_listed(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    offer = offered(api)
    code = first_offered(offer)
    with caplog.at_level(logging.INFO):
        response = post(api, {"action_code": code, "result": "accepted", "note": NOTE})
    assert response.status_code == 201, response.text
    read = OutcomeRead.model_validate(response.json())
    assert read.note == NOTE
    assert read.offer_request_id == offer["request_id"]
    assert read.versions.model_dump() == offer["versions"]
    assert read.key_id == api.token("desk").split("_")[1]
    assert NOTE not in caplog.text
    second = post(api, {"action_code": code, "result": "call_back"}, scope="profiles:write")
    assert second.status_code == 201, second.text
    listed = api.client.get("/v1/clients/C-1/outcomes", headers=api.auth("desk"))
    assert listed.status_code == 200
    page = OutcomePage.model_validate(listed.json())
    assert [item.result for item in page.items] == ["call_back", "accepted"]
    assert page.next_cursor is None


def test_outcomes_page_with_a_cursor(api: Api) -> None:
    code = first_offered(offered(api))
    for result in ("call_back", "declined", "call_back", "not_offered", "call_back"):
        assert post(api, {"action_code": code, "result": result}).status_code == 201
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.client.get(
            "/v1/clients/C-1/outcomes", params=params, headers=api.auth("profiles:read")
        ).json()
        seen += [item["outcome_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 5
    bad = api.client.get("/v1/clients/C-1/outcomes?cursor=!!", headers=api.auth("desk"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


def test_bad_outcomes_are_refused_and_store_nothing(api: Api) -> None:
    offer = offered(api)
    code = first_offered(offer)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"action_code": "free_lunch", "result": "accepted"}, 422, "action_code"),
        ({"action_code": code, "result": "maybe"}, 422, "result"),
        ({"action_code": code, "result": "accepted", "note": "x" * 2001}, 422, "note"),
        ({"action_code": code, "result": "accepted", "extra": 1}, 422, "extra"),
        (
            {"action_code": code, "result": "accepted", "offer_request_id": "nope"},
            422,
            "offer_request_id",
        ),
    ]
    for body, status, field in cases:
        response = post(api, body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field
    unknown = post(api, {"action_code": code, "result": "accepted"}, client_id="C-404")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "client_id"
    assert (
        post(api, {"action_code": code, "result": "accepted"}, scope="classify").status_code == 403
    )
    assert (
        api.client.get("/v1/clients/C-1/outcomes", headers=api.auth("classify")).status_code == 403
    )
    assert api.client.get("/v1/clients/C-404/outcomes", headers=api.auth("desk")).status_code == 404
    assert (
        api.client.get("/v1/clients/C-1/outcomes", headers=api.auth("desk")).json()["items"] == []
    )


def test_a_client_never_classified_has_nothing_to_answer(api: Api) -> None:
    api.client.put("/v1/clients/C-2", json=profile_example(), headers=api.auth())
    response = post(api, {"action_code": "care_activities", "result": "declined"}, client_id="C-2")
    assert response.status_code == 409
    assert "classify it first" in response.json()["detail"]


def test_erasing_the_client_erases_its_outcomes(api: Api) -> None:
    code = first_offered(offered(api))
    assert post(api, {"action_code": code, "result": "accepted", "note": NOTE}).status_code == 201
    assert api.client.delete("/v1/clients/C-1", headers=api.auth()).status_code == 204
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM call_outcome")).scalar()
        answers = conn.execute(text("SELECT count(*) FROM offer_answer")).scalar()
    engine.dispose()
    assert (left, answers) == (0, 0)
