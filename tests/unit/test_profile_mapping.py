"""A stored client read back: every field given, none left to pydantic's default factories.

`model_construct` works out a missing field's factory signature with `inspect` on every call
(hundreds of microseconds a read on the classification's hot path), so `to_read` gives each
field itself; the values are the ones the factories would have made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from app.profiles import mapping
from app.profiles.schemas import ClientRead


def _stored() -> Any:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    fields: dict[str, Any] = dict.fromkeys(mapping.PROFILE_FIELDS)
    fields.update(
        kind="individual", products_held=[], contact_consent={}, extra={}, in_force_policies=0
    )
    return SimpleNamespace(**fields, client_id="C-1", version=1, created_at=now, updated_at=now)


def test_no_field_is_left_to_a_default_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    given: dict[str, Any] = {}
    construct = ClientRead.model_construct

    def spy(**values: Any) -> ClientRead:
        given.update(values)
        return construct(**values)

    monkeypatch.setattr(ClientRead, "model_construct", spy)
    read = mapping.to_read(_stored(), None)
    factories = {n for n, f in ClientRead.model_fields.items() if f.default_factory is not None}
    assert factories <= set(given)
    assert read.policies == []
    assert read.claims == []
