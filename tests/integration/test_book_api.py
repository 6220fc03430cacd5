"""`POST /v1/rules:simulate` and the `/book` page, on a real database with real models."""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app.book.files import REPORT_FILE
from app.rules.clv_grid import CALIBRATION_FILE
from app.rules.ruleset import read_ruleset_files
from tests.integration.conftest import Api, api_for
from tests.service_models import calibrated_rules, champions, models_dir, rules_dir

__all__ = ["calibrated_rules", "champions", "models_dir", "rules_dir"]


@pytest.fixture
def api(db_url: str, models_dir: Path, rules_dir: Path, tmp_path: Path) -> Iterator[Api]:
    with api_for(
        db_url, models_dir=models_dir, rules_dir=rules_dir, book_report_dir=tmp_path / "report"
    ) as built:
        yield built


def _files(folder: Path, **changes: str) -> dict[str, str]:
    files = {path: data.decode() for path, data in read_ruleset_files(folder).items()}
    return files | changes


def test_the_active_ruleset_against_itself_moves_nobody(api: Api, rules_dir: Path) -> None:
    body = {"files": _files(rules_dir), "sample": 500}
    response = api.client.post("/v1/rules:simulate", json=body, headers=api.auth())
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["clients"], result["moved"], result["examples"]) == (500, 0, [])
    assert result["active"] == result["candidate"]
    for action in result["actions"]:
        assert action["before"] == action["after"]


def test_a_candidate_moves_clients_and_shows_the_rows_that_fired(api: Api, rules_dir: Path) -> None:
    ruleset = (rules_dir / "ruleset.yaml").read_text()
    cheaper = ruleset.replace("expense_ratio: 0.25", "expense_ratio: 0.40")
    assert cheaper != ruleset
    body = {"files": _files(rules_dir, **{"ruleset.yaml": cheaper}), "sample": 2000}
    response = api.client.post("/v1/rules:simulate", json=body, headers=api.auth())
    assert response.status_code == 200, response.text
    result = response.json()
    value = result["dimensions"]["value_tier"]
    assert result["moved"] > 0
    assert value["moved"] == sum(c["clients"] for c in value["transitions"] if c["from"] != c["to"])
    assert sum(c["clients"] for c in value["transitions"]) == 2000
    example = result["examples"][0]
    assert example["before"] != example["after"]
    assert example["rules_fired_before"]
    assert example["rules_fired_after"]


@pytest.mark.parametrize(
    "change",
    [{CALIBRATION_FILE: None}, {"tables/../escape.json": "{}"}, {"ruleset.yaml": "clv: ["}],
)
def test_a_candidate_put_refuses_is_refused_with_the_same_problems(
    api: Api, rules_dir: Path, change: dict[str, Any]
) -> None:
    files = {k: v for k, v in (_files(rules_dir) | change).items() if v is not None}
    simulated = api.client.post(
        "/v1/rules:simulate", json={"files": files, "sample": 100}, headers=api.auth()
    )
    put = api.client.put("/v1/rules", json={"files": files}, headers=api.auth())
    assert simulated.status_code == put.status_code == 422
    assert simulated.json()["errors"] == put.json()["errors"]


def test_only_admin_simulates_and_analysts_read_the_book_page(
    api: Api, rules_dir: Path, tmp_path: Path
) -> None:
    body = {"files": _files(rules_dir), "sample": 100}
    denied = api.client.post("/v1/rules:simulate", json=body, headers=api.auth("analyst"))
    assert denied.status_code == 403
    assert api.client.get("/book", headers=api.auth("classify")).status_code == 403
    missing = api.client.get("/book", headers=api.auth("analyst"))
    assert missing.status_code == 404
    assert "clientscore book report" in missing.text
    report = tmp_path / "report"
    report.mkdir()
    (report / REPORT_FILE).write_text("<html><img src='mix.png'></html>")
    (report / "mix.png").write_bytes(b"\x89PNG\r\n")
    for path in ("/book", "/book/"):
        page = api.client.get(path, headers=api.auth("analyst"))
        assert page.status_code == 200
        (src,) = re.findall(r"src='([^']+)'", page.text)
        assert src == "/book/mix.png"  # resolves wherever the page was opened
    plot = api.client.get("/book/mix.png", headers=api.auth("analyst"))
    assert (plot.status_code, plot.headers["content-type"]) == (200, "image/png")
    assert api.client.get("/book/passwd", headers=api.auth("analyst")).status_code == 404


