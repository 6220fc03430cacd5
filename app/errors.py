"""The service's error family and its RFC 9457 problem documents (sent by `app.api.problems`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_TYPE = "urn:clientscore:problem:"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One offending input field: where it is, the rule it broke, and a sentence for a person."""

    field: str
    rule: str
    detail: str
    location: str = "body"


class ServiceError(Exception):
    """Base of every error the service reports to a caller on purpose.

    Subclasses fix the HTTP status, a stable machine `code` and a short `title`; each raise
    gives the human `detail` and, for input errors, the offending fields.
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """This error as an RFC 9457 problem document."""
        return problem_document(
            status=self.status,
            code=self.code,
            title=self.title,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )


def problem_document(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem document, with the stable `code` and the offending fields."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body["code"] = code
    if errors:
        body["errors"] = [
            {"field": e.field, "location": e.location, "rule": e.rule, "detail": e.detail}
            for e in errors
        ]
    return body


class ValidationFailed(ServiceError):
    status, code, title = 422, "validation_failed", "Validation failed"


class Unauthorized(ServiceError):
    status, code, title = 401, "unauthorized", "Missing or invalid API key"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="clientscore"'})


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "API key lacks the required scope"


class NotFound(ServiceError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ServiceError):
    status, code, title = 409, "conflict", "Conflict"


class ModelInvalid(ServiceError):
    """A model version failed its checks on load (corrupt file, wrong features ...)."""

    status, code, title = 422, "model_invalid", "Model version refused"


class PreconditionFailed(ServiceError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class PayloadTooLarge(ServiceError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(ServiceError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class TooManyRequests(ServiceError):
    status, code, title = 429, "too_many_requests", "Too many requests"


class Unavailable(ServiceError):
    status, code, title = 503, "unavailable", "Service unavailable"


class DatabaseUnavailable(ServiceError):
    status, code, title = 503, "database_unavailable", "Database unavailable"
