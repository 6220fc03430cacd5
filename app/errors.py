"""The service's error family. Rendered as RFC 9457 problem details by `app.api.problems`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


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


class Unavailable(ServiceError):
    status, code, title = 503, "unavailable", "Service unavailable"
