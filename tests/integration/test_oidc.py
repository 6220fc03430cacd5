"""Single sign-on in-process against a real OpenID provider (node-oidc-provider), on a real
database: the code flow with PKCE, roles from the groups claim, state, nonce, the ID token's
signature, audience and expiry, rotated keys, sign-out, and a provider that cannot be reached."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape as html_unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import text

from app.i18n.texts import TIMEZONE
from app.signin.oidc import Provider, SignInRefused
from tests.conftest import empty_tables, sync_engine
from tests.integration.conftest import Api, api_for, stored_and_classified
from tests.oidc.provider import (
    ACCOUNTS,
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT,
    TestProvider,
    running_provider,
    signing_key,
)
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
CALLBACK = "http://testserver/desk/sign-in/callback"
REPORT = '<!doctype html><title>Portfolio</title><h1 id="portfolio">Portfolio report</h1>'


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), [CALLBACK]) as running:
        yield running


@pytest.fixture(scope="module")
def module_sso(
    backend_url: str,
    provider: TestProvider,
    models_dir: Path,
    calibrated_rules: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("sso")
    shutil.copytree(calibrated_rules, folder / "rules")
    (folder / "book").mkdir()
    (folder / "book" / "report.html").write_text(REPORT)
    settings = provider.settings(CALLBACK) | {
        "models_dir": models_dir,
        "rules_dir": folder / "rules",
        "book_report_dir": folder / "book",
    }
    with api_for(backend_url, **settings) as built:
        yield built


@pytest.fixture
def sso(module_sso: Api) -> Api:
    module_sso.client.cookies.clear()
    return module_sso.on_empty_tables()


def at_provider(location: str, login: str) -> str:
    """The person's browser at the provider: its login form (the provider's own), until it
    sends the browser back to clientscore; that callback URL."""
    with httpx.Client(timeout=10) as browser:
        response = browser.get(location)
        for _ in range(10):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith("http://testserver/"):
                    return target
                response = browser.get(target)
            elif 'name="login"' in response.text:
                action = re.search(r'action="([^"]+)"', response.text)
                assert action, response.text
                response = browser.post(
                    urljoin(str(response.url), action.group(1)),
                    data={"prompt": "login", "login": login, "password": "any password"},
                )
            else:
                raise AssertionError(f"{response.status_code} at {response.url}: {response.text}")
    raise AssertionError("the provider never sent the browser back")


def callback_of(api: Api, login: str, target: str = "/desk") -> str:
    start = api.client.get("/desk/sign-in/oidc", params={"next": target}, follow_redirects=False)
    assert start.status_code == 303, start.text
    assert start.headers["location"].startswith(api.settings.oidc_issuer or "-")
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"]
    assert query["state"]
    assert query["code_challenge"]
    return at_provider(start.headers["location"], login)


def sign_in(api: Api, login: str, target: str = "/desk") -> Any:
    return api.client.get(callback_of(api, login, target), follow_redirects=False)


def rows(api: Api, query: str) -> list[Any]:
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        found = list(conn.execute(text(query)).all())
    engine.dispose()
    return found


def html(api: Api, path: str) -> Any:
    return api.client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)


def test_with_a_provider_the_sign_in_page_offers_it_and_takes_no_key(sso: Api) -> None:
    page = sso.client.get("/desk/sign-in")
    assert 'id="sso"' in page.text
    assert 'id="key"' not in page.text
    refused = sso.client.post("/desk/sign-in", data={"key": sso.token("desk"), "csrf": "x"})
    assert refused.status_code == 403
    assert rows(sso, "SELECT * FROM web_session") == []


def test_an_agent_signs_in_reaches_the_desk_and_not_the_book(sso: Api) -> None:
    signed = sign_in(sso, "agent.wang", "/desk?q=C-1")
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/desk?q=C-1"
    cookie = signed.headers["set-cookie"].lower()
    assert "clientscore_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    desk = html(sso, "/desk")
    assert desk.status_code == 200
    assert "Wang Fang" in desk.text
    book = html(sso, "/book")
    assert book.status_code == 403
    assert 'id="not-permitted"' in book.text
    assert "agent" in book.text
    assert html(sso, "/desk/strategy").status_code == 403
    [(kind, subject, name, roles)] = rows(sso, "SELECT kind, subject, name, roles FROM web_session")
    assert (kind, subject, name) == ("oidc", "agent.wang", "Wang Fang")
    assert "agent" in str(roles)


def test_an_analyst_lands_on_the_book_and_is_refused_the_desk(sso: Api) -> None:
    signed = sign_in(sso, "analyst.li")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/book"
    book = html(sso, "/book")
    assert book.status_code == 200
    assert 'id="portfolio"' in book.text
    assert book.headers["cache-control"] == "no-store"
    desk = html(sso, "/desk")
    assert desk.status_code == 403
    assert 'id="not-permitted"' in desk.text
    report = html(sso, "/desk/strategy")
    assert report.status_code == 200
    assert 'id="q"' not in report.text  # no caller search for an analyst


def test_a_person_with_no_role_gets_a_page_saying_so_and_no_session(sso: Api) -> None:
    refused = sign_in(sso, "clerk.sun")
    assert refused.status_code == 403
    assert "Sun Mei" in refused.text
    assert "no clientscore role" in refused.text or "没有本系统的任何角色" in refused.text
    assert "clientscore_session=" not in refused.headers.get("set-cookie", "").replace(
        'clientscore_session=""', ""
    )
    assert rows(sso, "SELECT * FROM web_session") == []
    assert html(sso, "/desk").status_code == 303


def test_a_replayed_or_wrong_state_is_refused_and_makes_no_session(sso: Api) -> None:
    callback = callback_of(sso, "agent.wang")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert sso.client.get(callback, follow_redirects=False).status_code == 303
    assert len(rows(sso, "SELECT * FROM web_session")) == 1
    sso.client.cookies.clear()
    # The same callback again, with its state cookie: the state was used up.
    sso.client.cookies.set("desk_sign_in_state", state, path="/desk/sign-in")
    replayed = sso.client.get(callback, follow_redirects=False)
    assert replayed.status_code == 400
    assert "already used" in replayed.text or "已使用过" in replayed.text
    # A state other than the one this browser was given, and none at all.
    other = callback_of(sso, "agent.wang")
    forged = other.replace("state=", "state=x")
    assert sso.client.get(forged, follow_redirects=False).status_code == 400
    missing = re.sub(r"[?&]state=[^&]*", "", other)
    assert sso.client.get(missing, follow_redirects=False).status_code == 400
    assert len(rows(sso, "SELECT * FROM web_session")) == 1
    assert "Traceback" not in replayed.text


def test_sign_out_ends_the_session_and_the_providers(sso: Api) -> None:
    sign_in(sso, "agent.wang")
    cookie = sso.client.cookies["clientscore_session"]
    page = html(sso, "/desk")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    out = sso.client.post("/desk/sign-out", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 200
    onward = re.search(r'id="provider-sign-out" href="([^"]+)"', out.text)
    assert onward
    ended = urlsplit(html_unescape(onward.group(1)))
    assert f"{ended.scheme}://{ended.netloc}" == sso.settings.oidc_issuer
    query = parse_qs(ended.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/desk/sign-in"]
    assert query["id_token_hint"]
    assert rows(sso, "SELECT * FROM web_session") == []
    sso.client.cookies.set("clientscore_session", cookie)
    assert html(sso, "/desk").status_code == 303


def test_a_session_due_for_its_recheck_goes_back_through_the_provider(sso: Api) -> None:
    sign_in(sso, "agent.wang")
    engine = sync_engine(sso.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE web_session SET recheck_at = created_at"))
    engine.dispose()
    again = html(sso, "/desk?q=C-1")
    assert again.status_code == 303
    assert again.headers["location"] == "/desk/sign-in/oidc?next=%2Fdesk%3Fq%3DC-1"


def test_a_group_removed_at_the_provider_ends_access_at_the_recheck(
    sso: Api, provider: TestProvider
) -> None:
    sign_in(sso, "agent.wang")
    assert html(sso, "/desk").status_code == 200
    provider.accounts["agent.wang"] = {"name": "Wang Fang", "groups": ["finance"]}
    try:
        provider.restart()
        engine = sync_engine(sso.url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE web_session SET recheck_at = created_at"))
        engine.dispose()
        again = html(sso, "/desk")
        assert again.status_code == 303
        start = sso.client.get(again.headers["location"], follow_redirects=False)
        callback = at_provider(start.headers["location"], "agent.wang")
        refused = sso.client.get(callback, follow_redirects=False)
        assert refused.status_code == 403
        assert "Wang Fang" in refused.text
        assert rows(sso, "SELECT * FROM web_session") == []
        assert html(sso, "/desk").status_code == 303
    finally:
        provider.accounts["agent.wang"] = dict(ACCOUNTS["agent.wang"])
        provider.restart()


def _card_form(api: Api, client_id: str) -> tuple[str, str, str]:
    """The card's first action, its offer's request id and the form's CSRF token."""
    card = html(api, f"/desk/clients/{client_id}")
    assert card.status_code == 200, card.text
    found = [
        re.search(pattern, card.text)
        for pattern in (
            r'name="result_([a-z_]+)"',
            r'name="offer_request_id" value="([^"]+)"',
            r'name="csrf" value="([^"]+)"',
        )
    ]
    assert all(found), card.text
    code, offer, csrf = (m.group(1) for m in found if m)
    return code, offer, csrf


