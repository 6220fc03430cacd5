"""HTTP routes of the strategy: the action catalogue and what was learned about it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CallerRead, SessionDep, StateDep
from app.api.docs import ERROR_RESPONSES
from app.api.query import Timestamp
from app.strategy import service
from app.strategy.schemas import ActionsRead, ReportRead

router = APIRouter(prefix="/v1", tags=["strategy"], responses=ERROR_RESPONSES)


@router.get("/strategy/actions", response_model=ActionsRead)
async def strategy_actions(
    state: StateDep, session: SessionDep, _caller: CallerRead
) -> ActionsRead:
    """The active ruleset's actions with their acceptance rates per segment: the recorded
    answers and accepted offers, the Beta-smoothed rate arbitration uses (starting rate x
    evidence as the prior) and its 95% credible interval."""
    return await service.actions(session, state.rules.current())


@router.get("/strategy/report", response_model=ReportRead)
async def strategy_report(
    session: SessionDep,
    _caller: CallerRead,
    since: Annotated[
        Timestamp | None, Query(description="Only offers from this time on (RFC 3339).")
    ] = None,
) -> ReportRead:
    """Per action and segment (and per action over all, segment `all`): offers, clients held
    out, answers and acceptance, and the uplift in 12-month retention of the treated over
    the control group with its 95% interval and the value it implies (docs/strategy.md)."""
    return service.report_read(await service.report(session, since=since))
