"""The stored book as training rows: each client with an outcome row, read in one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.exc import ArgumentError, DBAPIError

from app.db.engine import sync_url
from app.errors import ServiceError
from app.profiles.tables import Client, ClientOutcome


def labelled_clients(
    url: str, inputs: Sequence[str], outcomes: Sequence[str]
) -> tuple[list[str], Sequence[Any]]:
    """The `inputs` of every client that has an outcome row, with its `observed_at` and
    `outcomes`, in client id order: column names and rows."""
    client, outcome = Client.__table__, ClientOutcome.__table__
    query = (
        select(
            *(client.c[name] for name in ("client_id", *inputs)),
            *(outcome.c[name] for name in ("observed_at", *outcomes)),
        )
        .join_from(client, outcome, client.c.client_id == outcome.c.client_id)
        .order_by(client.c.client_id)
    )
    try:
        engine = create_engine(sync_url(url))
    except (ArgumentError, ValueError) as exc:
        raise ServiceError(f"source.database_url: {exc}") from exc
    try:
        with engine.connect() as connection:
            result = connection.execute(query)
            return list(result.keys()), result.all()
    except DBAPIError as exc:
        raise ServiceError(
            f"cannot read the stored book ({exc.orig}); run `clientscore migrate`?"
        ) from exc
    finally:
        engine.dispose()
