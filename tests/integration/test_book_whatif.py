"""The what-if page (`/book/whatif`) in-process on a real database with real models: the
thresholds changed, simulated in the worker's sandbox, shown, and activated or refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from app.rules import thresholds
from app.rules.ruleset import read_ruleset_files
from tests.integration.conftest import Api, api_for, make_key
from tests.service_models import calibrated_rules, champions, models_dir, rules_dir

__all__ = ["calibrated_rules", "champions", "models_dir", "rules_dir"]
SAMPLE = "1000"


@pytest.fixture
def api(db_url: str, models_dir: Path, rules_dir: Path) -> Iterator[Api]:
    with api_for(db_url, models_dir=models_dir, rules_dir=rules_dir) as built:
        yield built


def sign_in(api: Api, *scopes: str) -> str:
    """Signs the test client in with a key of `scopes`; the page's CSRF token."""
    api.client.cookies.clear()
    api.client.cookies.set("desk_lang", "en")  # the page's words, as the test reads them
    form = api.client.get("/desk/sign-in?next=/book/whatif")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    key = make_key(api.settings, *scopes)
    signed = api.client.post(
        "/desk/sign-in",
        data={"key": key, "csrf": token.group(1), "next": "/book/whatif"},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    page = api.client.get("/book/whatif")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def form(rules_dir: Path, csrf: str, **changes: str) -> dict[str, str]:
    values = {k: str(v) for k, v in thresholds.current(read_ruleset_files(rules_dir)).items()}
    return (
        values
        | {"csrf": csrf, "sample": SAMPLE}
        | {k.replace("__", "."): v for k, v in changes.items()}
    )


def active(api: Api) -> str:
    version: str = api.client.get("/v1/rules", headers=api.auth()).json()["version"]
    return version


def cells(html: str, row_class: str) -> list[list[str]]:
    rows = re.findall(rf'<tr class="{row_class}"[^>]*>(.*?)</tr>', html, re.S)
    return [[unescape(c).strip() for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in rows]


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_page_opens_for_an_analyst_and_not_for_an_agent(api: Api) -> None:
    api.client.cookies.clear()
    signed_out = api.client.get("/book/whatif", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/desk/sign-in?next=%2Fbook%2Fwhatif")
    sign_in(api, "desk", "analyst")
    page = api.client.get("/book/whatif")
    assert page.status_code == 200
    assert 'name="abc.a_share" value="0.2"' in page.text
    assert 'name="clv.expense_ratio" value="0.25"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "<style" not in page.text
    assert re.findall(r"<script[^>]*>\s*[^<\s]", page.text) == []  # no inline script
    assert re.findall(r"<script ", page.text) == ["<script "]  # htmx, from /desk/static
    assert api.client.get("/desk/static/desk.css").status_code == 200
    api.client.cookies.delete("desk_lang")
    assert "<h1>阈值模拟" in api.client.get("/book/whatif").text
    switched = api.client.get("/desk/lang/en?next=/book/whatif")
    assert switched.url.path == "/book/whatif"
    assert "<h1>What-if</h1>" in switched.text  # the language chosen on any page holds here
    api.client.cookies.clear()
    agent = make_key(api.settings, "desk")
    login = api.client.get("/desk/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf
    api.client.post("/desk/sign-in", data={"key": agent, "csrf": csrf.group(1)})
    refused = api.client.get("/book/whatif")
    assert refused.status_code == 403
    assert 'id="not-permitted"' in refused.text


def test_bad_input_names_the_field_and_why_and_simulates_nothing(api: Api, rules_dir: Path) -> None:
    csrf = sign_in(api, "desk", "analyst")
    data = form(rules_dir, csrf, clv__expense_ratio="a lot", clv__discount_rate="1.5")
    page = api.client.post("/book/whatif", data=data)
    assert page.status_code == 422
    assert 'id="result"' not in page.text
    error = re.search(r'id="p-clv-expense_ratio-error">([^<]+)<', page.text)
    assert error
    assert "is not a number" in unescape(error.group(1))
    assert 'value="a lot"' in page.text  # what was entered, to correct
    ranged = form(rules_dir, csrf, clv__discount_rate="1.5")
    out_of_range = api.client.post("/book/whatif", data=ranged)
    assert out_of_range.status_code == 422
    error = re.search(r'id="p-clv-discount_rate-error">([^<]+)<', out_of_range.text)
    assert error
    assert "less than 1" in error.group(1)
    wrong_token = api.client.post("/book/whatif", data=form(rules_dir, "forged"))
    assert wrong_token.status_code == 403


def test_a_changed_threshold_shows_the_moved_clients_and_the_changed_actions(
    api: Api, rules_dir: Path
) -> None:
    before = active(api)
    csrf = sign_in(api, "desk", "analyst")
    page = api.client.post("/book/whatif", data=form(rules_dir, csrf, clv__expense_ratio="0.4"))
    assert page.status_code == 200, page.text
    moved = re.search(r'<p id="moved">([\d,]+) of ([\d,]+) clients move', page.text)
    assert moved, page.text
    assert number(moved.group(2)) == int(SAMPLE)
    assert number(moved.group(1)) > 0
    moves = cells(page.text, "move")
    assert moves
    for source, target, clients, premium, clv_before, clv_after in moves:
        assert source != target
        assert number(clients) > 0
        assert number(premium) > 0
        assert clv_before != clv_after  # a higher expense ratio lowers CLV
    assert sum(number(m[2]) for m in moves) >= number(moved.group(1))
    actions = cells(page.text, "action")
    assert actions  # less CLV changes which actions are worth it
    assert all(code and before_count != after_count for code, before_count, after_count in actions)
    assert len(actions) < 25
    assert 'id="cases-pass"' in page.text
    assert 'id="activate"' not in page.text  # an analyst explores; an admin activates
    assert 'id="admin-activates"' in page.text
    assert 'href="/book/whatif" id="discard"' in page.text
    assert active(api) == before  # nothing activated
    unchanged = api.client.post("/book/whatif", data=form(rules_dir, csrf))
    assert 'id="unchanged"' in unchanged.text


def test_a_change_that_breaks_a_case_is_a_finding_and_is_not_activated(
    api: Api, rules_dir: Path
) -> None:
    before = active(api)
    csrf = sign_in(api, "admin")
    data = form(rules_dir, csrf, abc__a_share="0.25")
    page = api.client.post("/book/whatif", data=data)
    assert page.status_code == 200, page.text
    findings = re.findall(r'<li class="finding">(.*?)</li>', page.text, re.S)
    assert any("abc_grade" in unescape(f) for f in findings), findings
    assert 'id="cannot-activate"' in page.text
    assert 'id="activate"' not in page.text
    base = re.search(r'name="base" value="([^"]+)"', page.text)
    assert base is None
    forced = api.client.post("/book/whatif/activate", data=data | {"base": before})
    assert forced.status_code == 422
    assert "abc_grade" in unescape(forced.text)
    assert active(api) == before


def test_an_admin_activates_the_simulated_candidate(api: Api, rules_dir: Path) -> None:
    before = active(api)
    analyst_csrf = sign_in(api, "desk", "analyst")
    data = form(rules_dir, analyst_csrf, clv__expense_ratio="0.3")
    refused = api.client.post("/book/whatif/activate", data=data | {"base": before})
    assert refused.status_code == 403
    csrf = sign_in(api, "admin")
    page = api.client.post("/book/whatif", data=form(rules_dir, csrf, clv__expense_ratio="0.3"))
    assert page.status_code == 200, page.text
    candidate = re.search(r"Candidate ruleset (rs-[0-9a-f]{12})", page.text)
    assert candidate
    activate = re.search(
        r'<form method="post" action="/book/whatif/activate".*?</form>', page.text, re.S
    )
    assert activate, page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', activate.group(0)))
    assert fields["base"] == before
    done = api.client.post("/book/whatif/activate", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert active(api) == candidate.group(1) != before
    after = api.client.get(done.headers["location"])
    assert 'id="activated"' in after.text
    assert 'name="clv.expense_ratio" value="0.3"' in after.text
    stale = api.client.post("/book/whatif/activate", data=fields)
    assert stale.status_code == 409  # built on a ruleset that no longer serves


def test_analysts_activate_when_the_setting_lets_them(
    db_url: str, models_dir: Path, rules_dir: Path
) -> None:
    with api_for(
        db_url, models_dir=models_dir, rules_dir=rules_dir, analysts_activate_rules=True
    ) as api:
        csrf = sign_in(api, "desk", "analyst")
        data: dict[str, Any] = form(rules_dir, csrf, clv__discount_rate="0.06")
        done = api.client.post(
            "/book/whatif/activate", data=data | {"base": active(api)}, follow_redirects=False
        )
        assert done.status_code == 303, done.text
        assert (
            api.client.get("/v1/rules", headers=api.auth()).json()["version"]
            in done.headers["location"]
        )