def test_the_call_outcome_keeps_the_persons_subject_and_name(sso: Api) -> None:
    stored_and_classified(sso, "C-1")
    sign_in(sso, "lead.zhao")
    code, offer, csrf = _card_form(sso, "C-1")
    form = {f"result_{code}": "declined", "offer_request_id": offer, "csrf": csrf}
    done = sso.client.post("/desk/clients/C-1/outcomes", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert "recorded=1" in done.headers["location"]
    assert rows(sso, "SELECT key_id, recorded_by_subject, recorded_by_name FROM call_outcome") == [
        (None, "lead.zhao", "Zhao Lei")
    ]
    listed = sso.client.get("/v1/clients/C-1/outcomes", headers=sso.auth("desk")).json()
    assert listed["items"][0]["recorded_by_subject"] == "lead.zhao"


def _call_back(api: Api, client_id: str, note: str) -> None:
    """The signed-in person asks for a callback on the card's first action, tomorrow."""
    code, offer, csrf = _card_form(api, client_id)
    when = (datetime.now(UTC) + timedelta(hours=1)).astimezone(TIMEZONE)
    form = {
        f"result_{code}": "call_back",
        f"callback_{code}": when.strftime("%Y-%m-%dT%H:%M"),
        "note": note,
        "offer_request_id": offer,
        "csrf": csrf,
    }
    done = api.client.post(f"/desk/clients/{client_id}/outcomes", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert "recorded=1" in done.headers["location"], done.headers["location"]


def test_a_team_lead_sees_the_callbacks_and_calls_of_the_team_and_no_other(sso: Api) -> None:
    for client_id in ("C-1", "C-2"):
        stored_and_classified(sso, client_id)
    sign_in(sso, "agent.wang")  # team north
    _call_back(sso, "C-1", "north asks again at ten")
    sign_in(sso, "agent.liu")  # team south
    _call_back(sso, "C-2", "south asks again at ten")
    assert sorted(rows(sso, "SELECT recorded_by_subject, recorded_by_team FROM call_outcome")) == [
        ("agent.liu", "south"),
        ("agent.wang", "north"),
    ]
    own = html(sso, "/desk/callbacks")  # an agent sees their own only
    assert "south asks again" in own.text
    assert "north asks again" not in own.text
    assert html(sso, "/desk/team").status_code == 403
    sign_in(sso, "lead.zhao")  # the lead of north
    team = html(sso, "/desk/callbacks")
    assert team.status_code == 200
    assert "north asks again" in team.text
    assert "Wang Fang" in team.text
    assert "south asks again" not in team.text
    calls = html(sso, "/desk/team")
    assert calls.status_code == 200
    assert "north asks again" in calls.text
    assert "south asks again" not in calls.text


def _provider(provider: TestProvider, refetch_seconds: float = 10.0) -> Provider:
    return Provider(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_url=CALLBACK,
        scopes="openid",
        timeout=5,
        refetch_seconds=refetch_seconds,
    )


def _token(key: dict[str, Any], provider: TestProvider, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "agent.wang", "aud": CLIENT_ID, "iat": now,
              "exp": now + 300, "nonce": "n-1", "name": "Wang Fang"} | changes  # fmt: skip
    signer = RSAKey.import_key(key)
    return jwt.encode({"alg": "RS256", "kid": key["kid"]}, claims, signer)


def _verify(client: Provider, token: str, nonce: str = "n-1") -> dict[str, Any]:
    return asyncio.run(client.verify(token, nonce=nonce))


def test_id_tokens_are_checked_against_the_providers_keys(provider: TestProvider) -> None:
    client = _provider(provider)
    key = provider.keys[0]
    assert _verify(client, _token(key, provider))["sub"] == "agent.wang"  # the control
    header, _, signature = _token(key, provider).split(".")
    forged = _token(key, provider, sub="admin.chen").split(".")[1]
    refused = {
        "tampered": f"{header}.{forged}.{signature}",
        "wrong audience": _token(key, provider, aud=OTHER_CLIENT),
        "expired": _token(key, provider, iat=int(time.time()) - 900, exp=int(time.time()) - 600),
        "other issuer": _token(key, provider, iss="http://127.0.0.1:1"),
        "unknown key": _token(signing_key(), provider),
        "no nonce": _token(key, provider, nonce=None),
    }
    for why, token in refused.items():
        try:
            _verify(client, token)
        except SignInRefused:
            continue
        pytest.fail(f"a token with {why} was accepted")
    with pytest.raises(SignInRefused):
        _verify(client, _token(key, provider), nonce="another sign-in")


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_rotated_signing_keys_are_followed(provider: TestProvider, sso: Api) -> None:
    client = _provider(provider, refetch_seconds=0)
    old = provider.keys[0]
    assert _verify(client, _token(old, provider))["sub"] == "agent.wang"
    provider.rotate()
    new = provider.keys[0]
    assert new["kid"] != old["kid"]
    assert _verify(client, _token(new, provider))["sub"] == "agent.wang"
    with pytest.raises(SignInRefused):
        _verify(client, _token(old, provider))
    # And a whole sign-in, whose ID token the rotated key signed.
    sso.client.app.state.oidc.refetch_seconds = 0  # type: ignore[attr-defined]
    assert sign_in(sso, "agent.wang").status_code == 303
    assert html(sso, "/desk").status_code == 200


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_a_provider_that_cannot_be_reached_gets_a_page_and_the_api_keeps_serving(
    backend_url: str, provider: TestProvider
) -> None:
    empty_tables(backend_url)
    gone = provider.settings(CALLBACK) | {"oidc_issuer": "http://127.0.0.1:9"}
    with api_for(backend_url, **gone) as api:
        start = api.client.get("/desk/sign-in/oidc", follow_redirects=False)
        assert start.status_code == 503
        assert "cannot be reached" in start.text or "无法连接" in start.text
        assert "Traceback" not in start.text
        assert api.client.get("/healthz").status_code == 200
        stored = api.client.get("/v1/clients/C-404", headers=api.auth("profiles:read"))
        assert stored.status_code == 404
