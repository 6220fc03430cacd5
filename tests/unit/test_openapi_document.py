"""The OpenAPI document, byte for byte: what the request-only routes read is documented as it
was when FastAPI read their declared body and parameters (the snapshot was taken then)."""

from __future__ import annotations

import json
from pathlib import Path

from app.main import create_app
from app.settings import Settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def test_the_document_is_the_snapshot() -> None:
    app = create_app(Settings.model_validate({"database_url": "sqlite+aiosqlite:///:memory:"}))
    assert json.dumps(app.openapi(), sort_keys=False) == SNAPSHOT.read_text()
