"""The desk in a real browser against a real `clientscore serve`, on SQLite and Postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.profiles.schemas import profile_example
from app.settings import Settings
from tests.conftest import empty_tables
from tests.e2e.browser import chromium
from tests.e2e.test_server import serving
from tests.integration.conftest import make_key

pytestmark = pytest.mark.e2e
PHONE = "13800138000"
EVIL = "<script>window.__pwned = 1</script>"
NOTE = "Prefers a call after six, at the office line"


@dataclass
class Desk:
    base: str
    log: Path
    keys: dict[str, str]

    def api(self, method: str, path: str, scope: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[scope]}"}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
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
