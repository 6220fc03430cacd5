"""The client's insurance on the card: what the profile holds, its policies and open claims,
the next renewal, the last contact and an open complaint, in words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.i18n.texts import Lang, day, moment, money, t, word
from app.outcomes.schemas import OutcomeRead
from app.profiles.schemas import ClientRead

LIVE = ("in_force", "pending")  # policies whose renewal is still to come


@dataclass(frozen=True, slots=True)
class PolicyRow:
    number: str
    product: str
    premium: str
    start: str
    renewal: str
    status: str
    live: bool


@dataclass(frozen=True, slots=True)
class ClaimRow:
    number: str
    policy: str
    reported: str
    amount: str
    status: str


@dataclass(frozen=True, slots=True)
class ComplaintNote:
    when: str
    note: str | None
    by: str | None


@dataclass
class Insurance:
    """The card's insurance column: facts, then the lists."""

    facts: list[str]
    last_contact: str
    next_renewal: str | None
    policies: list[PolicyRow] = field(default_factory=list)
    claims: list[ClaimRow] = field(default_factory=list)
    complaint: list[ComplaintNote] = field(default_factory=list)  # an open complaint's records


def next_renewal(profile: ClientRead, today: date) -> date | None:
    """The earliest renewal to come of a policy in force (or about to be)."""
    ahead = [
        p.renewal_date
        for p in profile.policies
        if p.renewal_date is not None and p.renewal_date >= today and str(p.status) in LIVE
    ]
    return min(ahead, default=None)


def _counted(lang: Lang, key: str, n: int) -> str:
    return t(lang, f"{key}_one") if n == 1 else t(lang, key, n=n)


def _facts(lang: Lang, profile: ClientRead) -> list[str]:
    facts = [
        _counted(lang, "in_force", profile.in_force_policies),
        t(lang, "premium", amount=money(lang, profile.annual_premium)),
    ]
    claims = _counted(lang, "claims_3y", profile.claim_count_3y)
    if profile.claim_count_3y:
        claims += f" ({money(lang, profile.claim_amount_3y)})"
    facts.append(claims)
    if profile.complaints_12m:
        facts.append(_counted(lang, "complaints_12m", profile.complaints_12m))
    return facts


def _last_contact(lang: Lang, profile: ClientRead, calls: Sequence[OutcomeRead]) -> str:
    """The latest call recorded (when, the call channel, its outcome), or else the last
    interaction date the profile holds (its channel and outcome are not known)."""
    call = calls[0] if calls else None
    on_file = profile.last_interaction_date
    if call is not None and (on_file is None or call.recorded_at.date() >= on_file):
        return t(
            lang,
            "last_call",
            when=moment(lang, call.recorded_at),
            channel=t(lang, "channel_call"),
            result=t(lang, call.result.value),
        )
    if on_file is not None:
        return t(lang, "last_interaction", when=day(lang, on_file))
    return t(lang, "no_contact")


def build(
    lang: Lang,
    profile: ClientRead,
    *,
    calls: Sequence[OutcomeRead],
    complaint: Sequence[OutcomeRead],
    today: date,
) -> Insurance:
    """`calls`: the client's recorded outcomes, newest first; `complaint`: the records of its
    open complaint, oldest first (none when no complaint is open)."""
    renewal = next_renewal(profile, today)
    return Insurance(
        facts=_facts(lang, profile),
        last_contact=_last_contact(lang, profile, calls),
        next_renewal=day(lang, renewal) if renewal else None,
        policies=[
            PolicyRow(
                p.policy_number,
                word(lang, str(p.product)),
                money(lang, p.annual_premium),
                day(lang, p.start_date),
                day(lang, p.renewal_date) if p.renewal_date else "-",
                t(lang, f"policy_{p.status}"),
                str(p.status) in LIVE,
            )
            for p in profile.policies
        ],
        claims=[
            ClaimRow(
                c.claim_number,
                c.policy_number or "-",
                day(lang, c.reported_on),
                money(lang, c.amount) if c.amount is not None else "-",
                t(lang, f"claim_{c.status}"),
            )
            for c in profile.claims
        ],
        complaint=[
            ComplaintNote(moment(lang, r.recorded_at), r.note, r.recorded_by_name)
            for r in complaint
        ],
    )
