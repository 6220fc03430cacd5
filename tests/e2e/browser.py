"""Debian's Chromium driven by Playwright, for the desk's browser tests and screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

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
