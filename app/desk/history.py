"""The card's history: what happened to the client, not every classification.

The calls recorded (each answer, callback and complaint, with its note and who recorded
it) and the changes of class found in the audit trail: a page view or an API batch that
classifies the client the same way again is not an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.classification.service import Classes
from app.i18n.texts import Lang, moment, t
from app.outcomes.schemas import OutcomeRead
from app.rules.parameters import ActionSpec


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    when: str
    action: str
    result: str
    note: str | None
    by: str | None = None
    callback: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A change of class, or the first classification on record."""

    when: str
    text: str


def _classes(lang: Lang, record: Classes) -> tuple[str, str, str]:
    return (
        f"{t(lang, 'value')} {t(lang, f'tier_{record.value_tier}')}",
        f"{t(lang, 'risk')} {t(lang, f'tier_{record.risk_tier}')}",
        t(lang, f"stage_{record.lifecycle_stage}"),
    )


def tier_changes(lang: Lang, records: Sequence[Classes], limit: int) -> list[ChangeRow]:
    """Newest first: each classification whose classes differ from the one before it (as
    `old → new`), then the oldest of `records` as where the record starts."""
    rows = []
    shown = [_classes(lang, record) for record in records]
    for index in range(len(records) - 1):
        new, old = shown[index], shown[index + 1]
        if new == old:
            continue
        moved = [f"{a} → {b}" if a != b else "" for a, b in zip(old, new, strict=True)]
        rows.append(
            ChangeRow(
                moment(lang, records[index].classified_at),
                t(lang, "list_separator").join(m for m in moved if m),
            )
        )
    if records:
        rows.append(
            ChangeRow(
                moment(lang, records[-1].classified_at),
                t(lang, "classified_as", classes=" · ".join(shown[-1])),
            )
        )
    return rows[:limit]


def _title(lang: Lang, catalogue: Mapping[str, ActionSpec], code: str | None) -> str:
    if code is None:
        return t(lang, "complaint_topic")
    spec = catalogue.get(code)
    return (spec.zh if lang == "zh" else spec.en) if spec else code


def outcome_rows(
    lang: Lang, outcomes: Sequence[OutcomeRead], catalogue: Mapping[str, ActionSpec]
) -> list[OutcomeRow]:
    return [
        OutcomeRow(
            moment(lang, o.recorded_at),
            _title(lang, catalogue, o.action_code),
            t(lang, o.result.value),
            o.note,
            o.recorded_by_name,
            moment(lang, o.callback_at) if o.callback_at else None,
        )
        for o in outcomes
    ]