def test_the_book_page_in_the_chosen_language_and_its_downloads_by_name(
    api: Api, tmp_path: Path
) -> None:
    report = tmp_path / "report"
    report.mkdir()
    for lang in ("zh", "en"):
        (report / f"report-{lang}.html").write_text(
            f"<html lang='{lang}'><!-- nav --><a href='report-{'en' if lang == 'zh' else 'zh'}"
            f".html'>x</a><img src='mix-{lang}.png'><a href='actions.csv' download>CSV</a></html>"
        )
    (report / "actions.csv").write_text('"action","clients"\n"cross_sell",7\n')
    analyst = api.auth("analyst")
    chinese = api.client.get("/book", headers=analyst)
    assert "<html lang='zh'>" in chinese.text
    assert "src='/book/mix-zh.png'" in chinese.text
    assert "href='/book/actions.csv'" in chinese.text
    assert "href='/book?lang=en'" in chinese.text
    assert "href='/book/whatif'" in chinese.text  # the page's links, where the report left room
    browser = api.client.get("/book", headers={**analyst, "Accept-Language": "en-GB,zh;q=0.5"})
    assert "<html lang='en'>" in browser.text
    chosen = api.client.get("/book?lang=en", headers=analyst)
    assert "<html lang='en'>" in chosen.text
    assert chosen.cookies.get("desk_lang") == "en"  # kept for the next page
    assert "<html lang='en'>" in api.client.get("/book", headers=analyst).text
    api.client.cookies.clear()
    download = api.client.get("/book/actions.csv", headers=analyst)
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == 'attachment; filename="actions.csv"'
    assert download.text.splitlines()[1] == '"cross_sell",7'
    for name in (
        "nothing.csv",
        "actions.exe",
        "..%2Freport-en.html",
        "report-en.html",
        "ACTIONS.csv",
    ):
        missing = api.client.get(f"/book/{name}", headers=analyst)
        assert missing.status_code == 404, name
        assert missing.headers["content-type"] == "application/problem+json"
    assert api.client.get("/book/actions.csv", headers=api.auth("classify")).status_code == 403


def _simulate(api: Api, rules_dir: Path, sample: int = 500) -> Any:
    body = {"files": _files(rules_dir), "sample": sample}
    return api.client.post("/v1/rules:simulate", json=body, headers=api.auth())


def test_simulations_past_the_worker_s_bound_get_429_with_retry_after(
    db_url: str, models_dir: Path, rules_dir: Path
) -> None:
    with (
        api_for(
            db_url, models_dir=models_dir, rules_dir=rules_dir, simulation_concurrency=1
        ) as api,
        ThreadPoolExecutor(max_workers=3) as pool,
    ):
        answers = list(pool.map(lambda _: _simulate(api, rules_dir, 2000), range(3)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses[0] == 200, [a.text for a in answers]
        assert 429 in statuses, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert _simulate(api, rules_dir).status_code == 200  # the slot is free again


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ({"simulation_timeout_seconds": 0.5}, "ran past 0.5 s"),
        ({"simulation_memory_mb": 64}, "64 MB"),
    ],
)
def test_a_simulation_past_its_time_or_memory_is_stopped_with_503(
    db_url: str, models_dir: Path, rules_dir: Path, limit: dict[str, Any], words: str
) -> None:
    with api_for(db_url, models_dir=models_dir, rules_dir=rules_dir, **limit) as api:
        started = time.monotonic()
        stopped = _simulate(api, rules_dir, 50_000)
        assert stopped.status_code == 503, stopped.text
        assert stopped.json()["code"] == "simulation_limit"
        assert words in stopped.json()["detail"]
        assert time.monotonic() - started < 60
        assert api.client.get("/readyz").status_code == 200  # the worker serves on
    assert not [c for c in multiprocessing.active_children() if c.name != "MainProcess"]


def test_past_its_bound_a_worker_sheds_requests_at_once_but_not_its_health(
    db_url: str, models_dir: Path, rules_dir: Path
) -> None:
    """One request in hand is the bound here: while a simulation holds it, the next request
    is answered 503 `overloaded` at once; health and metrics are still answered."""
    with (
        api_for(
            db_url, models_dir=models_dir, rules_dir=rules_dir, max_requests_in_flight=1
        ) as api,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        busy = pool.submit(_simulate, api, rules_dir, 20_000)
        time.sleep(1.0)  # the simulation holds the one place; its child takes seconds
        assert not busy.done(), busy.result().text
        started = time.monotonic()
        shed = api.client.get("/v1/rules", headers=api.auth())
        took = time.monotonic() - started
        assert shed.status_code == 503, shed.text
        assert took < 0.5
        assert shed.json()["code"] == "overloaded"
        assert shed.headers["retry-after"] == "1"
        assert api.client.get("/healthz").status_code == 200
        metrics = api.client.get("/metrics").text
        assert busy.result().status_code == 200
        assert "clientscore_http_shed_total" in metrics
        assert api.client.get("/v1/rules", headers=api.auth()).status_code == 200
