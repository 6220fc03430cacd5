"""The what-if page in Chromium against a real `clientscore serve`: an analyst signs in,
changes a threshold, sees "simulating..." and then the clients that move."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import empty_tables
from tests.e2e.browser import chromium, failures, signed_in
from tests.e2e.test_server import serving
from tests.integration.conftest import make_key
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
pytestmark = pytest.mark.e2e


def test_an_analyst_runs_a_what_if_and_sees_who_moves(
    sqlite_url: str, models_dir: Path, calibrated_rules: Path, tmp_path: Path
) -> None:
    empty_tables(sqlite_url)
    shutil.copytree(calibrated_rules, tmp_path / "rules")
    key = make_key(Settings.model_validate({"database_url": sqlite_url}), "desk", "analyst")
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": sqlite_url,
        "CLIENTSCORE_MODELS_DIR": str(models_dir),
        "CLIENTSCORE_RULES_DIR": str(tmp_path / "rules"),
    }
    with serving(env, tmp_path / "server.log", workers=1) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        failed = failures(page)
        signed_in(page, f"{base}/book/whatif", key)
        page.locator("#lang-switch").click()
        expect(page.locator("h1")).to_have_text("What-if")
        expect(page.locator("#simulating")).to_be_hidden()
        page.locator("#p-clv-expense_ratio").fill("0.4")
        page.locator("#sample").fill("2000")
        page.locator("#simulate").click()
        expect(page.locator("#simulating")).to_be_visible()  # the child takes seconds
        expect(page.locator("#moved")).to_contain_text("of 2,000 clients move", timeout=60_000)
        moved = int(page.locator("#moved").inner_text().split(" of ")[0].replace(",", ""))
        assert moved > 0
        assert page.locator("table.moves tr.move").count() > 0
        assert page.locator("#actions tr.action").count() > 0
        expect(page.locator("#simulating")).to_be_hidden()
        expect(page.locator("#discard")).to_be_visible()
        assert page.locator("#p-clv-expense_ratio").input_value() == "0.4"
        assert failed == []  # no asset missing, nothing the page's policy blocked
        context.close()
