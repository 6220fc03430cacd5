"""Next best action through the API, on a real database with real models and a ruleset:
learned acceptance shared by workers, the contact policy, the control group, bad outcomes."""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.cli.strategy import cmd_strategy_report
from app.profiles.schemas import profile_example
from app.strategy.control import held_out, period_of
from app.strategy.schemas import ActionsRead
from tests.conftest import sync_engine
from tests.integration.conftest import Api, api_for
from tests.integration.conftest import stored_and_classified as classify
from tests.integration.test_desk import sign_in
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]


@pytest.fixture
def rules(calibrated_rules: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(calibrated_rules, folder)
    return folder


@pytest.fixture
def workers(db_url: str, models_dir: Path, rules: Path) -> Iterator[tuple[Api, Api]]:
    """Two workers of the service on one database."""
    with ExitStack() as stack:
        built = [
            stack.enter_context(
                api_for(
                    db_url, models_dir=models_dir, rules_dir=rules, strategy_refresh_seconds=0.2
                )
            )
            for _ in range(2)
        ]
        yield built[0], built[1]


def answer(api: Api, client_id: str, code: str, result: str) -> Any:
    return api.client.post(
        f"/v1/clients/{client_id}/outcomes",
        json={"action_code": code, "result": result},
        headers=api.auth("desk"),
    )


def entry(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(a for a in result["strategy"] if a["code"] == code)


def not_held_out(code: str, prefix: str, count: int) -> list[str]:
    period = period_of(datetime.now(UTC).date(), 30)
    ids = (f"{prefix}{i}" for i in range(10_000))
    return [c for c in ids if not held_out(c, code, period, 0.05)][:count]


def count(api: Api, table: str) -> int:
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        found = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    engine.dispose()
    return found


def test_the_strategy_lists_at_most_three_actions_ranked_by_priority(
    workers: tuple[Api, Api],
) -> None:
    result = classify(workers[0], "C-1")
    assert 1 <= len(result["strategy"]) <= 3
    priorities = [a["priority"] for a in result["strategy"]]
    others = [a["priority"] for a in result["arbitration"]["others"]]
    assert priorities + others == sorted(priorities + others, reverse=True)
    for action in result["strategy"]:
        assert action["priority"] == pytest.approx(action["expected_value"], abs=0.01)
        assert action["expected_value"] == pytest.approx(
            action["acceptance"] * action["value"], abs=0.01
        )
        assert action["channel"] in {"call", "visit", "sms", "app", "mail"}
        assert "the starting rate" in action["why"]
    history = (
        workers[0]
        .client.get("/v1/clients/C-1/classifications", headers=workers[0].auth("classify"))
        .json()
    )
    assert history["items"][0]["result"]["strategy"] == result["strategy"]


def test_answers_recorded_by_one_worker_change_the_ranking_of_the_other(
    workers: tuple[Api, Api],
) -> None:
    one, other = workers
    code = classify(one, "C-probe")["strategy"][0]["code"]
    before = entry(classify(other, "C-probe"), code)
    clients = not_held_out(code, "C-", 12)
    for client_id in clients:
        classify(one, client_id)
        assert answer(one, client_id, code, "declined").status_code == 201
    rates = ActionsRead.model_validate(
        other.client.get("/v1/strategy/actions", headers=other.auth("profiles:read")).json()
    )
    (learned,) = [a for a in rates.actions if a.code == code]
    (segment,) = learned.segments
    assert (segment.answered, segment.accepted) == (12, 0)
    assert segment.low < segment.rate < segment.high
    assert segment.rate < learned.starting_acceptance == before["acceptance"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the other worker reads the counts every 0.2 s
        result = classify(other, "C-probe")
        ranked = result["strategy"] + result["arbitration"]["others"]
        (now,) = [a for a in ranked if a["code"] == code]
        if now["priority"] < before["priority"]:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the other worker never ranked with the recorded answers")


def test_the_contact_policy_suppresses_a_declined_action_and_all_during_a_complaint(
    workers: tuple[Api, Api],
) -> None:
    api = workers[0]
    first = classify(api, "C-1")
    code = next(a["code"] for a in first["strategy"] if not a["held_out"])
    assert answer(api, "C-1", code, "declined").status_code == 201
    again = classify(api, "C-1")
    assert code not in [a["code"] for a in again["strategy"]]
    (quiet,) = [s for s in again["arbitration"]["suppressed"] if s["code"] == code]
    assert "no offer for 90 days" in quiet["why"]
    other = next(a["code"] for a in again["strategy"] if not a["held_out"])
    assert answer(api, "C-1", other, "complaint").status_code == 201
    blocked = classify(api, "C-1")
    assert blocked["strategy"] == []
    assert {s["why"] for s in blocked["arbitration"]["suppressed"]} >= {"a complaint is open"}
    inline = api.client.post(
        "/v1/classify",
        json={"profile": {k: v for k, v in profile_example().items() if k != "personal"}},
        headers=api.auth("classify"),
    )
    assert inline.status_code == 200, inline.text
    assert inline.json()["arbitration"]["suppressed"] == []


def test_a_held_out_action_is_marked_and_cannot_be_answered(workers: tuple[Api, Api]) -> None:
    api = workers[0]
    code = classify(api, "C-probe")["strategy"][0]["code"]
    period = period_of(datetime.now(UTC).date(), 30)
    client_id = next(f"H-{i}" for i in range(100_000) if held_out(f"H-{i}", code, period, 0.05))
    result = classify(api, client_id)
    assert entry(result, code)["held_out"] is True
    history = api.client.get(
        f"/v1/clients/{client_id}/classifications", headers=api.auth("classify")
    ).json()
    assert entry(history["items"][0]["result"], code)["held_out"] is True
    before = count(api, "call_outcome")
    refused = answer(api, client_id, code, "accepted")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["rule"] == "held_out"
    assert count(api, "call_outcome") == before


def test_an_offer_is_answered_once(workers: tuple[Api, Api]) -> None:
    api = workers[0]
    result = classify(api, "C-1")
    code = next(a["code"] for a in result["strategy"] if not a["held_out"])
    assert answer(api, "C-1", code, "accepted").status_code == 201
    before = (count(api, "call_outcome"), count(api, "offer_answer"))
    twice = answer(api, "C-1", code, "declined")
    assert twice.status_code == 422
    assert twice.json()["errors"][0] == {
        "field": "action_code",
        "rule": "already_answered",
        "detail": f"the offer of '{code}' by classification {result['request_id']} "
        "already has its answer",
        "location": "body",
    }
    assert (count(api, "call_outcome"), count(api, "offer_answer")) == before
    assert answer(api, "C-1", code, "call_back").status_code == 201


def test_the_strategy_report_counts_offers_answers_and_the_control_group(
    workers: tuple[Api, Api], capsys: pytest.CaptureFixture[str]
) -> None:
    api = workers[0]
    code = classify(api, "C-probe")["strategy"][0]["code"]
    for client_id in not_held_out(code, "R-", 4):
        classify(api, client_id)
        assert answer(api, client_id, code, "accepted").status_code == 201
    cmd_strategy_report(api.settings, argparse.Namespace(since=None))
    printed = capsys.readouterr().out
    (line,) = [row for row in printed.splitlines() if row.startswith(code) and " all " in row]
    # C-probe was classified, never contacted: not an offer. Offers, held out, answered:
    assert line.split()[2:5] == ["4", "0", "4"]
    assert "100.0%" in line
    read = api.client.get(
        "/v1/strategy/report",
        params={"since": "2020-01-01T00:00:00Z"},
        headers=api.auth("profiles:read"),
    )
    assert read.status_code == 200, read.text
    (row,) = [r for r in read.json()["rows"] if (r["action_code"], r["segment"]) == (code, "all")]
    assert (row["offers"], row["answered"], row["accepted"], row["acceptance"]) == (4, 4, 4, 1.0)
    assert row["uplift"]["estimate"] is None  # no recorded 12-month outcome yet
    bad = api.client.get(
        "/v1/strategy/report", params={"since": "soon"}, headers=api.auth("profiles:read")
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "since"


def test_the_openapi_schema_documents_the_ranked_strategy(workers: tuple[Api, Api]) -> None:
    schema = workers[0].client.get("/openapi.json").json()
    action = schema["components"]["schemas"]["ActionRead"]["properties"]
    assert {"channel", "priority", "expected_value", "acceptance", "held_out", "why"} <= set(action)
    assert "arbitration" in schema["components"]["schemas"]["Classification"]["properties"]
    assert {"/v1/strategy/actions", "/v1/strategy/report"} <= set(schema["paths"])


def test_the_desk_shows_the_strategy_report(workers: tuple[Api, Api]) -> None:
    api = workers[0]
    assert api.client.get("/desk/strategy", follow_redirects=False).status_code == 303
    assert sign_in(api).status_code == 303
    empty = api.client.get("/desk/strategy")
    assert empty.status_code == 200
    assert "No offers recorded yet" in empty.text or "暂无推荐记录" in empty.text
    code = classify(api, "C-probe")["strategy"][0]["code"]
    for client_id in not_held_out(code, "P-", 2):
        classify(api, client_id)
        assert answer(api, client_id, code, "accepted").status_code == 201
    page = api.client.get("/desk/strategy")
    assert page.status_code == 200
    assert f'data-action="{code}" data-segment="all"' in page.text
    assert "100.0% (2/2)" in page.text
