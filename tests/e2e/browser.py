"""Debian's Chromium driven by Playwright, for the desk's browser tests and screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path(os.environ.get("CLIENTSCORE_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("CI", "").lower() == "true" or (
    os.environ.get("CLIENTSCORE_TEST_REQUIRE_POSTGRES") == "1"
)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium; in CI a missing browser fails the run instead of skipping."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


def failures(page: Page) -> list[str]:
    """What went wrong on the page as it runs: every answer of 400 or more (an asset
    missing), every error in the console (something the page's policy blocked)."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    return failed


def signed_in(page: Page, url: str, key: str) -> None:
    """Open `url`, sign in on the key form it sends to, and be back at `url`."""
    page.goto(url)
    expect(page.locator("#key")).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page).to_have_url(url)
