"""HTTP routes of the strategy: the action catalogue and what was learned about it."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CallerRead, SessionDep, StateDep
from app.api.docs import ERROR_RESPONSES
from app.strategy import service
from app.strategy.schemas import ActionsRead

router = APIRouter(prefix="/v1", tags=["strategy"], responses=ERROR_RESPONSES)


@router.get("/strategy/actions", response_model=ActionsRead)
async def strategy_actions(
    state: StateDep, session: SessionDep, _caller: CallerRead
) -> ActionsRead:
    """The active ruleset's actions with their acceptance rates per segment: the recorded
    answers and accepted offers, the Beta-smoothed rate arbitration uses (starting rate x
    evidence as the prior) and its 95% credible interval."""
    return await service.actions(session, state.rules.current())
