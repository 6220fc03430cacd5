"""The desk runs a whole call: the client's insurance, callbacks, complaints, why each offer
ranks where it does; and the outcomes API takes a complaint without an offer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from app.desk.card import held_back_why
from app.i18n.texts import TIMEZONE
from tests.integration.conftest import Api
from tests.integration.test_desk import csrf_of, outcomes, sign_in, store
from tests.integration.test_outcomes_api import api, calibrated_rules, champions, models_dir
from tests.integration.test_policies import CLAIMS, POLICIES

__all__ = ["api", "calibrated_rules", "champions", "models_dir"]


def store_insured(api: Api, client_id: str) -> None:
    store(api, client_id)
    body = api.client.get(f"/v1/clients/{client_id}", headers=api.auth()).json()
    profile = {k: v for k, v in body.items() if k not in {"client_id", "version"}}
    profile = {k: v for k, v in profile.items() if k not in {"created_at", "updated_at"}}
    profile |= {"policies": POLICIES, "claims": CLAIMS}
    stored = api.client.put(f"/v1/clients/{client_id}", json=profile, headers=api.auth())
    assert stored.status_code == 200, stored.text


def local(moment: datetime) -> str:
    """A time as a `datetime-local` field sends it, in China Standard Time."""
    return moment.astimezone(TIMEZONE).strftime("%Y-%m-%dT%H:%M")


def first_action(card: str) -> str:
    found = re.search(r'name="result_([a-z_]+)"', card)
    assert found, card
    return found.group(1)


def post_call(api: Api, client_id: str, card: str, **form: str) -> Any:
    return api.client.post(
        f"/desk/clients/{client_id}/outcomes", data={"csrf": csrf_of(card)} | form
    )


def test_the_card_shows_the_insurance_the_last_contact_and_why_each_offer_ranks(
    api: Api,
) -> None:
    store_insured(api, "C-1")
    sign_in(api)
    card = api.client.get("/desk/clients/C-1").text
    assert 'id="policies"' in card
    for policy in POLICIES:
        assert str(policy["policy_number"]) in card
    assert "CL-7" in card
    # The next renewal is the earliest one to come: P-200's, 10 January 2027.
    renewal = re.search(r'id="next-renewal">([^<]+)<', card)
    assert renewal
    assert "2027年1月10日" in renewal.group(1)
    assert "有效保单 3 张" in card
    assert "近3年理赔 1 次" in card
    last = re.search(r'id="last-contact">([^<]+)<', card)
    assert last
    assert "资料记录" in last.group(1)  # the profile's date, nothing recorded yet
    # Each action: its channel and one sentence of why, from the arbitration.
    classification = api.client.get(
        "/v1/clients/C-1/classification", headers=api.auth("classify")
    ).json()
    top = next(a for a in classification["strategy"] if not a["held_out"])
    assert f"排第 1\uff1a接受概率 {round(100 * top['acceptance'])}%" in card
    assert 'class="channel"' in card
    assert 'id="group-on_this_call"' in card or 'id="group-to_schedule"' in card
    # The history shows what happened: one classification is one line, not one per view.
    api.client.get("/desk/clients/C-1")
    again = api.client.get("/desk/clients/C-1").text
    changes = re.search(r'id="changes">(.*?)</ul>', again, re.S)
    assert changes
    assert changes.group(1).count("<li>") == 1


def test_a_call_back_needs_a_time_ahead_within_a_year_and_is_listed_until_done(
    api: Api,
) -> None:
    store(api, "C-1")
    sign_in(api)
    card = api.client.get("/desk/clients/C-1").text
    code = first_action(card)
    now = datetime.now(UTC)
    for when, problem in [
        ("", "需要填写回电的日期和时间"),
        (local(now - timedelta(hours=1)), "回电时间必须晚于现在"),
        (local(now + timedelta(days=400)), "回电时间必须晚于现在"),
    ]:
        refused = post_call(api, "C-1", card, **{f"result_{code}": "call_back",
                                                 f"callback_{code}": when})  # fmt: skip
        assert problem in refused.text
        assert outcomes(api) == 0
    # Due in a minute: on the agent's list (due today), then overdue first.
    soon = now + timedelta(minutes=2)
    done = post_call(
        api, "C-1", card, **{f"result_{code}": "call_back", f"callback_{code}": local(soon)}
    )
    assert done.status_code == 200
    listed = api.client.get("/v1/clients/C-1/outcomes", headers=api.auth("desk")).json()
    assert listed["items"][0]["callback_at"] is not None
    due = api.client.get("/desk/callbacks")
    assert 'data-client="C-1"' in due.text
    # The action stays on the card; a later answer to it ends the callback.
    card = api.client.get("/desk/clients/C-1").text
    assert f'name="result_{code}"' in card
    post_call(api, "C-1", card, **{f"result_{code}": "declined"})
    assert 'data-client="C-1"' not in api.client.get("/desk/callbacks").text


def test_a_complaint_is_recorded_noted_and_closed_from_the_card(api: Api) -> None:
    store(api, "C-1")
    sign_in(api)
    card = api.client.get("/desk/clients/C-1").text
    assert 'id="complaint"' not in card
    empty = api.client.post(
        "/desk/clients/C-1/complaint", data={"csrf": csrf_of(card), "state": "complaint"}
    )
    assert "请填写投诉说明" in empty.text
    assert outcomes(api) == 0
    opened = api.client.post(
        "/desk/clients/C-1/complaint",
        data={"csrf": csrf_of(card), "state": "complaint", "complaint_note": "Paid late"},
    )
    assert 'id="complaint"' in opened.text
    assert "Paid late" in opened.text
    assert 'id="held-back"' in opened.text  # the actions are held back while it is open
    assert "有未结投诉" in opened.text
    closed = api.client.post(
        "/desk/clients/C-1/complaint",
        data={"csrf": csrf_of(card), "state": "complaint_closed", "complaint_note": "Refunded"},
    )
    assert 'id="complaint"' not in closed.text
    assert "投诉已结束" in closed.text
    assert outcomes(api) == 2


def test_the_api_takes_a_complaint_without_an_offer(api: Api) -> None:
    store(api, "C-1")  # never classified
    auth = api.auth("desk")
    opened = api.client.post(
        "/v1/clients/C-1/outcomes", json={"result": "complaint", "note": "late"}, headers=auth
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["action_code"] is None
    assert opened.json()["offer_request_id"] is None
    closed = api.client.post(
        "/v1/clients/C-1/outcomes", json={"result": "complaint_closed"}, headers=auth
    )
    assert closed.status_code == 201, closed.text
    # An answer to an offer still needs its action, and a classification (409).
    missing = api.client.post("/v1/clients/C-1/outcomes", json={"result": "accepted"}, headers=auth)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "action_code"
    never = api.client.post(
        "/v1/clients/C-1/outcomes",
        json={"action_code": "retention_offer", "result": "accepted"},
        headers=auth,
    )
    assert never.status_code == 409
    unknown = api.client.post(
        "/v1/clients/C-404/outcomes", json={"result": "complaint"}, headers=auth
    )
    assert unknown.status_code == 422


def test_the_api_refuses_a_callback_time_in_the_past_or_past_a_year(api: Api) -> None:
    store(api, "C-1")
    api.client.get("/v1/clients/C-1/classification", headers=api.auth("classify"))
    card_action = api.client.get(
        "/v1/clients/C-1/classification", headers=api.auth("classify")
    ).json()["strategy"][0]["code"]
    now = datetime.now(UTC)
    for when, rule in [
        (now - timedelta(minutes=10), "time_in_past"),
        (now + timedelta(days=366), "too_far_ahead"),
    ]:
        body = {"action_code": card_action, "result": "call_back", "callback_at": when.isoformat()}
        refused = api.client.post("/v1/clients/C-1/outcomes", json=body, headers=api.auth("desk"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0] | {"detail": ""} == {
            "field": "callback_at", "rule": rule, "detail": "", **_loc(refused.json())
        }  # fmt: skip
    assert outcomes(api) == 0


def _loc(problem: dict[str, Any]) -> dict[str, Any]:
    first = problem["errors"][0]
    return {k: v for k, v in first.items() if k not in {"field", "rule", "detail"}}


def test_the_favicon_is_served(api: Api) -> None:
    for path in ("/favicon.ico", "/desk/static/favicon.svg"):
        icon = api.client.get(path)
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")


def test_the_reasons_an_action_is_held_back_are_in_the_desks_language() -> None:
    assert held_back_why("zh", "the client refused contact by visit") == "客户拒绝通过上门联系"
    assert held_back_why("en", "a complaint is open") == "a complaint is open"
    assert held_back_why("zh", "declined on 2026-12-04: no offer for 30 days") == (
        "客户于2026年12月4日拒绝\uff0c30天内不再推荐"
    )
    assert held_back_why("zh", "offered 2 time(s) by call this period (at most 2)") == (
        "本期已通过电话推荐2次\uff08上限2次\uff09"
    )
    assert held_back_why("zh", "a reason not known yet") == "a reason not known yet"
