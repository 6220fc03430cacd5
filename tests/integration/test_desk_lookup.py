"""Finding the caller: a phone number in any usual form, a client id in any case, a name
(prefix; fuzzy on PostgreSQL), a one-character name, the choice list."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.profiles.schemas import profile_example
from tests.integration.conftest import Api
from tests.integration.test_desk import sign_in
from tests.integration.test_outcomes_api import api, calibrated_rules, champions, models_dir

__all__ = ["api", "calibrated_rules", "champions", "models_dir"]
FORMATS = ("+86 147 5774 4243", "147-5774-4243", "14757744243", "+8614757744243")


def put(api: Api, client_id: str, **changes: Any) -> None:
    body = profile_example() | changes
    stored = api.client.put(f"/v1/clients/{client_id}", json=body, headers=api.auth())
    assert stored.status_code in {200, 201}, stored.text


def landed(api: Api, query: dict[str, str]) -> str:
    response = api.client.get("/desk", params=query, follow_redirects=False)
    if response.status_code == 303:
        return str(response.headers["location"])
    return str(response.text)


def test_a_phone_number_in_four_forms_finds_the_same_client(api: Api) -> None:
    put(api, "S0000042", personal={"name": "张伟", "phone": "+86 147-5774-4243"})
    sign_in(api)
    for number in FORMATS:
        assert landed(api, {"q": number}) == "/desk/clients/S0000042", number
        assert landed(api, {"phone": number}) == "/desk/clients/S0000042", number


def test_a_client_id_is_found_in_any_case_and_a_name_by_its_start(api: Api) -> None:
    put(api, "S0000042", personal={"name": "欧阳娜娜"})
    put(api, "S0000043", personal={"name": "Wang Fang"})
    sign_in(api)
    assert landed(api, {"q": "s0000042"}) == "/desk/clients/S0000042"
    assert landed(api, {"client_id": "s0000042"}) == "/desk/clients/S0000042"
    assert landed(api, {"q": "欧阳"}) == "/desk/clients/S0000042"
    assert landed(api, {"q": "Wang"}) == "/desk/clients/S0000043"
    missing = landed(api, {"q": "司马"})
    assert 'id="no-client"' in missing


def test_a_one_character_name_gets_a_hint_not_a_search(api: Api) -> None:
    put(api, "S0000042", personal={"name": "王芳"})
    sign_in(api)
    hinted = landed(api, {"q": "王"})
    assert 'id="search-hint"' in hinted
    assert "至少输入 2 个字" in hinted
    assert "/desk/clients/S0000042" not in hinted


def test_a_fuzzy_name_is_found_on_postgres_only(api: Api) -> None:
    put(api, "S0000043", personal={"name": "Wang Xiaoming"})
    sign_in(api)
    found = landed(api, {"q": "Wang Xaoming"})
    if "postgresql" in api.url:
        assert found == "/desk/clients/S0000043"
    else:
        assert 'id="no-client"' in found  # SQLite: names by their start only


def test_the_choice_for_a_shared_number_shows_age_and_place(api: Api) -> None:
    put(api, "F-1", personal={"name": "李华", "phone": "13900139000"}, birth_year=1960)
    put(api, "F-2", personal={"name": "李华", "phone": "139-0013-9000"}, birth_year=1990,
        province="sichuan", city_tier=2)  # fmt: skip
    sign_in(api)
    choice = landed(api, {"phone": "13900139000"})
    assert 'id="choices"' in choice
    assert "浙江 1线城市" in choice
    assert "四川 2线城市" in choice
    assert f"{date.today().year - 1960} 岁" in choice
    assert f"{date.today().year - 1990} 岁" in choice
