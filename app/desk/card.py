"""The caller's card: a stored client's profile, classification and history, in words.

Built from what the API gives (the profile, the classification of the same service, the
audit trail and the recorded outcomes) for one language; the templates only lay it out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.desk.history import ChangeRow, OutcomeRow
from app.desk.insurance import Insurance
from app.i18n.texts import Lang, day, money, number, t, word
from app.profiles.enums import Consent, ContactChannel
from app.profiles.schemas import ClientRead
from app.rules.parameters import ActionSpec

MAX_ACTIONS = 3
MAX_REASONS = 3
# The channels an agent puts to the client on this call; the others (a visit) are scheduled.
ON_THE_PHONE = frozenset({"call"})


@dataclass(frozen=True, slots=True)
class Badge:
    key: str  # value | risk | lifecycle
    label: str
    level: str  # the tier or stage code, for the badge's colour
    main: str
    details: list[str]


@dataclass(frozen=True, slots=True)
class ActionView:
    code: str
    title: str
    reason: str
    script: str
    rank: int = 0
    channel: str = ""  # in words
    why: str = ""  # why it ranks where it does: acceptance x value (x weight)
    now: bool = True  # put to the client on this call; else one to schedule (a visit...)


@dataclass(frozen=True, slots=True)
class HeldBack:
    """An eligible action the contact policy or the client's consent keeps from the call."""

    title: str
    why: str


@dataclass
class Card:
    client_id: str
    name: str
    facts: list[str]
    products: str
    channel: str | None
    badges: list[Badge]
    summary: str
    actions: list[ActionView]
    reasons: dict[str, list[str]]
    consent: str = ""
    held_back: list[HeldBack] = field(default_factory=list)
    insurance: Insurance | None = None
    changes: list[ChangeRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)
    request_id: str = ""

    @property
    def now(self) -> list[ActionView]:
        return [action for action in self.actions if action.now]

    @property
    def to_schedule(self) -> list[ActionView]:
        return [action for action in self.actions if not action.now]


def _years(since: date, today: date) -> int:
    return today.year - since.year - ((today.month, today.day) < (since.month, since.day))


def _facts(lang: Lang, profile: ClientRead, result: Mapping[str, Any], today: date) -> list[str]:
    facts = [t(lang, str(profile.kind))]
    if str(profile.kind) == "individual" and profile.birth_year is not None:
        facts.append(t(lang, "age", n=today.year - profile.birth_year))
    segment = result.get("segment") or {}
    if segment.get("scale"):
        facts.append(t(lang, f"scale_{segment['scale']}"))
    if profile.employees is not None:
        facts.append(t(lang, "employees", n=number(lang, profile.employees)))
    if profile.industry is not None:
        facts.append(word(lang, str(profile.industry)))
    if profile.first_policy_date is not None:
        years = _years(profile.first_policy_date, today)
        facts.append(
            t(lang, "new_client")
            if years < 1
            else t(lang, "tenure_one")
            if years == 1
            else t(lang, "tenure", n=years)
        )
    elif profile.in_force_policies == 0:
        facts.append(t(lang, "prospect"))
    return facts


def _badges(lang: Lang, result: Mapping[str, Any]) -> list[Badge]:
    value, risk, life = result["value"], result["risk"], result["lifecycle"]
    value_details = [f"{t(lang, 'clv')} {money(lang, value['clv'])}"]
    if value.get("grade"):
        value_details.insert(0, t(lang, "grade", g=value["grade"]))
    risk_details = []
    if risk.get("expected_claim_frequency") is not None:
        claims = number(lang, risk["expected_claim_frequency"], 2)
        risk_details.append(t(lang, "claims_year", n=claims))
    life_details = []
    if life.get("prospect_grade"):
        life_details.append(t(lang, "prospect_grade", g=life["prospect_grade"]))
    return [
        Badge("value", t(lang, "value"), value["tier"], t(lang, f"tier_{value['tier']}"),
              value_details),
        Badge("risk", t(lang, "risk"), risk["tier"], t(lang, f"tier_{risk['tier']}"),
              risk_details),
        Badge("lifecycle", t(lang, "lifecycle"), life["stage"], t(lang, f"stage_{life['stage']}"),
              life_details),
    ]  # fmt: skip


def _summary(lang: Lang, result: Mapping[str, Any], actions: Sequence[ActionView]) -> str:
    value = t(lang, f"tier_{result['value']['tier']}")
    risk = t(lang, f"tier_{result['risk']['tier']}")
    stage = t(lang, f"stage_{result['lifecycle']['stage']}")
    if lang == "zh":
        line = f"{value}价值、{risk}风险的{stage}"
        return line + (t(lang, "start_with", title=actions[0].title) if actions else "\u3002")
    line = f"A {value.lower()}-value, {risk.lower()}-risk client ({stage.lower()})"
    return line + (t(lang, "start_with", title=actions[0].title) if actions else ".")


def _value_reasons(lang: Lang, value: Mapping[str, Any]) -> list[str]:
    reasons = []
    percentile = value.get("percentile")
    if percentile is None:
        reasons.append(
            t(
                lang,
                "value_prospect"
                if value.get("grade") is None and value["tier"] == "low" and value["clv"] > 0
                else "value_former",
            )
        )
    elif percentile >= 50:
        reasons.append(t(lang, "value_top", p=max(1, round(100 - percentile))))
    else:
        reasons.append(t(lang, "value_bottom", p=max(1, round(percentile))))
    if value["clv"] < 0:
        reasons.append(t(lang, "value_negative"))
    return reasons  # fmt: skip


