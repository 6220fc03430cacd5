"""An in-process client of the real app on a real database, with keys per scope."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from app.auth import service as keys
from app.db.engine import create_engine_for, create_sessionmaker
from app.main import create_app
from app.settings import Settings


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


@contextmanager
def api_for(url: str, **overrides: object) -> Iterator[Api]:
    """The app on `url` with some settings changed, e.g. `auth_disabled=True`."""
    settings = Settings.model_validate({"database_url": url, **overrides})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client=client, settings=settings, url=url)


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with api_for(db_url) as built:
        yield built
