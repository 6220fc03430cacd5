"""Between the wire schema and the stored rows: canonical form, fingerprint, ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from app.profiles.schemas import Claim, ClientProfile, ClientRead, Personal, Policy
from app.profiles.tables import Client, ClientPersonal

PERSONAL_FIELDS = ("name", "phone", "national_id")
HOLDINGS = ("policies", "claims")  # stored in tables of their own
PROFILE_FIELDS = tuple(
    name for name in ClientProfile.model_fields if name != "personal" and name not in HOLDINGS
)


@dataclass(frozen=True, slots=True)
class Holdings:
    """A client's policies and open claims, as rows of `client_policy` and `client_claim`."""

    policies: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)


def fingerprint(
    values: dict[str, Any], personal: dict[str, Any] | None, holdings: Holdings | None = None
) -> str:
    """sha256 of the stored form of a profile: equal profiles, equal fingerprints.

    Keys inside `extra` keep the order they were sent in, so the same facts sent in another
    key order count as a change (one extra version, never a lost one). A profile without
    policies or claims keeps the fingerprint it had before they were stored.
    """
    parts: list[Any] = [values, personal]
    if holdings is not None and (holdings.policies or holdings.claims):
        parts.append([holdings.policies, holdings.claims])
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def holdings_of(profile: ClientProfile) -> Holdings:
    """The profile's policies and claims as rows (without the client id)."""
    return Holdings(
        [dict(policy.__dict__) for policy in profile.policies],
        [dict(claim.__dict__) for claim in profile.claims],
    )


def to_row(client_id: str, profile: ClientProfile) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The `client` column values and the personal data (None when there is none).

    Read from the validated model's fields directly: `model_dump` would cost more than the
    validation on the bulk import path.
    """
    values = dict(profile.__dict__)
    person = values.pop("personal")
    for name in HOLDINGS:
        values.pop(name)
    personal = dict(person.__dict__) if person is not None else None
    if personal is not None and all(v is None for v in personal.values()):
        personal = None
    values["fingerprint"] = fingerprint(values, personal, holdings_of(profile))
    values["client_id"] = client_id
    return values, personal


def stamp(values: dict[str, Any], *, version: int, now: datetime, created_at: datetime) -> None:
    values["version"] = version
    values["created_at"] = created_at
    values["updated_at"] = now


def read_from(
    profile: ClientProfile,
    *,
    client_id: str,
    version: int,
    created_at: datetime,
    updated_at: datetime,
) -> ClientRead:
    """The stored view of a profile just written, without reading it back."""
    return ClientRead.model_construct(
        **dict(profile),
        client_id=client_id,
        version=version,
        created_at=_aware(created_at),
        updated_at=_aware(updated_at),
    )


class StoredClient(Protocol):
    """A stored client as the repository reads it: the ORM object or a Core row."""

    client_id: str
    version: int
    created_at: datetime
    updated_at: datetime


class StoredPersonal(Protocol):
    """A client's personal data as read: the ORM object or the personal columns of a row."""

    name: str | None
    phone: str | None
    national_id: str | None


def to_read(
    client: Client | StoredClient,
    personal: ClientPersonal | StoredPersonal | None,
    holdings: Holdings | None = None,
) -> ClientRead:
    """The stored client as read; its policies and claims only when `holdings` are given
    (the classification's hot path reads none)."""
    data: dict[str, Any] = {name: getattr(client, name) for name in PROFILE_FIELDS}
    if personal is not None:
        data["personal"] = Personal.model_construct(
            **{name: getattr(personal, name) for name in PERSONAL_FIELDS}
        )
    if holdings is not None:
        data["policies"] = [Policy.model_construct(**row) for row in holdings.policies]
        data["claims"] = [Claim.model_construct(**row) for row in holdings.claims]
    else:
        # Given, not left to their default factories: for a missing field `model_construct`
        # inspects the factory's signature on every call (about 100 µs a field, pydantic 2.14).
        data["policies"], data["claims"] = [], []
    return ClientRead.model_construct(
        **data,
        client_id=client.client_id,
        version=client.version,
        created_at=_aware(client.created_at),
        updated_at=_aware(client.updated_at),
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_profile_dict(
    client: Client, personal: ClientPersonal | None, holdings: Holdings
) -> dict[str, Any]:
    """The stored profile as JSON-ready data, the base a merge patch is applied to."""
    read = to_read(client, personal, holdings)
    return read.model_dump(mode="json", include=set(ClientProfile.model_fields))


def etag(version: int) -> str:
    return f'"{version}"'


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
