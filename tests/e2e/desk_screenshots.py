"""`make screenshots`: docs/desk.png, docs/desk-en.png and docs/book.png, taken from a live
`clientscore demo`.

Starts the demo on a free port with a fresh SQLite book, signs in with the demo desk key it
prints, opens the printed caller's card at 1280x720, records a call, and saves the page in
Chinese and in English. Then classifies the demo's book (`book classify`), writes its report
into the folder the demo serves at /book (`book report`), signs in there with the demo's
key and saves the report's first screen.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from tests.e2e.browser import CHROMIUM
from tests.e2e.test_server import CLI, ROOT, free_port

VIEWPORT = {"width": 1280, "height": 720}
READ_ONLY = ("client_id", "version", "created_at", "updated_at")


def _demo_output(process: subprocess.Popen[str]) -> tuple[str, str, str]:
    """The desk key, the all-scopes demo key and the phone number the demo prints."""
    assert process.stdout is not None
    key = api_key = phone = None
    previous = ""
    for line in process.stdout:
        sys.stdout.write(line)
        if re.fullmatch(r"\s+cs_\w+_\S+\s*", line):
            if key is None and "call-center desk" in previous:
                key = line.strip()
            if api_key is None and "demo API key" in previous:
                api_key = line.strip()
        if found := re.search(r"/desk\?phone=(\S+)", line):
            phone = found.group(1)
        if key and api_key and phone:
            return key, api_key, phone
        previous = line
    raise SystemExit("the demo stopped before printing its keys and a phone number")


def _with_policies(base: str, api_key: str, client_id: str) -> None:
    """The demo book holds counts, not policies: give the caller a policy per product held
    (and an open claim when it claimed), so the card shows them."""
    headers = {"Authorization": f"Bearer {api_key}"}
    profile = httpx.get(f"{base}/v1/clients/{client_id}", headers=headers, timeout=30).json()
    body = {k: v for k, v in profile.items() if k not in READ_ONLY}
    today = date.today()
    start = date.fromisoformat(profile.get("first_policy_date") or "2020-03-01")
    start = start.replace(day=min(start.day, 28))  # every year has its anniversary
    products = profile["products_held"] or ["health"]
    premium = round(profile["annual_premium"] / len(products), 2)
    body["policies"] = []
    for n, product in enumerate(products):
        begun = start.replace(year=start.year + n) if start.year + n < today.year else start
        renewal = begun.replace(year=today.year)
        if renewal < today:
            renewal = renewal.replace(year=today.year + 1)
        body["policies"].append(
            {"policy_number": f"P{begun.year}-{8100 + n}", "product": product,
             "annual_premium": premium, "start_date": begun.isoformat(),
             "renewal_date": renewal.isoformat(), "status": "in_force"}
        )  # fmt: skip
    if profile["claim_count_3y"]:
        reported = today.replace(day=1).isoformat()
        body["claims"] = [
            {"claim_number": f"CL{today.year}-0417", "policy_number": body["policies"][0]
             ["policy_number"], "reported_on": reported, "amount": 3600.0, "status": "assessing"}
        ]  # fmt: skip
    stored = httpx.put(f"{base}/v1/clients/{client_id}", json=body, headers=headers, timeout=30)
    stored.raise_for_status()


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the demo at {base} did not become ready")


def _book_report(env: dict[str, str], folder: str) -> None:
    """The demo book classified and reported into the folder the demo serves at /book."""
    results = f"{folder}/results"
    for command in (
        ["book", "classify", "--out", results, "--no-progress"],
        ["book", "report", results, "--out", f"{folder}/report"],
    ):
        subprocess.run([*CLI, *command], env=env, cwd=ROOT, check=True)


def _book_page(browser: Any, base: str, api_key: str, target: Path) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{base}/book")
    page.fill("#key", api_key)
    page.press("#key", "Enter")
    page.wait_for_selector("#summary")
    page.wait_for_load_state("load")
    page.screenshot(path=target / "book.png")


def shoot(target: Path) -> None:
    if not CHROMIUM.exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="clientscore-screenshots-") as folder:
        env = {
            **os.environ,
            "CLIENTSCORE_DATABASE_URL": f"sqlite:///{folder}/demo.db",
            "CLIENTSCORE_BOOK_REPORT_DIR": f"{folder}/report",
        }
        process = subprocess.Popen(
            [*CLI, "demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            key, api_key, phone = _demo_output(process)
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
                page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
                page.goto(f"{base}/desk?phone={phone}")
                page.fill("#key", key)
                page.press("#key", "Enter")
                page.wait_for_selector("#badge-value")
                client_id = page.url.rsplit("/", 1)[-1]
                _with_policies(base, api_key, client_id)
                page.reload()
                page.wait_for_selector("#badge-value")
                page.locator("fieldset.action input[value=accepted]").first.check()
                page.fill("#note", "客户希望下午六点后回电")
                page.click("#save")
                page.wait_for_selector("#recorded")
                page.screenshot(path=target / "desk.png")
                page.click("#lang-switch")
                page.wait_for_selector("#badge-value")
                page.screenshot(path=target / "desk-en.png")
                _book_report(env, folder)
                _book_page(browser, base, api_key, target)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    wrote = ", ".join(str(target / name) for name in ("desk.png", "desk-en.png", "book.png"))
    sys.stdout.write(f"wrote {wrote}\n")


if __name__ == "__main__":
    shoot(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
