"""Single sign-on in Chromium: people sign in through a real OpenID provider (node-oidc-
provider) to a real `clientscore serve`, as a new user would, from the page they open."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.browser import chromium
from tests.e2e.test_server import free_port, serving
from tests.oidc.provider import TestProvider, running_provider

pytestmark = pytest.mark.e2e
REPORT = '<!doctype html><title>Portfolio</title><h1 id="portfolio">Portfolio report</h1>'


@dataclass
class Site:
    base: str
    provider: TestProvider


@pytest.fixture(scope="module")
def site(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("sso-browser")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    callback = f"{base}/desk/sign-in/callback"
    (folder / "book").mkdir()
    (folder / "book" / "report.html").write_text(REPORT)
    with running_provider(folder, [callback]) as provider:
        settings = provider.settings(callback)
        env = {
            **os.environ,
            "CLIENTSCORE_DATABASE_URL": sqlite_url,
            "CLIENTSCORE_BOOK_REPORT_DIR": str(folder / "book"),
            "CLIENTSCORE_OIDC_ROLE_MAP": json.dumps(settings.pop("oidc_role_map")),
        } | {f"CLIENTSCORE_{name.upper()}": str(value) for name, value in settings.items()}
        with serving(env, folder / "server.log", workers=2, port=port) as served:
            yield Site(served, provider)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    assert site.base
    with chromium() as launched:
        yield launched


def _local_only(route: Route) -> None:
    # The provider's pages import a web font; nothing leaves 127.0.0.1.
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-GB")
    context.route("**/*", _local_only)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in_at_provider(page: Page, site: Site, start: str, login: str) -> None:
    """Open `start` signed out, take the single sign-on button, sign in at the provider."""
    page.goto(f"{site.base}{start}")
    expect(page).to_have_url(f"{site.base}/desk/sign-in?next=%2F{start.strip('/')}")
    expect(page.locator("#key")).to_have_count(0)  # no API keys where there is a provider
    page.locator("#sso").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def test_an_agent_reaches_the_desk_not_the_book_and_signs_out(page: Page, site: Site) -> None:
    sign_in_at_provider(page, site, "/desk", "agent.wang")
    expect(page).to_have_url(f"{site.base}/desk")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator(".agent")).to_contain_text("Wang Fang")
    page.goto(f"{site.base}/book")
    expect(page.locator("#not-permitted")).to_be_visible()
    page.goto(f"{site.base}/desk")
    page.locator("#sign-out").click()
    # Signed out here; the provider asks whether to end its session too, then sends the
    # browser back.
    page.locator("button[name=logout]").click()
    expect(page).to_have_url(f"{site.base}/desk/sign-in")
    page.goto(f"{site.base}/desk")
    expect(page.locator("#sso")).to_be_visible()


def test_an_analyst_reaches_the_book_not_the_desk(page: Page, site: Site) -> None:
    sign_in_at_provider(page, site, "/book", "analyst.li")
    expect(page).to_have_url(f"{site.base}/book")
    expect(page.locator("#portfolio")).to_be_visible()
    page.goto(f"{site.base}/desk")
    expect(page.locator("#not-permitted")).to_be_visible()
    report = page.goto(f"{site.base}/desk/strategy")
    assert report is not None
    assert report.status == 200
    expect(page.locator("#not-permitted")).to_have_count(0)


def test_a_person_with_no_role_is_told_so(page: Page, site: Site) -> None:
    sign_in_at_provider(page, site, "/desk", "clerk.sun")
    expect(page.locator(".problem")).to_contain_text("Sun Mei")
    page.goto(f"{site.base}/desk")
    expect(page.locator("#sso")).to_be_visible()
