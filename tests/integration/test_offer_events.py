"""Offers are events: presented on a call or by a channel system, never inferred from a
classification. The contact policy counts them, consent keeps channels closed, and bad offers
are refused without storing anything; on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.profiles.schemas import profile_example
from app.strategy.schemas import ActionsRead
from tests.integration.conftest import Api, api_for
from tests.integration.test_desk import csrf_of, sign_in
from tests.integration.test_strategy_api import count
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]


@pytest.fixture
def api(db_url: str, models_dir: Path, calibrated_rules: Path, tmp_path: Path) -> Iterator[Api]:
    rules = tmp_path / "rules"
    shutil.copytree(calibrated_rules, rules)
    with api_for(
        db_url, models_dir=models_dir, rules_dir=rules, strategy_refresh_seconds=0.1
    ) as built:
        yield built


def store(api: Api, client_id: str, **changes: Any) -> None:
    body = profile_example() | changes
    response = api.client.put(f"/v1/clients/{client_id}", json=body, headers=api.auth())
    assert response.status_code in {200, 201}, response.text


def classified(api: Api, client_id: str) -> dict[str, Any]:
    response = api.client.get(
        f"/v1/clients/{client_id}/classification", headers=api.auth("classify")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def offer(api: Api, client_id: str, **body: Any) -> Any:
    return api.client.post(
        f"/v1/clients/{client_id}/offers", json=body, headers=api.auth("profiles:write")
    )


def offered(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in result["strategy"] if not a["held_out"]]


def learned(api: Api) -> dict[tuple[str, str], tuple[int, int]]:
    read = api.client.get("/v1/strategy/actions", headers=api.auth("profiles:read"))
    rates = ActionsRead.model_validate(read.json())
    return {
        (a.code, s.segment): (s.answered, s.accepted) for a in rates.actions for s in a.segments
    }


def report(api: Api) -> dict[tuple[str, str], tuple[int, int]]:
    read = api.client.get("/v1/strategy/report", headers=api.auth("profiles:read")).json()
    return {(r["action_code"], r["segment"]): (r["offers"], r["held_out"]) for r in read["rows"]}


def state(api: Api, client_id: str) -> tuple[Any, ...]:
    """What offers and answers decide: stored rows, learned acceptance, the report, and the
    contact policy's view of the client (what it suppresses and why)."""
    result = classified(api, client_id)
    return (
        count(api, "offer_event"),
        count(api, "offer_answer"),
        learned(api),
        report(api),
        result["arbitration"]["suppressed"],
        [a["code"] for a in result["strategy"]],
    )


def test_classifying_a_client_100_times_records_no_offer_and_one_desk_call_does(
    api: Api,
) -> None:
    store(api, "C-1")
    before = state(api, "C-1")
    assert before[:4] == (0, 0, {}, {})
    for i in range(100):
        if i % 2:
            response = api.client.post(
                "/v1/classify:batch",
                json={"items": [{"client_id": "C-1"}, {"client_id": "C-1"}]},
                headers=api.auth("classify"),
            )
        else:
            response = api.client.post(
                "/v1/classify", json={"client_id": "C-1"}, headers=api.auth("classify")
            )
        assert response.status_code == 200, response.text
    assert state(api, "C-1") == before

    assert sign_in(api).status_code == 303
    card = api.client.get("/desk/clients/C-1")
    assert card.status_code == 200
    assert state(api, "C-1")[:4] == before[:4]  # viewing a card records nothing
    request_id = re.search(r'name="offer_request_id" value="([^"]+)"', card.text)
    codes = list(dict.fromkeys(re.findall(r'name="result_([a-z_]+)"', card.text)))
    assert request_id
    assert len(codes) >= 2
    first, second = codes[0], codes[1]
    form = {
        f"result_{first}": "declined",
        f"result_{second}": "not_offered",
        "offer_request_id": request_id.group(1),
        "csrf": csrf_of(card.text),
    }
    posted = api.client.post("/desk/clients/C-1/outcomes", data=form)
    assert posted.status_code == 200
    assert "recorded=2" in str(posted.url), posted.url
    after = state(api, "C-1")
    assert after[0] > before[0]  # the declined offer (and its hold-outs, if any)
    assert after[1] == 1  # one answer: "not offered" is none
    ((key, counts),) = after[2].items()
    assert key[0] == first
    assert counts == (1, 0)
    assert report(api)[(first, "all")][0] == 1
    assert (second, "all") not in report(api)
    (quiet,) = [s for s in after[4] if s["code"] == first]
    assert "declined on" in quiet["why"]
    listed = api.client.get("/v1/clients/C-1/offers", headers=api.auth("desk")).json()
    assert [o["action_code"] for o in listed["items"]] == [first]


def test_a_channel_offer_is_one_row_and_counts_for_the_contact_policy(api: Api) -> None:
    store(api, "C-1")
    result = classified(api, "C-1")
    action = offered(result)[0]
    body = {"action_code": action["code"], "channel": action["channel"]}
    first = offer(api, "C-1", **body)
    assert first.status_code == 201, first.text
    assert first.json()["offer_request_id"] == result["request_id"]
    assert first.headers["Location"] == "/v1/clients/C-1/offers"
    again = offer(api, "C-1", **body, offer_request_id=result["request_id"])
    assert again.status_code == 200
    assert again.json()["offer_id"] == first.json()["offer_id"]
    listed = api.client.get("/v1/clients/C-1/offers", headers=api.auth("desk")).json()
    assert len(listed["items"]) == 1
    now = classified(api, "C-1")
    assert action["code"] not in [a["code"] for a in now["strategy"]]
    (quiet,) = [s for s in now["arbitration"]["suppressed"] if s["code"] == action["code"]]
    assert quiet["why"] == f"offered 1 time(s) by {action['channel']} this period (at most 1)"


