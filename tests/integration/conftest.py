"""An in-process client of the real app on a real database, with keys per scope.

The app (its lifespan loads the models and the ruleset, and runs the ruleset's cases) is
started once per test module and backend; each test gets it on empty tables, with keys of
its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth import service as keys
from app.db.engine import create_engine_for, create_sessionmaker
from app.main import create_app
from app.profiles.schemas import profile_example
from app.settings import Settings
from tests.conftest import empty_tables


def make_key(settings: Settings, *scopes: str, name: str = "test") -> str:
    async def work() -> str:
        engine = create_engine_for(settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                issued = await keys.create_key(session, name=name, scopes=list(scopes))
                return issued.token
        finally:
            await engine.dispose()

    return asyncio.run(work())


@dataclass
class Api:
    client: TestClient
    settings: Settings
    url: str
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, scope: str) -> str:
        if scope not in self._tokens:
            self._tokens[scope] = make_key(self.settings, scope)
        return self._tokens[scope]

    def auth(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scope)}"}

    def on_empty_tables(self) -> Api:
        """This app for a new test: tables emptied, so the keys minted before are gone."""
        empty_tables(self.url)
        return replace(self, _tokens={})


@contextmanager
def api_for(url: str, **overrides: object) -> Iterator[Api]:
    """The app on `url` with some settings changed, e.g. `auth_disabled=True`."""
    settings = Settings.model_validate({"database_url": url, **overrides})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client=client, settings=settings, url=url)


def stored_and_classified(api: Api, client_id: str) -> dict[str, Any]:
    """Stores the example profile as `client_id` and classifies it (recorded in the audit)."""
    stored = api.client.put(f"/v1/clients/{client_id}", json=profile_example(), headers=api.auth())
    assert stored.status_code in {200, 201}, stored.text
    response = api.client.get(
        f"/v1/clients/{client_id}/classification", headers=api.auth("classify")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def module_api(backend_url: str) -> Iterator[Api]:
    with api_for(backend_url) as built:
        yield built


@pytest.fixture
def api(module_api: Api) -> Api:
    return module_api.on_empty_tables()
