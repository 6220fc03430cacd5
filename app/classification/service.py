"""Classification use cases: one client, a batch, a stored client, and its history.

A call takes its models and ruleset once (`Call.pinned`, from the `Classifier`), so a champion
promoted or a ruleset activated meanwhile never mixes into it. Stored clients are recorded in
the audit trail by its writer (`AuditTrail`), which commits the rows of concurrent calls
together and returns only once they are committed: a 200 means the record is stored. Inline
profiles are not recorded: nothing of them is stored, and there is no client to link a
record to. Services never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from app.classification import repository
from app.classification.audit import AuditTrail
from app.classification.classifier import PinnedModels
from app.classification.results import INLINE, Subject
from app.classification.schemas import (
    AuditPage,
    AuditRecord,
    BatchRequest,
    ClassifyItem,
    ClassifyRequest,
)
from app.classification.tables import ClassificationAudit
from app.db.hot import Core, Reader
from app.db.statements import Query
from app.db.unit import Session, UnitOfWork
from app.errors import FieldError, NotFound, ServiceError, ValidationFailed
from app.paging import decode_cursor, encode_cursor
from app.profiles import service as profiles
from app.profiles.enums import Consent
from app.profiles.mapping import PROFILE_FIELDS
from app.profiles.schemas import ClientProfile, ClientRead
from app.profiles.validation import field_errors
from app.strategy import repository as strategy
from app.strategy.policy import History

STAMPS = ("client_id", "request_id", "classified_at")
REFUSED = Consent.refused.value


@dataclass(frozen=True, slots=True)
class Call:
    """One call to classify: what it classifies with, who asked, and when."""

    pinned: PinnedModels
    audit: AuditTrail
    request_id: str
    key_id: str
    at: datetime

    def classify_profiles(
        self,
        profiles: list[ClientProfile],
        explain: bool,
        histories: Mapping[str, History] | None = None,
    ) -> list[dict[str, Any]]:
        """Stored clients (`ClientRead`) are arbitrated with their contact history; every
        client's refused channels are never offered an action."""
        subjects = [_subject(p, histories or {}) for p in profiles]
        return self.pinned.classify_profiles(
            profiles, as_of=self.at.date(), explain=explain, subjects=subjects
        )

    async def record(self, rows: list[dict[str, Any]]) -> None:
        """The audit rows, committed when this returns; a failure is counted, then raised."""
        try:
            await self.audit.write(rows)
        except Exception:
            if self.pinned.monitor is not None:
                self.pinned.monitor.audit_failed(len(rows))
            raise

    def stamped(self, result: dict[str, Any], client_id: str | None) -> dict[str, Any]:
        return {
            "client_id": client_id,
            **result,
            "request_id": self.request_id,
            "classified_at": self.at,
        }

    def audit_row(self, profile: ClientRead, result: dict[str, Any]) -> dict[str, Any]:
        return {
            "client_id": profile.client_id,
            "client_version": profile.version,
            "key_id": self.key_id,
            "request_id": self.request_id,
            "input_fingerprint": input_fingerprint(profile),
            "versions": result["versions"],
            "result": result,
            "classified_at": self.at,
        }


def _subject(profile: ClientProfile, histories: Mapping[str, History]) -> Subject:
    refused = frozenset(c for c, choice in profile.contact_consent.items() if choice == REFUSED)
    if isinstance(profile, ClientRead):
        history = histories.get(profile.client_id)
        if refused:
            history = (history or History()).with_refused(refused)
        return Subject(profile.client_id, history)
    return Subject(None, History(refused=refused)) if refused else INLINE


def input_fingerprint(profile: ClientProfile) -> str:
    """sha256 of the profile facts classified (personal data is not part of them)."""
    return hashlib.sha256(
        orjson.dumps([getattr(profile, name) for name in PROFILE_FIELDS])
    ).hexdigest()


async def _stored(reader: Reader, client_id: str) -> ClientRead:
    return _the_one(await profiles.stored_profiles(reader, [client_id]), client_id)


def _the_one(found: Mapping[str, ClientRead], client_id: str) -> ClientRead:
    """The stored client of that id among those read; 404 when there is none."""
    if client_id not in found:
        raise NotFound(f"no client with id '{client_id}'")
    return found[client_id]


async def classify_stored_client(
    reader: Reader, call: Call, *, client_id: str, explain: bool
) -> dict[str, Any]:
    """Classify a stored client and record it in the audit trail. The client and its contact
    history are read together: one round trip on PostgreSQL."""
    clients, history = await reader.read(
        [profiles.stored_profiles_read([client_id]), strategy.histories_read([client_id])],
    )
    profile = _the_one(profiles.stored_profiles_of(clients), client_id)
    histories = strategy.histories_of([client_id], history)
    return await classify_and_record(reader, call, profile, explain=explain, histories=histories)


async def classify_and_record(
    reader: Reader,
    call: Call,
    profile: ClientRead,
    *,
    explain: bool,
    histories: Mapping[str, History] | None = None,
) -> dict[str, Any]:
    """Classify a stored client already read (the desk's card reads it with its personal
    data, which classification never looks at, and its contact history, `histories`) and
    record it in the audit trail."""
    client_id = profile.client_id
    if histories is None:
        histories = await strategy.histories(reader, [client_id])
    (result,) = call.classify_profiles([profile], explain, histories)
    await call.record([call.audit_row(profile, result)])
    return call.stamped(result, client_id)


