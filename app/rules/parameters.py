"""`ruleset.yaml`: the ruleset's parameters and its catalogue of actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.rules.formula import Formula

Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(gt=0, lt=1)]


@dataclass(frozen=True, slots=True)
class SegmentCosts:
    """Yearly costs of serving one client of a segment (individual or corporate), in yuan."""

    service_cost_per_year: float
    average_claim_amount: float
    first_year_premium: float  # what a prospect's first policy typically costs


@dataclass(frozen=True, slots=True)
class SegmentRetention:
    """A segment's shifted-beta-geometric retention curve (`clientscore train`, task retention)."""

    alpha: float
    beta: float


@dataclass(frozen=True, slots=True)
class ClvParameters:
    horizon_years: int
    discount_rate: float
    expense_ratio: float  # acquisition, commission and administration, as a share of premium
    segments: Mapping[str, SegmentCosts]  # keyed by client kind
    # Segments with a retention curve: survival rises with tenure (docs/rules.md, CLV).
    retention: Mapping[str, SegmentRetention] = field(default_factory=dict)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentSection(_Strict):
    service_cost_per_year: Money
    average_claim_amount: Money
    first_year_premium: Money


class RetentionSection(_Strict):
    alpha: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    beta: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ClvSection(_Strict):
    horizon_years: Annotated[int, Field(ge=1, le=50)]
    discount_rate: Annotated[float, Field(ge=0, lt=1)]
    expense_ratio: Annotated[float, Field(ge=0, lt=1)]
    segments: dict[Literal["individual", "corporate"], SegmentSection]
    retention: dict[Literal["individual", "corporate"], RetentionSection] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _both_segments(self) -> ClvSection:
        missing = {"individual", "corporate"} - set(self.segments)
        if missing:
            raise ValueError(f"segments needs {' and '.join(sorted(missing))}")
        return self


class AbcSection(_Strict):
    """Shares of the book graded A and B; the rest is C."""

    a_share: Share
    b_share: Share

    @model_validator(mode="after")
    def _room_for_c(self) -> AbcSection:
        if self.a_share + self.b_share >= 1:
            raise ValueError("a_share + b_share must leave a share for C (sum under 1)")
        return self


class ActionScript(_Strict):
    """What an agent says to offer the action on a call, in each language."""

    zh: Annotated[str, Field(min_length=1, max_length=300)]
    en: Annotated[str, Field(min_length=1, max_length=400)]


Channel = Literal["call", "visit", "sms", "app", "mail"]
ParameterName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class ActionSpec(_Strict):
    """One action of the catalogue: what it is, how it reaches the client, what it is worth.

    `acceptance` and `evidence` are the prior of its acceptance rate: the rate it starts from,
    and how many recorded outcomes it weighs as (0: the first outcomes decide at once).
    `value` is a formula over the client's numbers, `cost` and `params` (see
    `app.rules.formula` and docs/strategy.md). `script` is what an agent says to offer it."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    script: ActionScript
    channel: Channel
    cost: Money | None = None
    weight: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0
    acceptance: Share
    evidence: Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
    value: Annotated[str, Field(min_length=1, max_length=500)]
    params: dict[ParameterName, Annotated[float, Field(allow_inf_nan=False)]] = {}

    @model_validator(mode="after")
    def _formula(self) -> ActionSpec:
        if "cost" in self.params:
            raise ValueError("params may not redefine 'cost'")
        self.formula()  # raises FormulaError (a ValueError) naming the unknown field
        return self

    def constants(self) -> dict[str, float]:
        return {"cost": self.cost or 0.0, **self.params}

    def formula(self) -> Formula:
        return Formula.parse(self.value, set(self.constants()))


SegmentDimension = Literal["value_tier", "lifecycle_stage", "risk_tier", "abc_grade"]


class StrategySection(_Strict):
    """How actions are arbitrated and measured."""

    # Acceptance is learned per action and segment: the client's values of these, joined.
    segment_by: Annotated[list[SegmentDimension], Field(min_length=1, max_length=4)] = [
        "value_tier",
        "lifecycle_stage",
    ]
    # The share of clients held out of each action (the control group), and the length of a
    # period: who is held out is drawn again each period, offers are counted per period.
    control_share: Annotated[float, Field(ge=0, le=0.5)] = 0.05
    period_days: Annotated[int, Field(ge=1, le=366)] = 30

    @model_validator(mode="after")
    def _distinct(self) -> StrategySection:
        if len(set(self.segment_by)) != len(self.segment_by):
            raise ValueError("segment_by names a dimension twice")
        return self


class ContactPolicySection(_Strict):
    """When an eligible action is not offered."""

    max_offers_per_period: Annotated[int, Field(ge=1, le=1000)] = 1  # per action and channel
    decline_quiet_days: Annotated[int, Field(ge=0, le=3650)] = 90
    complaint_blocks: bool = True  # no offer while a complaint is open


class RulesetDocument(_Strict):
    """The parsed `ruleset.yaml`. Actions are listed in priority order."""

    description: str = ""
    clv: ClvSection
    abc: AbcSection
    actions: list[ActionSpec] = Field(min_length=1)
    strategy: StrategySection = StrategySection()
    contact_policy: ContactPolicySection = ContactPolicySection()

    @model_validator(mode="after")
    def _unique_codes(self) -> RulesetDocument:
        codes = [a.code for a in self.actions]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"action codes repeat: {', '.join(repeated)}")
        return self

    def clv_parameters(self) -> ClvParameters:
        segments: dict[str, SegmentCosts] = {
            kind: SegmentCosts(**costs.model_dump()) for kind, costs in self.clv.segments.items()
        }
        return ClvParameters(
            horizon_years=self.clv.horizon_years,
            discount_rate=self.clv.discount_rate,
            expense_ratio=self.clv.expense_ratio,
            segments=segments,
            retention={
                kind: SegmentRetention(alpha=curve.alpha, beta=curve.beta)
                for kind, curve in self.clv.retention.items()
            },
        )

    def table_params(self) -> dict[str, float]:
        """What the tables read as `params.*`: the ABC cut-offs as CLV percentiles."""
        return {
            "abc_a_min_percentile": round(100.0 * (1.0 - self.abc.a_share), 9),
            "abc_b_min_percentile": round(100.0 * (1.0 - self.abc.a_share - self.abc.b_share), 9),
        }
