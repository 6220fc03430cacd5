"""Clients of the synthetic book as callers send them: a mix of people and companies,
clients and prospects, so classification traffic reaches every class and every model."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from app.demo.synthetic import generate_book


def book_clients(count: int, *, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """(client id, `PUT /v1/clients/{id}` body with personal data) for `count` clients."""
    book = generate_book(count, seed, as_of=date.today())
    ids = [str(client_id) for client_id in book.profiles["client_id"]]
    # Dates and lists as JSON sends them.
    return [
        (i, orjson.loads(orjson.dumps(record)))
        for i, record in zip(ids, book.records(), strict=True)
    ]


def inline_profile(body: dict[str, Any]) -> dict[str, Any]:
    """A stored client's body as an inline profile: classification takes no personal data."""
    return {field: value for field, value in body.items() if field != "personal"}