async def classify_request(
    unit: UnitOfWork, call: Call, request: ClassifyRequest
) -> dict[str, Any]:
    """A stored client with its audit row in the unit of work; an inline profile without
    touching the database."""
    if request.client_id is not None:
        return await classify_stored_client(
            await unit.reads(), call, client_id=request.client_id, explain=request.explain
        )
    assert request.profile is not None  # the request model requires one of the two
    (result,) = call.classify_profiles([request.profile], request.explain)
    return call.stamped(result, None)


def _parse(index: int, raw: dict[str, Any]) -> ClassifyItem | ServiceError:
    try:
        return ClassifyItem.model_validate(raw)
    except ValidationError as exc:
        errors = [
            FieldError(f"items.{index}.{e.field}".rstrip("."), e.rule, e.detail, e.location)
            for e in field_errors(exc)
        ]
        return ValidationFailed(f"item {index} is not valid", errors=errors)


def _subjects(
    parsed: list[ClassifyItem | ServiceError], stored: dict[str, ClientRead]
) -> list[ClientProfile | ServiceError]:
    """What each item classifies (a profile, a stored client) or why it cannot."""
    subjects: list[ClientProfile | ServiceError] = []
    for item in parsed:
        if isinstance(item, ServiceError):
            subjects.append(item)
        elif item.profile is not None:
            subjects.append(item.profile)
        elif item.client_id in stored:
            subjects.append(stored[item.client_id])
        else:
            subjects.append(NotFound(f"no client with id '{item.client_id}'"))
    return subjects


async def classify_batch_request(
    unit: UnitOfWork, call: Call, body: BatchRequest
) -> dict[str, Any]:
    """Every item classified in one vectorised pass; a bad item gets its own problem. The
    database is used, in the unit of work, only when items name stored clients."""
    parsed = [_parse(i, raw) for i, raw in enumerate(body.items)]
    ids = [p.client_id for p in parsed if isinstance(p, ClassifyItem) and p.client_id]
    if not ids:
        return _batch(call, body, parsed, {}, {})[0]
    reader = await unit.reads()
    stored = await profiles.stored_profiles(reader, ids)
    histories = await strategy.histories(reader, list(stored))
    answer, audit = _batch(call, body, parsed, stored, histories)
    await call.record(audit)
    return answer


def _batch(
    call: Call,
    body: BatchRequest,
    parsed: list[ClassifyItem | ServiceError],
    stored: dict[str, ClientRead],
    histories: Mapping[str, History],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The batch's answer and the audit rows of its stored clients."""
    subjects = _subjects(parsed, stored)
    profiles = [s for s in subjects if isinstance(s, ClientProfile)]
    results = iter(call.classify_profiles(profiles, body.explain, histories))
    items: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for index, subject in enumerate(subjects):
        if isinstance(subject, ServiceError):
            items.append({"index": index, "status": subject.status, "problem": subject.problem()})
            continue
        result = next(results)
        client_id = subject.client_id if isinstance(subject, ClientRead) else None
        if isinstance(subject, ClientRead):
            audit.append(call.audit_row(subject, result))
        items.append({"index": index, "status": 200, "result": call.stamped(result, client_id)})
    failed = sum(1 for item in items if item["status"] != 200)
    answer = {
        "request_id": call.request_id,
        "classified": len(items) - failed,
        "failed": failed,
        "items": items,
    }
    return answer, audit


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record(row: ClassificationAudit) -> AuditRecord:
    at = _utc(row.classified_at)
    result = {**row.result, "client_id": row.client_id, "request_id": row.request_id}
    result["classified_at"] = at
    return AuditRecord.model_validate(
        {
            "audit_id": row.audit_id,
            "client_id": row.client_id,
            "client_version": row.client_version,
            "key_id": row.key_id,
            "request_id": row.request_id,
            "input_fingerprint": row.input_fingerprint,
            "classified_at": at,
            "result": result,
        }
    )


async def history(
    session: Session,
    *,
    client_id: str,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    """A stored client's recorded classifications, newest first."""
    await _stored(Core(session), client_id)
    if since is not None and until is not None and until <= since:
        raise ValidationFailed(
            "until must be after since",
            errors=[FieldError("until", "time_range", "must be after since", "query")],
        )
    rows = await repository.history(
        session,
        client_id=client_id,
        since=_utc(since) if since else None,
        until=_utc(until) if until else None,
        before_id=decode_cursor(cursor, int) if cursor else None,
        limit=limit + 1,
    )
    items = [_record(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].audit_id) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


@dataclass(frozen=True, slots=True)
class Classes:
    """A recorded classification's classes, no more (the desk's changes of class)."""

    classified_at: datetime
    value_tier: str
    risk_tier: str
    lifecycle_stage: str


def recent_classes_read(client_id: str, limit: int) -> Query:
    """The read of a stored client's latest recorded classes (`classes_of`), without the
    rest of each result."""
    return repository.classes_read(client_id, limit)


def classes_of(rows: Sequence[Any]) -> list[Classes]:
    """The classes of the rows of `recent_classes_read`, newest first."""
    return [
        Classes(_utc(r.classified_at), r.value_tier, r.risk_tier, r.lifecycle_stage) for r in rows
    ]


async def erase_client(session: Session, *, client_id: str, if_match: str | None) -> None:
    """Erase a client for good: its audit rows are unlinked and scrubbed of what describes
    the person, then the profile and its personal data are deleted, in one transaction (a
    refused precondition rolls the scrubbing back with the rest)."""
    await repository.erase(session, client_id)
    await profiles.erase_client(session, client_id=client_id, if_match=if_match)