def _reasons(lang: Lang, result: Mapping[str, Any]) -> dict[str, list[str]]:
    explained = result.get("reasons") or {}
    text = f"text_{lang}"
    return {
        "value": _value_reasons(lang, result["value"]),
        "risk": [f[text] for f in explained.get("risk", [])[:MAX_REASONS]],
        "lifecycle": [f[text] for f in explained.get("lifecycle", [])[:MAX_REASONS]],
    }


def build(
    lang: Lang,
    *,
    profile: ClientRead,
    result: Mapping[str, Any],
    catalogue: Mapping[str, ActionSpec],
    today: date,
) -> Card:
    """The card of a client classified now (`result` is the API's classification)."""
    actions = []
    # An action held out for the control group is not offered, so not shown to the agent.
    offered = [action for action in result["strategy"] if not action.get("held_out")]
    for rank, action in enumerate(offered[:MAX_ACTIONS], start=1):
        spec = catalogue.get(action["code"])
        script = (spec.script.zh if lang == "zh" else spec.script.en) if spec else ""
        channel = str(action.get("channel") or (spec.channel if spec else "call"))
        actions.append(
            ActionView(
                action["code"],
                action[f"title_{lang}"],
                action[f"reason_{lang}"],
                script,
                rank=rank,
                channel=t(lang, f"channel_{channel}"),
                why=_why(lang, rank, action, spec.weight if spec else 1.0),
                now=channel in ON_THE_PHONE,
            )
        )
    personal = profile.personal
    products = [word(lang, str(p)) for p in profile.products_held]
    held_back = [
        HeldBack(_title(lang, catalogue, quiet["code"]), held_back_why(lang, str(quiet["why"])))
        for quiet in (result.get("arbitration") or {}).get("suppressed", [])
    ]
    return Card(
        client_id=profile.client_id,
        name=(personal.name if personal and personal.name else profile.client_id),
        facts=_facts(lang, profile, result, today),
        products=("、" if lang == "zh" else ", ").join(products) or t(lang, "no_products"),
        channel=word(lang, str(profile.channel)) if profile.channel else None,
        badges=_badges(lang, result),
        summary=_summary(lang, result, actions),
        actions=actions,
        reasons=_reasons(lang, result),
        consent=_consent(lang, profile.contact_consent),
        held_back=held_back,
        request_id=str(result["request_id"]),
    )


def _why(lang: Lang, rank: int, action: Mapping[str, Any], weight: float) -> str:
    """One sentence: the arbitration's acceptance x value (x weight) behind the rank."""
    if action.get("acceptance") is None or action.get("value") is None:
        return t(lang, "why_rule", rank=rank)
    text = t(
        lang,
        "why_rank",
        rank=rank,
        p=number(lang, 100 * float(action["acceptance"]), 0),
        value=money(lang, float(action["value"])),
        expected=money(lang, float(action.get("expected_value") or 0.0)),
    )
    if weight != 1:
        text += t(lang, "why_weight", w=number(lang, weight, 1))
    return text


# The contact policy's reasons (app/strategy/policy.py), in the desk's words.
_WHY_NOT = (
    (re.compile(r"^the client refused contact by (\w+)$"), "why_refused"),
    (re.compile(r"^a complaint is open$"), "why_complaint"),
    (re.compile(r"^declined on ([\d-]+): no offer for (\d+) days$"), "why_declined"),
    (re.compile(r"^offered (\d+) time\(s\) by (\w+) this period \(at most (\d+)\)$"),
     "why_offered"),
)  # fmt: skip


def held_back_why(lang: Lang, why: str) -> str:
    """Why an action is held back, in the language (the policy's text if it is new)."""
    for pattern, key in _WHY_NOT:
        found = pattern.match(why)
        if found is None:
            continue
        parts = found.groups()
        if key == "why_refused":
            return t(lang, key, channel=t(lang, f"channel_{parts[0]}"))
        if key == "why_declined":
            return t(lang, key, day=day(lang, date.fromisoformat(parts[0])), days=parts[1])
        if key == "why_offered":
            return t(lang, key, n=parts[0], channel=t(lang, f"channel_{parts[1]}"), most=parts[2])
        return t(lang, key)
    return why


def _title(lang: Lang, catalogue: Mapping[str, ActionSpec], code: str) -> str:
    spec = catalogue.get(code)
    return (spec.zh if lang == "zh" else spec.en) if spec else code


def _consent(lang: Lang, consent: Mapping[ContactChannel, Consent]) -> str:
    """The client's contact choices in words: do-not-call first, then each channel."""
    if not consent:
        return t(lang, "consent_none")
    parts = [t(lang, "do_not_call")] if consent.get(ContactChannel.call) == "refused" else []
    parts += [
        t(lang, f"consent_{choice}", channel=t(lang, f"channel_{channel}"))
        for channel, choice in sorted(consent.items())
        if not (channel == "call" and choice == "refused")
    ]
    return t(lang, "list_separator").join(parts)


__all__ = ["Card", "build", "day"]