def test_a_callback_keeps_the_action_on_the_card_until_it_is_done(api: Api) -> None:
    store(api, "C-1")
    code = offered(classified(api, "C-1"))[0]["code"]

    def answer(result: str) -> None:
        response = api.client.post(
            "/v1/clients/C-1/outcomes",
            json={"action_code": code, "result": result},
            headers=api.auth("desk"),
        )
        assert response.status_code == 201, response.text

    answer("call_back")
    pending = classified(api, "C-1")
    assert code in [a["code"] for a in pending["strategy"]]  # presented once, still due
    answer("accepted")  # the callback, done
    done = classified(api, "C-1")
    assert code not in [a["code"] for a in done["strategy"]]
    assert any(s["code"] == code for s in done["arbitration"]["suppressed"])


def test_bad_offers_are_refused_naming_the_field_and_store_nothing(api: Api) -> None:
    store(api, "C-1")
    store(api, "C-2")
    store(api, "C-never")
    result = classified(api, "C-1")
    other = classified(api, "C-2")
    code = offered(result)[0]["code"]
    channel = offered(result)[0]["channel"]
    missing = "no_such_action"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    early = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cases = [
        ("C-1", {"action_code": missing, "channel": channel}, "action_code", "not_in_offer"),
        ("C-never", {"action_code": code, "channel": channel}, "offer_request_id",
         "never_classified"),
        ("C-1", {"action_code": code, "channel": channel,
                 "offer_request_id": other["request_id"]}, "offer_request_id", "unknown_offer"),
        ("C-1", {"action_code": code, "channel": "pigeon"}, "channel", "enum"),
        ("C-1", {"action_code": code, "channel": channel, "offered_at": future},
         "offered_at", "time_in_future"),
        ("C-1", {"action_code": code, "channel": channel, "offered_at": early},
         "offered_at", "before_classification"),
        ("C-1", {"action_code": code, "channel": channel, "offered_at": "2026-12-07T10:00:00"},
         "offered_at", "timezone_aware"),
        ("C-1", {"action_code": code, "channel": channel, "shown": True}, "shown",
         "extra_forbidden"),
        ("C-404", {"action_code": code, "channel": channel}, "client_id", "unknown_client"),
    ]  # fmt: skip
    for client_id, body, field, rule in cases:
        response = offer(api, client_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()["errors"][0]
        assert (problem["field"], problem["rule"]) == (field, rule), (body, problem)
    assert count(api, "offer_event") == 0


def test_consent_closes_channels_is_stored_imported_and_shown(api: Api) -> None:
    store(api, "C-1", contact_consent={"call": "refused", "sms": "granted"})
    read = api.client.get("/v1/clients/C-1", headers=api.auth()).json()
    assert read["contact_consent"] == {"call": "refused", "sms": "granted"}
    result = classified(api, "C-1")
    assert all(a["channel"] != "call" for a in result["strategy"])
    assert all(a["channel"] != "call" for a in result["arbitration"]["others"])
    closed = [s for s in result["arbitration"]["suppressed"] if s["channel"] == "call"]
    assert closed
    assert {s["why"] for s in closed} == {"the client refused contact by call"}
    inline = api.client.post(
        "/v1/classify",
        json={"profile": {k: v for k, v in profile_example().items() if k != "personal"}
              | {"contact_consent": {"call": "refused"}}},
        headers=api.auth("classify"),
    )  # fmt: skip
    assert inline.status_code == 200, inline.text
    assert all(a["channel"] != "call" for a in inline.json()["strategy"])
    bad = api.client.put(
        "/v1/clients/C-1",
        json=profile_example() | {"contact_consent": {"call": "maybe"}},
        headers=api.auth(),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "contact_consent.call"
    again = api.client.get("/v1/clients/C-1", headers=api.auth()).json()
    assert again["contact_consent"] == {"call": "refused", "sms": "granted"}
    csv = (
        "client_id,kind,contact_consent\n"
        "C-9,individual,call:refused|mail:granted\n"
        "C-10,individual,call=refused\n"
        "C-11,individual,fax:refused\n"
    )
    imported = api.client.post(
        "/v1/clients:import",
        content=csv.encode(),
        headers=api.auth() | {"Content-Type": "text/csv"},
    ).json()
    assert (imported["created"], imported["rejected"]) == (1, 2)
    assert [(e["line"], e["rule"]) for e in imported["errors"]] == [
        (3, "consent_format"),
        (4, "enum"),
    ]
    nine = api.client.get("/v1/clients/C-9", headers=api.auth()).json()
    assert nine["contact_consent"] == {"call": "refused", "mail": "granted"}
    assert sign_in(api).status_code == 303
    card = api.client.get("/desk/clients/C-1?lang=en")
    assert card.status_code == 200
    assert re.search(r'id="consent">[^<]*(do not call|勿电话联系)', card.text), card.text
    assert 'id="held-back"' in card.text
