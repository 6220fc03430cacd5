"""What the action catalogue and its learned rates are over the wire."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SegmentRate(BaseModel):
    segment: str = Field(description="The client's segment when offered, e.g. `high/at_risk`.")
    answered: int = Field(description="Offers answered (accepted or declined).")
    accepted: int
    rate: float = Field(description="Beta posterior mean: the acceptance arbitration uses.")
    low: float = Field(description="95% credible interval, lower bound.")
    high: float = Field(description="95% credible interval, upper bound.")


class ActionRates(BaseModel):
    code: str
    title_en: str
    channel: str
    cost: float | None
    weight: float
    value: str = Field(description="The value formula (docs/strategy.md).")
    starting_acceptance: float
    evidence: float = Field(description="How many outcomes the starting rate counts as.")
    prior: SegmentRate = Field(description="A segment without answers: the starting rate.")
    segments: list[SegmentRate] = Field(description="Segments with recorded answers.")


class ActionsRead(BaseModel):
    ruleset: str
    segment_by: list[str]
    control_share: float
    period_days: int
    actions: list[ActionRates]
