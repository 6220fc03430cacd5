"""The desk's pages in-process on a real database: sign-in, lookup, card, recording, safety."""

from __future__ import annotations

import argparse
import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import text

from app.auth import service as keys
from app.cli.sessions import cmd_sessions_list, cmd_sessions_revoke
from app.db.engine import create_engine_for, create_sessionmaker
from app.profiles.schemas import profile_example
from tests.conftest import sync_engine
from tests.integration.conftest import Api, api_for
from tests.integration.test_outcomes_api import api, calibrated_rules, champions, models_dir

__all__ = ["api", "calibrated_rules", "champions", "models_dir"]
PHONE = "13800138000"


def store(api: Api, client_id: str, **personal: Any) -> None:
    body = profile_example()
    body["personal"] = {"name": "王小明", "phone": PHONE} | personal
    response = api.client.put(f"/v1/clients/{client_id}", json=body, headers=api.auth())
    assert response.status_code in {200, 201}, response.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(api: Api, scope: str = "desk", target: str = "/desk") -> Any:
    page = api.client.get(f"/desk/sign-in?next={target}")
    assert page.status_code == 200
    return api.client.post(
        "/desk/sign-in",
        data={"key": api.token(scope), "csrf": csrf_of(page.text), "next": target},
        follow_redirects=False,
    )


def outcomes(api: Api) -> int:
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM call_outcome")).scalar()
    engine.dispose()
    return int(count or 0)


def test_signed_out_pages_go_to_sign_in_keeping_the_search(api: Api) -> None:
    response = api.client.get(f"/desk?phone={PHONE}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/desk/sign-in?next=%2Fdesk%3Fphone%3D")


def test_a_desk_key_signs_in_with_a_lax_httponly_cookie_and_finds_the_caller(api: Api) -> None:
    store(api, "C-1")
    signed = sign_in(api, target=f"/desk?phone={PHONE}")
    assert signed.status_code == 303
    assert signed.headers["location"] == f"/desk?phone={PHONE}"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie  # docs/sign-in.md: the provider's callback needs Lax
    assert "path=/;" in cookie  # the desk and the book
    assert "max-age=28800" in cookie
    found = api.client.get(f"/desk?phone={PHONE}", follow_redirects=False)
    assert found.headers["location"] == "/desk/clients/C-1"
    card = api.client.get("/desk/clients/C-1")
    assert card.status_code == 200
    assert "王小明" in card.text
    assert 'id="badge-value"' in card.text


def test_a_classify_key_or_a_bad_key_cannot_sign_in(api: Api) -> None:
    for scope in ("classify", "profiles:write"):
        response = sign_in(api, scope)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/desk/sign-in?")
        assert "desk_session=" not in response.headers.get("set-cookie", "")
        assert api.client.get("/desk", follow_redirects=False).status_code == 303
    page = api.client.get("/desk/sign-in")
    wrong = api.client.post(
        "/desk/sign-in", data={"key": "cs_nope_nope", "csrf": csrf_of(page.text)}
    )
    assert "cannot sign in" in wrong.text or "无法登录" in wrong.text


def test_sign_in_without_its_csrf_token_is_refused(api: Api) -> None:
    api.client.get("/desk/sign-in")
    response = api.client.post("/desk/sign-in", data={"key": api.token("desk"), "csrf": "x"})
    assert response.status_code == 403


def test_no_client_found_is_a_page_and_several_are_a_choice(api: Api) -> None:
    store(api, "C-1")
    store(api, "C-2")
    sign_in(api)
    choice = api.client.get(f"/desk?phone={PHONE}")
    assert choice.status_code == 200
    assert "/desk/clients/C-1" in choice.text
    assert "/desk/clients/C-2" in choice.text
    missing = api.client.get("/desk?q=19999999999")
    assert missing.status_code == 200
    assert 'id="no-client"' in missing.text
    assert api.client.get("/desk/clients/C-404").status_code == 200


