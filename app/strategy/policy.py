"""The contact policy: when an eligible action is not offered to a stored client.

At most `max_offers_per_period` offers of an action per client, period and channel; none for
`decline_quiet_days` after the client declined it; none while a complaint is open. A client's
history is its recorded call outcomes; an inline profile has none, so nothing is suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.rules.parameters import ActionSpec, ContactPolicySection

OFFERED = frozenset({"accepted", "declined", "call_back"})  # an offer was made on the call
COMPLAINT = ("complaint", "complaint_closed")


@dataclass(frozen=True, slots=True)
class Contact:
    action_code: str
    result: str  # a call outcome's result
    day: date


@dataclass(frozen=True, slots=True)
class History:
    """A stored client's recorded call outcomes, oldest first."""

    contacts: tuple[Contact, ...] = ()

    @property
    def complaint_open(self) -> bool:
        """The client's last complaint outcome is a complaint, not its closing."""
        marks = [c.result for c in self.contacts if c.result in COMPLAINT]
        return bool(marks) and marks[-1] == "complaint"


def suppressed(
    spec: ActionSpec,
    history: History,
    policy: ContactPolicySection,
    *,
    today: date,
    period_start: date,
    channel_of: dict[str, str],
) -> str | None:
    """Why `spec` may not be offered now, or None."""
    if policy.complaint_blocks and history.complaint_open:
        return "a complaint is open"
    quiet = today - timedelta(days=policy.decline_quiet_days)
    declined = [
        c.day for c in history.contacts if c.action_code == spec.code and c.result == "declined"
    ]
    if declined and max(declined) > quiet:
        last = max(declined).isoformat()
        return f"declined on {last}: no offer for {policy.decline_quiet_days} days"
    offers = sum(
        1
        for c in history.contacts
        if c.result in OFFERED
        and c.day >= period_start
        and channel_of.get(c.action_code) == spec.channel
        and c.action_code == spec.code
    )
    if offers >= policy.max_offers_per_period:
        return (
            f"offered {offers} time(s) by {spec.channel} this period "
            f"(at most {policy.max_offers_per_period})"
        )
    return None
