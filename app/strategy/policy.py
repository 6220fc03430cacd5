"""The contact policy: when an eligible action is not offered to a client.

It counts contacts, never classifications: the offers presented to the client (recorded by
the desk or a channel system) and the answers recorded on calls. An action is not offered
on a channel the client refused; nor while a complaint is open; nor for
`decline_quiet_days` after the client declined it; nor once it was presented
`max_offers_per_period` times this period on its channel. A callback asked for keeps the
action on the client's card until the callback is done (a later answer to that action), the
offer limit notwithstanding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.rules.parameters import ActionSpec, ContactPolicySection

COMPLAINT = ("complaint", "complaint_closed")
CALL_BACK = "call_back"
# What closes a callback: any later answer to the action but another callback.
CALLBACK_DONE = frozenset({"accepted", "declined", "not_offered"})


@dataclass(frozen=True, slots=True)
class Contact:
    """An answer recorded on a call: a call outcome's action, result and day."""

    action_code: str
    result: str
    day: date


@dataclass(frozen=True, slots=True)
class Presented:
    """An offer presented to the client: its action, the channel it went out on, the day."""

    action_code: str
    channel: str
    day: date


@dataclass(frozen=True, slots=True)
class History:
    """What the contact policy knows of a client: its recorded answers and the offers
    presented to it (each oldest first), and the channels it refused."""

    contacts: tuple[Contact, ...] = ()
    offers: tuple[Presented, ...] = ()
    refused: frozenset[str] = frozenset()

    @property
    def complaint_open(self) -> bool:
        """The client's last complaint outcome is a complaint, not its closing."""
        marks = [c.result for c in self.contacts if c.result in COMPLAINT]
        return bool(marks) and marks[-1] == "complaint"

    def callback_pending(self, action_code: str) -> bool:
        """The client asked to be called back about the action, and that call is not done."""
        for contact in reversed(self.contacts):
            if contact.action_code != action_code:
                continue
            if contact.result == CALL_BACK:
                return True
            if contact.result in CALLBACK_DONE:
                return False
        return False

    def presented(self, action_code: str, channel: str, since: date) -> int:
        """Offers of the action presented on the channel since the day."""
        return sum(
            1
            for o in self.offers
            if o.action_code == action_code and o.channel == channel and o.day >= since
        )

    def with_refused(self, refused: frozenset[str]) -> History:
        return History(self.contacts, self.offers, refused)


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
    del channel_of  # offers carry the channel they went out on
    if spec.channel in history.refused:
        return f"the client refused contact by {spec.channel}"
    if policy.complaint_blocks and history.complaint_open:
        return "a complaint is open"
    quiet = today - timedelta(days=policy.decline_quiet_days)
    declined = [
        c.day for c in history.contacts if c.action_code == spec.code and c.result == "declined"
    ]
    if declined and max(declined) > quiet:
        last = max(declined).isoformat()
        return f"declined on {last}: no offer for {policy.decline_quiet_days} days"
    if history.callback_pending(spec.code):
        return None
    offers = history.presented(spec.code, spec.channel, period_start)
    if offers >= policy.max_offers_per_period:
        return (
            f"offered {offers} time(s) by {spec.channel} this period "
            f"(at most {policy.max_offers_per_period})"
        )
    return None
