"""Strategy use cases: the catalogue with its learned acceptance rates, and the report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.db.base import as_utc
from app.db.statements import Query
from app.db.unit import Session
from app.rules.ruleset import Ruleset
from app.strategy import repository
from app.strategy.policy import History
from app.strategy.rates import Rate, Rates
from app.strategy.report import ReportRow, build
from app.strategy.schemas import (
    ActionRates,
    ActionsRead,
    ReportRead,
    ReportRowRead,
    SegmentRate,
    UpliftRead,
)

NO_SEGMENT = "(no answers yet)"


def contact_history_read(client_id: str) -> Query:
    """The read of a client's contact history (`contact_history_of`), to send with others."""
    return repository.histories_read([client_id])


def contact_history_of(client_id: str, rows: Sequence[Any]) -> dict[str, History]:
    return repository.histories_of([client_id], rows)


def _segment(segment: str, rate: Rate) -> SegmentRate:
    return SegmentRate(
        segment=segment,
        answered=rate.answered,
        accepted=rate.accepted,
        rate=round(rate.mean, 6),
        low=round(rate.low, 6),
        high=round(rate.high, 6),
    )


def actions_read(ruleset: Ruleset, rates: Rates) -> ActionsRead:
    document = ruleset.document
    segments: dict[str, list[str]] = {}
    for code, segment in sorted(rates.counts):
        segments.setdefault(code, []).append(segment)
    return ActionsRead(
        ruleset=ruleset.version,
        segment_by=list(document.strategy.segment_by),
        control_share=document.strategy.control_share,
        period_days=document.strategy.period_days,
        actions=[
            ActionRates(
                code=spec.code,
                title_en=spec.en,
                channel=spec.channel,
                cost=spec.cost,
                weight=spec.weight,
                value=spec.value,
                starting_acceptance=spec.acceptance,
                evidence=spec.evidence,
                prior=_segment(NO_SEGMENT, rates.rate(spec, NO_SEGMENT)),
                segments=[
                    _segment(segment, rates.rate(spec, segment))
                    for segment in segments.get(spec.code, [])
                ],
            )
            for spec in document.actions
        ],
    )


async def actions(session: Session, ruleset: Ruleset) -> ActionsRead:
    """Each action of the ruleset with its acceptance per segment, as recorded now."""
    return actions_read(ruleset, Rates(await repository.counts(session)))


async def report(session: Session, *, since: datetime | None = None) -> list[ReportRow]:
    """Per action and segment: offers, acceptance and uplift over the control group."""
    offers = await repository.recorded_offers(
        session, since=as_utc(since) if since is not None else None
    )
    return build(offers, await repository.counts(session))


def report_read(rows: list[ReportRow]) -> ReportRead:
    return ReportRead(
        rows=[
            ReportRowRead(
                action_code=r.action_code,
                segment=r.segment,
                offers=r.offers,
                held_out=r.held_out,
                answered=r.answered,
                accepted=r.accepted,
                acceptance=r.acceptance,
                uplift=UpliftRead(
                    treated=r.uplift.treated,
                    treated_retention=r.uplift.treated_rate,
                    control=r.uplift.control,
                    control_retention=r.uplift.control_rate,
                    estimate=r.uplift.estimate,
                    low=r.uplift.low,
                    high=r.uplift.high,
                ),
                implied_value=r.implied_value,
            )
            for r in rows
        ]
    )
