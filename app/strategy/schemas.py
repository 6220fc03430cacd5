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


class UpliftRead(BaseModel):
    treated: int = Field(description="Offered clients with a recorded 12-month outcome.")
    treated_retention: float | None
    control: int = Field(description="Held-out clients with a recorded 12-month outcome.")
    control_retention: float | None
    estimate: float | None = Field(description="Treated retention - control retention.")
    low: float | None = Field(description="95% interval (Agresti-Caffo), lower bound.")
    high: float | None


class ReportRowRead(BaseModel):
    action_code: str
    segment: str = Field(description="A segment, or `all` for the action over all segments.")
    offers: int = Field(description="Clients offered the action (once per client and period).")
    held_out: int = Field(description="Clients held out of it (the control group).")
    answered: int
    accepted: int
    acceptance: float | None
    uplift: UpliftRead
    implied_value: float | None = Field(description="Uplift x the treated clients' CLV, yuan.")


class ReportRead(BaseModel):
    rows: list[ReportRowRead]
