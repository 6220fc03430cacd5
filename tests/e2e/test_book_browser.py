"""The portfolio report in Chromium against a real `clientscore serve`: an analyst signs in
at /book, every chart loads, the page switches language, a table downloads as CSV, and the
report compares two runs of one book."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from playwright.sync_api import Page, expect

from app.book.report import write_report
from app.settings import Settings
from tests.book_runs import two_runs
from tests.conftest import empty_tables
from tests.e2e.browser import chromium, failures, signed_in
from tests.e2e.test_server import serving
from tests.integration.conftest import make_key
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
pytestmark = pytest.mark.e2e
EVERY_IMAGE_LOADED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
CLIENTS = 2000


def test_an_analyst_reads_the_report_downloads_a_table_and_sees_who_moved(
    sqlite_url: str, models_dir: Path, calibrated_rules: Path, tmp_path: Path
) -> None:
    empty_tables(sqlite_url)
    before, after = two_runs(tmp_path, models_dir, calibrated_rules, CLIENTS)
    report = tmp_path / "report"
    write_report(after, report, previous=before)
    key = make_key(Settings.model_validate({"database_url": sqlite_url}), "desk", "analyst")
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": sqlite_url,
        "CLIENTSCORE_MODELS_DIR": str(models_dir),
        "CLIENTSCORE_RULES_DIR": str(calibrated_rules),
        "CLIENTSCORE_BOOK_REPORT_DIR": str(report),
    }
    with serving(env, tmp_path / "server.log", workers=1) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
        page = context.new_page()
        failed = failures(page)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        signed_in(page, f"{base}/book", key)
        expect(page.locator("h1")).to_have_text("客户组合报告")
        page.wait_for_load_state("load")
        images = page.locator("img")
        assert images.count() == 5
        every_chart_loads(page)
        assert all(url.startswith(base) for url in asked)  # nothing from elsewhere

        page.locator("#lang-switch").click()
        expect(page.locator("h1")).to_have_text("Portfolio report")
        expect(page.locator("#summary")).to_contain_text(f"{CLIENTS:,} clients")
        every_chart_loads(page)  # the English charts

        with page.expect_download() as started:
            page.locator("#download-actions a", has_text="CSV").click()
        download = started.value
        assert download.suggested_filename == "actions.csv"
        rows = pacsv.read_csv(download.path()).to_pylist()
        assert rows == pacsv.read_csv(report / "actions.csv").to_pylist()
        assert list(rows[0]) == ["action", "clients", "premium", "clv"]
        assert sum(row["clients"] for row in rows) > CLIENTS  # up to three actions a client

        matrix = page.locator("#matrix-value_tier")
        expect(matrix).to_be_visible()
        high = matrix.locator("tr", has=page.locator("td", has_text="High")).first
        cells = [int(c.replace(",", "")) for c in high.locator("td").all_inner_texts()[1:]]
        assert cells[1] + cells[2] > 0  # clients moved down from high with the dearer expenses
        moved = page.locator("#table-migration_value_tier tr")
        assert moved.count() > 1
        expect(page.locator("#table-actions_moved")).to_be_visible()
        assert failed == []  # no chart missing, nothing the page's policy blocked
        context.close()


def every_chart_loads(page: Page, seconds: float = 15) -> None:
    """Wait until every image has loaded; a broken one never gets a width, and this fails.

    Polled from the test, not with `wait_for_function`: Playwright's in-page polling
    evaluates its predicate with `eval`, which the page's Content-Security-Policy refuses.
    """
    deadline = time.monotonic() + seconds
    while not page.evaluate(EVERY_IMAGE_LOADED):
        assert time.monotonic() < deadline, "a chart did not load"
        page.wait_for_timeout(100)
