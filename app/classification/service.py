"""Classification use cases: one client, a batch, a stored client, and its history.

A request takes its models and ruleset once (`Context`), so a champion promoted or a ruleset
activated meanwhile never mixes into it. Stored clients are recorded in the audit trail in
the request's transaction: a 200 means the record is stored. Inline profiles are not
recorded: nothing of them is stored, and there is no client to link a record to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.classification import batch, repository
from app.classification.monitor import Monitor
from app.classification.schemas import (
    AuditPage,
    AuditRecord,
    BatchRequest,
    ClassifyItem,
    ClassifyRequest,
)
from app.classification.tables import ClassificationAudit
from app.errors import FieldError, NotFound, ServiceError, ValidationFailed
from app.profiles.mapping import PROFILE_FIELDS
from app.profiles.schemas import ClientProfile, ClientRead
from app.profiles.validation import field_errors
from app.rules.ruleset import Ruleset
from app.serving.predictor import Champions

PROBLEM_TYPE = "urn:clientscore:problem:"  # as app.api.problems renders whole responses
STAMPS = ("client_id", "request_id", "classified_at")


@dataclass(frozen=True, slots=True)
class Context:
    """What one request classifies with and who asked."""

    champions: Champions
    ruleset: Ruleset
    request_id: str
    key_id: str
    at: datetime
    monitor: Monitor

    def classify(self, profiles: list[ClientProfile], explain: bool) -> list[dict[str, Any]]:
        results = batch.classify_profiles(
            profiles,
            champions=self.champions,
            ruleset=self.ruleset,
            as_of=self.at.date(),
            explain=explain,
        )
        self.monitor.classified(self.champions, results)
        return results

    async def record(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """The audit rows, in the request's transaction; a failure is counted, then raised."""
        try:
            await repository.record(session, rows)
        except Exception:
            self.monitor.audit_failed(len(rows))
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


def input_fingerprint(profile: ClientProfile) -> str:
    """sha256 of the profile facts classified (personal data is not part of them)."""
    return hashlib.sha256(
        orjson.dumps([getattr(profile, name) for name in PROFILE_FIELDS])
    ).hexdigest()


async def _stored(session: AsyncSession, client_id: str) -> ClientRead:
    found = await repository.stored_profiles(session, [client_id])
    if client_id not in found:
        raise NotFound(f"no client with id '{client_id}'")
    return found[client_id]


async def classify_stored(
    session: AsyncSession, context: Context, *, client_id: str, explain: bool
) -> dict[str, Any]:
    """Classify a stored client and record it in the audit trail."""
    profile = await _stored(session, client_id)
    (result,) = context.classify([profile], explain)
    await context.record(session, [context.audit_row(profile, result)])
    return context.stamped(result, client_id)


async def classify(
    sessions: async_sessionmaker[AsyncSession], context: Context, request: ClassifyRequest
) -> dict[str, Any]:
    """A stored client in one transaction with its audit row; an inline profile without
    touching the database."""
    if request.client_id is not None:
        async with sessions() as session, session.begin():
            return await classify_stored(
                session, context, client_id=request.client_id, explain=request.explain
            )
    assert request.profile is not None  # the request model requires one of the two
    (result,) = context.classify([request.profile], request.explain)
    return context.stamped(result, None)


def problem(exc: ServiceError) -> dict[str, Any]:
    """An RFC 9457 problem document for one batch item."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + exc.code,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "code": exc.code,
    }
    if exc.errors:
        body["errors"] = [
            {"field": e.field, "location": e.location, "rule": e.rule, "detail": e.detail}
            for e in exc.errors
        ]
    return body


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


async def classify_batch(
    sessions: async_sessionmaker[AsyncSession], context: Context, body: BatchRequest
) -> dict[str, Any]:
    """Every item classified in one vectorised pass; a bad item gets its own problem. The
    database is used, in one transaction, only when items name stored clients."""
    parsed = [_parse(i, raw) for i, raw in enumerate(body.items)]
    ids = [p.client_id for p in parsed if isinstance(p, ClassifyItem) and p.client_id]
    if not ids:
        return _batch(context, body, parsed, {})[0]
    async with sessions() as session, session.begin():
        answer, audit = _batch(
            context, body, parsed, await repository.stored_profiles(session, ids)
        )
        await context.record(session, audit)
    return answer


def _batch(
    context: Context,
    body: BatchRequest,
    parsed: list[ClassifyItem | ServiceError],
    stored: dict[str, ClientRead],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The batch's answer and the audit rows of its stored clients."""
    subjects = _subjects(parsed, stored)
    profiles = [s for s in subjects if isinstance(s, ClientProfile)]
    results = iter(context.classify(profiles, body.explain))
    items: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for index, subject in enumerate(subjects):
        if isinstance(subject, ServiceError):
            items.append({"index": index, "status": subject.status, "problem": problem(subject)})
            continue
        result = next(results)
        client_id = subject.client_id if isinstance(subject, ClientRead) else None
        if isinstance(subject, ClientRead):
            audit.append(context.audit_row(subject, result))
        items.append({"index": index, "status": 200, "result": context.stamped(result, client_id)})
    failed = sum(1 for item in items if item["status"] != 200)
    answer = {
        "request_id": context.request_id,
        "classified": len(items) - failed,
        "failed": failed,
        "items": items,
    }
    return answer, audit


def _encode_cursor(audit_id: int) -> str:
    return base64.urlsafe_b64encode(str(audit_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            "cursor is not one this service issued",
            errors=[FieldError("cursor", "invalid_cursor", "not a cursor of this list", "query")],
        ) from None


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
    session: AsyncSession,
    *,
    client_id: str,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    """A stored client's recorded classifications, newest first."""
    await _stored(session, client_id)
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
        before_id=_decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [_record(row) for row in rows[:limit]]
    next_cursor = _encode_cursor(items[-1].audit_id) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)