def test_recording_the_call_needs_the_csrf_token(api: Api) -> None:
    store(api, "C-1", name="<script>alert(1)</script>")
    sign_in(api)
    card = api.client.get("/desk/clients/C-1")
    assert "<script>alert(1)</script>" not in card.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card.text
    code = re.search(r'name="result_([a-z_]+)"', card.text)
    assert code
    offer = re.search(r'name="offer_request_id" value="([^"]+)"', card.text)
    assert offer
    form = {f"result_{code.group(1)}": "accepted", "note": "ring after six",
            "offer_request_id": offer.group(1)}  # fmt: skip
    refused = api.client.post("/desk/clients/C-1/outcomes", data=form)
    assert refused.status_code == 403
    assert outcomes(api) == 0
    done = api.client.post("/desk/clients/C-1/outcomes", data=form | {"csrf": csrf_of(card.text)})
    assert done.status_code == 200
    assert "ring after six" in done.text
    assert outcomes(api) == 1
    listed = api.client.get("/v1/clients/C-1/outcomes", headers=api.auth("desk")).json()
    assert listed["items"][0]["result"] == "accepted"
    assert listed["items"][0]["offer_request_id"] == offer.group(1)


def test_sign_out_ends_the_session(api: Api) -> None:
    store(api, "C-1")
    sign_in(api)
    page = api.client.get("/desk")
    out = api.client.post(
        "/desk/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert api.client.get("/desk", follow_redirects=False).status_code == 303


def test_a_cookie_replayed_after_sign_out_opens_nothing(api: Api) -> None:
    sign_in(api)
    cookie = api.client.cookies["clientscore_session"]
    page = api.client.get("/desk")
    assert page.status_code == 200
    api.client.post("/desk/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    api.client.cookies.set("clientscore_session", cookie)
    replayed = api.client.get("/desk", follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/desk/sign-in?")
    assert rows(api, "web_session") == 0


def test_revoking_the_key_ends_its_desk_session_at_once(api: Api) -> None:
    sign_in(api)
    assert api.client.get("/desk").status_code == 200
    key_id = api.token("desk").split("_")[1]
    assert revoke(api, key_id)  # as `clientscore keys revoke` does
    assert api.client.get("/desk", follow_redirects=False).status_code == 303
    assert rows(api, "web_session") == 0


def revoke(api: Api, key_id: str) -> bool:
    async def work() -> bool:
        engine = create_engine_for(api.settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await keys.revoke_key(session, key_id=key_id)
        finally:
            await engine.dispose()

    return asyncio.run(work())


def rows(api: Api, table: str) -> int:
    engine = sync_engine(api.url)
    with engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return int(count or 0)


def test_the_docs_load_their_assets_from_the_service(api: Api) -> None:
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert api.client.get(asset).status_code == 200, asset
    assert "cdn" not in docs.text


_JOINED = (
    "SELECT c.client_id FROM client c LEFT OUTER JOIN client_personal p "
    "ON p.client_id = c.client_id WHERE {where} ORDER BY c.client_id LIMIT 20"
)
_BY_NAME = (
    "SELECT c.client_id FROM client_personal p JOIN client c ON p.client_id = c.client_id "
    "WHERE {where} LIMIT 20"
)
LOOKUPS = {
    # name: (query, the index each database uses: SQLite's, PostgreSQL's)
    "phone": (_JOINED.format(where="p.phone = :value"), "ix_client_personal_phone", None),
    "national_id": (
        _JOINED.format(where="p.national_id = :value"),
        "ix_client_personal_national_id",
        None,
    ),
    "client_id_any_case": (
        _JOINED.format(where="c.client_id IN (:value, :upper, :lower)"),
        "pk_client",
        None,
    ),
    "name_prefix": (
        _BY_NAME.format(where="p.name >= :value AND p.name < :top"),
        "ix_client_personal_name",
        "ix_client_personal_name_trgm",
    ),
}
PG_NAME = _BY_NAME.format(where="p.name ILIKE :like OR p.name % :value")


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_the_caller_lookups_are_index_hits(db_url: str, lookup: str) -> None:
    """The desk's lookups (as `profiles.repository` runs them) use an index: under 50 ms
    on a book of any size, where a scan would read every client. On PostgreSQL a name is
    looked up through the trigram index (prefix and fuzzy at once)."""
    query, sqlite_index, pg_index = LOOKUPS[lookup]
    values = {"value": "wa", "upper": "WA", "lower": "wa", "top": "wa\U0010ffff", "like": "wa%"}
    engine = sync_engine(db_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = conn.execute(text(f"EXPLAIN QUERY PLAN {query}"), values).all()
            index = sqlite_index
        else:
            # The tables are empty here, so the planner must be told scans are out.
            conn.execute(text("SET enable_seqscan = off"))
            query = PG_NAME if pg_index else query
            plan = conn.execute(text(f"EXPLAIN {query}"), values).all()
            index = pg_index or sqlite_index
    engine.dispose()
    shown = " ".join(str(part) for row in plan for part in row)
    if engine.dialect.name == "sqlite" and index == "pk_client":
        index = "sqlite_autoindex_client_1"  # SQLite's name for the primary key's index
    assert index in shown, shown
    assert "Seq Scan" not in shown, shown
    assert not re.search(r"SCAN [cp](?! USING)", shown), shown


def test_pages_with_personal_data_are_not_cached_framed_or_scripted_inline(api: Api) -> None:
    store(api, "C-1")
    sign_in(api)
    for path in (
        "/desk",
        "/desk/clients/C-1",
        "/desk/sign-in",
        "/desk/strategy",
        "/desk/callbacks",
    ):
        page = api.client.get(path)
        assert page.status_code == 200, path
        headers = page.headers
        assert headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path  # no inline script
        assert " style=" not in page.text
    card = api.client.get("/desk/clients/C-1")
    search = re.search(r'<form class="find".*?</form>', card.text, re.S)
    assert search
    assert 'name="csrf"' not in search.group(0)  # a GET form puts its fields in the URL


def test_redirects_never_follow_the_host_header(api: Api) -> None:
    evil = {"Host": "evil.example"}
    for path in ("/desk/", "/desk", "/v1/clients/", "/docs/"):
        response = api.client.get(path, headers=evil, follow_redirects=False)
        location = response.headers.get("location", "")
        assert "evil.example" not in location, (path, location)
        assert not location or location.startswith("/"), (path, location)
    assert api.client.get("/desk/", follow_redirects=False).headers["location"] == "/desk"


def test_the_sign_in_page_shows_no_text_from_the_query_string(api: Api) -> None:
    page = api.client.get("/desk/sign-in", params={"error": "Your account is locked, call 110"})
    assert page.status_code == 200
    assert "account is locked" not in page.text.replace("%20", " ").replace("+", " ")
    assert 'role="alert"' not in page.text
    known = api.client.get("/desk/sign-in", params={"error": "key_refused"})
    assert 'role="alert"' in known.text


def test_wrong_desk_sign_ins_are_throttled_with_429(db_url: str) -> None:
    with api_for(db_url, auth_failures_allowed=5) as api:
        page = api.client.get("/desk/sign-in")
        for i in range(5):
            wrong = api.client.post(
                "/desk/sign-in",
                data={"key": f"cs_{i:012x}_nope", "csrf": csrf_of(page.text)},
                follow_redirects=False,
            )
            assert wrong.status_code == 303
        refused = api.client.post(
            "/desk/sign-in",
            data={"key": api.token("desk"), "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many failed sign-ins" in refused.text or "登录失败次数过多" in refused.text


def test_an_operator_lists_sessions_and_ends_one_at_once(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sign_in(api).status_code == 303
    assert api.client.get("/desk", follow_redirects=False).status_code == 200
    key_id = api.token("desk").split("_")[1]
    cmd_sessions_list(api.settings, argparse.Namespace(subject=None, key=key_id))
    listed = capsys.readouterr().out
    (line,) = [row for row in listed.splitlines() if key_id in row]
    session_id = line.split()[0]
    assert len(session_id) == 12
    cmd_sessions_revoke(
        api.settings, argparse.Namespace(session_id=session_id, subject=None, key=None)
    )
    assert "ended 1 session(s)" in capsys.readouterr().out
    assert api.client.get("/desk", follow_redirects=False).status_code == 303  # signed out
    with pytest.raises(SystemExit):
        cmd_sessions_revoke(
            api.settings, argparse.Namespace(session_id="short", subject=None, key=None)
        )
