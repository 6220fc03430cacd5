"""`clientscore demo-data`: a synthetic book stored in bulk, as the API would have stored it."""

from __future__ import annotations

import datetime
import math

import orjson
from sqlalchemy import text

from app.demo.repository import load_book
from app.demo.synthetic import generate_book
from tests.conftest import sync_engine
from tests.integration.conftest import Api

AS_OF = datetime.date(2026, 6, 30)


def scalar(url: str, sql: str) -> int:
    engine = sync_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    return int(value)


def test_bulk_load_stores_profiles_personal_data_and_outcomes_once(db_url: str) -> None:
    book = generate_book(600, seed=3, as_of=AS_OF)
    first = load_book(db_url, book, observed_at=AS_OF, batch_rows=250)
    assert (first.clients, first.stored, first.already_stored) == (600, 600, 0)
    assert scalar(db_url, "SELECT count(*) FROM client") == 600
    assert scalar(db_url, "SELECT count(*) FROM client_outcome") == 600
    with_personal = sum(
        1
        for i in range(600)
        if any(book.profiles[n][i] is not None for n in ("name", "phone", "national_id"))
    )
    assert scalar(db_url, "SELECT count(*) FROM client_personal") == with_personal
    lapses = book.outcomes["lapse_12m"]
    assert scalar(db_url, "SELECT count(*) FROM client_outcome WHERE lapse_12m = 1") == int(
        sum(1 for v in lapses if v == 1)
    )
    # A second run, and a larger book over a filled store, add only unknown client ids.
    again = load_book(db_url, book, observed_at=AS_OF)
    assert (again.stored, again.already_stored) == (0, 600)
    bigger = load_book(db_url, generate_book(700, seed=4, as_of=AS_OF), observed_at=AS_OF)
    assert (bigger.stored, bigger.already_stored) == (100, 600)
    assert scalar(db_url, "SELECT count(*) FROM client") == 700


def test_loaded_clients_read_back_and_are_unchanged_when_put_again(api: Api) -> None:
    book = generate_book(300, seed=5, as_of=AS_OF)
    load_book(api.url, book, observed_at=AS_OF)
    ids = book.profiles["client_id"]
    for i, record in enumerate(book.records(0, 60)):
        body = orjson.loads(orjson.dumps(record))  # dates and lists as JSON sends them
        stored = api.client.get(f"/v1/clients/{ids[i]}", headers=api.auth())
        assert stored.status_code == 200
        read = stored.json()
        for field, value in body.items():
            if isinstance(value, float):
                assert math.isclose(read[field], value), field
            elif field == "personal":
                assert {k: v for k, v in read[field].items() if v is not None} == value
            else:
                assert read[field] == value, field
        # Same fingerprint as the API computes: a PUT of the same facts is no change.
        put = api.client.put(f"/v1/clients/{ids[i]}", json=body, headers=api.auth())
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 1
