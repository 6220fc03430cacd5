"""The desk's sign-in: a signed, expiring session cookie and the CSRF token of its forms.

The cookie holds the key id (never the key) and the session's CSRF token, signed with
itsdangerous; it is HttpOnly, SameSite=Strict and Secure over https. The sign-in form,
before any session, carries a token that must equal a cookie of its own (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "desk_session"
SIGN_IN_COOKIE = "desk_sign_in"
COOKIE_PATH = "/desk"


@dataclass(frozen=True, slots=True)
class DeskSession:
    key_id: str
    csrf: str

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(self.csrf, sent)


class Sessions:
    """Issues and reads session cookies signed with `secret`, valid for `minutes`."""

    def __init__(self, secret: str, minutes: int) -> None:
        self.max_age = minutes * 60
        self._signer = URLSafeTimedSerializer(secret, salt="clientscore-desk-session")

    def issue(self, key_id: str) -> tuple[DeskSession, str]:
        session = DeskSession(key_id=key_id, csrf=secrets.token_urlsafe(24))
        return session, self._signer.dumps({"k": session.key_id, "c": session.csrf})

    def read(self, cookie: str | None) -> DeskSession | None:
        """The session of a cookie this service signed and that has not expired; else None."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also an expired signature
            return None
        if not isinstance(data, dict) or not {"k", "c"} <= data.keys():
            return None
        return DeskSession(key_id=str(data["k"]), csrf=str(data["c"]))


def new_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(cookie: str | None, sent: str | None) -> bool:
    return bool(cookie) and bool(sent) and hmac.compare_digest(str(cookie), str(sent))
