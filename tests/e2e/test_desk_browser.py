"""The desk in a real browser against a real `clientscore serve` on PostgreSQL (the desk's reads
are held equal on SQLite in tests/integration/test_desk_reads.py and test_desk_lookup.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.profiles.schemas import profile_example
from app.settings import Settings
from tests.conftest import ON_POSTGRES, empty_tables
from tests.e2e.browser import chromium
from tests.e2e.test_server import serving
from tests.integration.conftest import make_key

pytestmark = pytest.mark.e2e
PHONE = "13800138000"
EVIL = "<script>window.__pwned = 1</script>"
NOTE = "Prefers a call after six, at the office line"
POLICIES = [
    {"policy_number": "P-100", "product": "auto", "annual_premium": 4200.0,
     "start_date": "2019-05-01", "renewal_date": "2027-05-01", "status": "in_force"},
    {"policy_number": "P-200", "product": "health", "annual_premium": 9800.0,
     "start_date": "2021-01-10", "renewal_date": "2027-01-10", "status": "in_force"},
]  # fmt: skip
CLAIMS = [{"claim_number": "CL-7", "policy_number": "P-100", "reported_on": "2026-11-02",
           "amount": 3600.0, "status": "assessing"}]  # fmt: skip
COMPANY = {
    "kind": "corporate", "industry": "manufacturing", "employees": 120,
    "annual_revenue": 5e7, "ownership": "private", "province": "jiangsu", "city_tier": 2,
    "first_policy_date": "2019-01-01", "products_held": ["property", "liability"],
    "in_force_policies": 2, "annual_premium": 80000.0, "premium_paid_12m": 80000.0,
    "personal": {"name": "苏州精工有限公司", "phone": "051268001234"},
}  # fmt: skip
CALLERS: dict[str, dict[str, Any]] = {
    # Do-not-call, with its policies and an open claim.
    "D-5": profile_example() | {"contact_consent": {"call": "refused", "sms": "granted"},
                                "policies": POLICIES, "claims": CLAIMS,
                                "personal": {"name": "赵敏", "phone": "13600136000"}},
    "D-6": profile_example() | {"personal": {"name": "钱进", "phone": "13500135000"}},
    "D-7": profile_example() | {"personal": {"name": "孙丽", "phone": "13400134000"}},
    "D-8": profile_example() | {"personal": {"name": "欧阳娜娜", "phone": "+86 147 5774 4243"}},
    "D-9": COMPANY,
}  # fmt: skip


@dataclass
class Desk:
    base: str
    log: Path
    keys: dict[str, str]

    def api(self, method: str, path: str, scope: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[scope]}"}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module", params=[ON_POSTGRES])
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    url: str = request.getfixturevalue(f"{request.param}_url")
    empty_tables(url)  # the worker's database, as other modules left it
    env = {**os.environ, "CLIENTSCORE_DATABASE_URL": url}
    # The database is migrated by its fixture; keys are minted in-process (the command
    # would cost a Python start each).
    settings = Settings.model_validate({"database_url": url})
    keys = {s: make_key(settings, s) for s in ("desk", "classify", "profiles:write")}
    log = tmp_path_factory.mktemp("desk") / "server.log"
    with serving(env, log, workers=2) as base:
        desk = Desk(base, log, keys)
        for client_id, name, phone in [
            ("D-1", "王小明", PHONE),
            ("D-2", "李华", "13900139000"),
            ("D-3", "李华", "13900139000"),
            ("D-4", EVIL, "13700137000"),
        ]:
            body = profile_example() | {"personal": {"name": name, "phone": phone}}
            stored = desk.api("PUT", f"/v1/clients/{client_id}", "profiles:write", json=body)
            assert stored.status_code in {200, 201}, stored.text
        for client_id, body in CALLERS.items():
            stored = desk.api("PUT", f"/v1/clients/{client_id}", "profiles:write", json=body)
            assert stored.status_code in {200, 201}, stored.text
        yield desk


@pytest.fixture(scope="module")
def browser(desk: Desk) -> Iterator[Browser]:
    # After the server's set-up: Playwright's sync API keeps an event loop running, and the
    # keys are minted with asyncio.run.
    assert desk.base
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, desk: Desk, target: str, scope: str = "desk") -> None:
    page.goto(f"{desk.base}{target}")
    expect(page.locator("#key")).to_be_focused()
    page.keyboard.type(desk.keys[scope])
    page.keyboard.press("Enter")


def test_screen_pop_card_record_and_sign_out(page: Page, desk: Desk) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, desk, f"/desk?phone={PHONE}")
    expect(page).to_have_url(f"{desk.base}/desk/clients/D-1")
    expect(page.locator("#who-name")).to_contain_text("王小明")
    expect(page.locator("#q")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    # The badges and actions are the API's classification of the same client.
    api = desk.api("GET", "/v1/clients/D-1/classification", "classify").json()
    expected = [api["value"]["tier"], api["risk"]["tier"], api["lifecycle"]["stage"]]
    shown = [
        page.locator(f"#badge-{key}").get_attribute("data-level")
        for key in ("value", "risk", "lifecycle")
    ]
    assert shown == expected
    codes = page.locator("fieldset.action").evaluate_all("els => els.map(e => e.dataset.code)")
    # The card shows the actions offered: those the control group holds out are not.
    assert codes == [a["code"] for a in api["strategy"] if not a["held_out"]][:3]
    assert page.locator(".script").first.inner_text().strip()

    # Keyboard only: Tab from the search field reaches the first action's answers.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('fieldset.action') !== null"):
            break
    assert page.evaluate("document.activeElement.name") == f"result_{codes[0]}"
    page.keyboard.press("Space")
    page.locator("#note").fill(NOTE)
    page.locator("#save").click()
    expect(page.locator("#recorded")).to_be_visible()
    expect(page.locator("#outcomes")).to_contain_text(NOTE)

    listed = desk.api("GET", "/v1/clients/D-1/outcomes", "desk").json()["items"]
    assert [(o["action_code"], o["result"], o["note"]) for o in listed] == [
        (codes[0], "accepted", NOTE)
    ]

    page.locator("#lang-switch").click()
    expect(page.locator("#todo-title")).to_have_text("What to do now")
    page.locator("#lang-switch").click()
    expect(page.locator("#todo-title")).to_have_text("现在可以做的")

    page.locator("#sign-out").click()
    expect(page.locator("#key")).to_be_visible()
    page.goto(f"{desk.base}/desk")
    expect(page.locator("#key")).to_be_visible()

    hosts = {urlsplit(url).hostname for url in requests}
    assert hosts == {"127.0.0.1"}, hosts
    logged = desk.log.read_text()
    assert PHONE not in logged
    assert NOTE not in logged


def test_choices_no_client_and_a_script_name_shown_as_text(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk?phone=13900139000")
    expect(page.locator("#choices li")).to_have_count(2)
    page.locator("#q").fill("19912345678")
    page.keyboard.press("Enter")
    expect(page.locator("#no-client")).to_be_visible()
    page.locator("#q").fill("13700137000")
    page.keyboard.press("Enter")
    expect(page.locator("#who-name")).to_contain_text(EVIL)
    assert page.evaluate("window.__pwned") is None


def test_a_post_without_the_csrf_token_is_refused_and_records_nothing(
    page: Page, desk: Desk
) -> None:
    sign_in(page, desk, "/desk?q=D-2")
    expect(page.locator("#who-name")).to_contain_text("李华")
    code = page.locator("fieldset.action").first.get_attribute("data-code")
    refused = page.request.post(
        f"{desk.base}/desk/clients/D-2/outcomes", form={f"result_{code}": "declined"}
    )
    assert refused.status == 403
    forged = page.request.post(
        f"{desk.base}/desk/clients/D-2/outcomes",
        form={f"result_{code}": "declined", "csrf": "not-the-token"},
    )
    assert forged.status == 403
    assert desk.api("GET", "/v1/clients/D-2/outcomes", "desk").json()["items"] == []


def test_an_expired_session_signs_in_again_keeping_the_search(browser: Browser, desk: Desk) -> None:
    context = browser.new_context()
    host = urlsplit(desk.base).hostname or "127.0.0.1"
    context.add_cookies(
        [{"name": "clientscore_session", "value": "stale-session", "domain": host, "path": "/"}]
    )
    page = context.new_page()
    page.goto(f"{desk.base}/desk?phone={PHONE}")
    expect(page.locator(".notice")).to_be_visible()
    page.locator("#key").fill(desk.keys["desk"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{desk.base}/desk/clients/D-1")
    context.close()


def test_a_classify_key_cannot_sign_in(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk", scope="classify")
    expect(page.locator(".problem")).to_contain_text("desk")
    page.goto(f"{desk.base}/desk")
    expect(page.locator("#key")).to_be_visible()


def local(moment: datetime) -> str:
    """A time as the card's date-and-time field takes it: China Standard Time."""
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_consent_and_an_action_held_back_with_its_reason(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk?q=D-5")
    expect(page.locator("#consent")).to_contain_text("勿电话联系")
    held = page.locator("#held-back li").first
    expect(held).to_contain_text("客户拒绝通过电话联系")
    assert "muted" in (held.get_attribute("class") or "")


def test_policies_claims_renewal_and_last_contact(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk?q=D-5")
    expect(page.locator("#policies")).to_contain_text("P-100")
    expect(page.locator("#policies")).to_contain_text("P-200")
    expect(page.locator("#claims")).to_contain_text("CL-7")
    expect(page.locator("#next-renewal")).to_have_text("2027年1月10日")
    expect(page.locator("#last-contact")).to_contain_text("2026年10月12日")
    expect(page.locator("#insurance-facts")).to_contain_text("有效保单 3 张")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_a_callback_is_scheduled_listed_when_due_and_done(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk?q=D-6")
    action = page.locator("fieldset.action").first
    code = action.get_attribute("data-code")
    action.locator("input[value=call_back]").check()
    now = datetime.now(UTC)
    action.locator("input[type=datetime-local]").fill(local(now - timedelta(hours=2)))
    page.locator("#save").click()
    expect(page.locator("#problem")).to_contain_text("回电时间必须晚于现在")
    assert desk.api("GET", "/v1/clients/D-6/outcomes", "desk").json()["items"] == []

    action = page.locator(f"fieldset.action[data-code={code}]")
    action.locator("input[value=call_back]").check()
    action.locator("input[type=datetime-local]").fill(local(now + timedelta(minutes=2)))
    page.locator("#save").click()
    expect(page.locator("#recorded")).to_be_visible()
    page.locator("#my-callbacks").click()
    expect(page.locator("#callbacks tr[data-client='D-6']")).to_be_visible()

    # Still on the card; declining it later ends the callback.
    page.locator("#callbacks tr[data-client='D-6'] a").click()
    action = page.locator(f"fieldset.action[data-code={code}]")
    action.locator("input[value=declined]").check()
    page.locator("#save").click()
    expect(page.locator("#recorded")).to_be_visible()
    page.goto(f"{desk.base}/desk/callbacks")
    expect(page.locator("#callbacks tr[data-client='D-6']")).to_have_count(0)


def test_a_complaint_is_recorded_and_closed_from_the_card(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk?q=D-7")
    page.locator("#complaint-new summary").click()
    page.locator("#complaint-note-new").fill("Claim paid a month late")
    page.locator("#complaint-open").click()
    expect(page.locator("#complaint")).to_contain_text("Claim paid a month late")
    expect(page.locator("#held-back")).to_contain_text("有未结投诉")
    page.locator("#complaint-note-open").fill("Refund agreed")
    page.locator("#complaint-close").click()
    expect(page.locator("#complaint")).to_have_count(0)
    expect(page.locator("#recorded")).to_contain_text("投诉已结束")
    results = [
        o["result"] for o in desk.api("GET", "/v1/clients/D-7/outcomes", "desk").json()["items"]
    ]
    assert results == ["complaint_closed", "complaint"]


def test_each_action_shows_its_channel_and_why_it_ranks(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk?q=D-1")
    first = page.locator("fieldset.action").first
    expect(first.locator(".channel")).not_to_be_empty()
    # Rank 1 leads its group: the first of those on this call, or of those to schedule.
    expect(page.locator("fieldset.action .why-rank").filter(has_text="排第 1")).to_have_count(1)
    expect(first.locator(".why-rank")).to_contain_text("接受概率")
    api = desk.api("GET", "/v1/clients/D-1/classification", "classify").json()
    offered = [a for a in api["strategy"] if not a["held_out"]][:3]
    now = [a["code"] for a in offered if a["channel"] == "call"]
    shown_now = page.locator("fieldset.action[data-now=yes]").evaluate_all(
        "els => els.map(e => e.dataset.code)"
    )
    assert shown_now == now


def test_a_phone_number_in_four_forms_and_a_name_find_the_caller(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/desk")
    for number in ("+86 147 5774 4243", "147-5774-4243", "14757744243", "+8614757744243"):
        page.locator("#q").fill(number)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{desk.base}/desk/clients/D-8")
    page.locator("#q").fill("欧阳")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{desk.base}/desk/clients/D-8")
    page.locator("#q").fill("d-8")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{desk.base}/desk/clients/D-8")
    page.locator("#q").fill("欧")
    page.keyboard.press("Enter")
    expect(page.locator("#search-hint")).to_be_visible()


def test_what_the_new_user_saw_wrong_is_fixed(page: Page, desk: Desk) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    sign_in(page, desk, "/desk?q=D-1")
    expect(page.locator("#who-name")).to_be_visible()
    text = page.locator("#card").inner_text()
    assert "成为客户" not in text  # tenure one way: "客户 N 年", as the header says it
    assert "员工人数未知" not in text  # no company fact missing for a person
    # The four answers of an action sit on one line.
    tops = (
        page.locator("fieldset.action")
        .first.locator(".answers label")
        .evaluate_all("els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    )
    assert len(tops) == 4
    assert len(set(tops)) == 1, tops
    page.goto(f"{desk.base}/desk?q=D-9")
    card = page.locator("#card").inner_text()
    assert "manufacturing" not in card
    assert "制造业" in card
    page.locator("#q").fill("19912345678")
    page.keyboard.press("Enter")
    colour = page.locator("#no-client").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != "rgb(236, 253, 243)"  # not the green of a success
    icon = page.request.get(f"{desk.base}/favicon.ico")
    assert icon.status == 200
    assert failed == [], failed
