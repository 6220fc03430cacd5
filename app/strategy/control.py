"""The control group: who is held out of an action, decided by a stable hash.

sha256 of `client id | action | period` read as a number in [0, 1): the client is held out
when it falls under the share. Every worker and every run gives the same answer; a new
period draws again. Inline profiles have no client id and are never held out.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

EPOCH = date(2000, 1, 3)  # a Monday: periods start on the same weekday


def period_of(day: date, period_days: int) -> str:
    """The first day of the period `day` falls in, as ISO text."""
    offset = (day - EPOCH).days // period_days * period_days
    return (EPOCH + timedelta(days=offset)).isoformat()


def held_out(client_id: str | None, action: str, period: str, share: float) -> bool:
    if client_id is None or share <= 0:
        return False
    digest = hashlib.sha256(f"{client_id}|{action}|{period}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
