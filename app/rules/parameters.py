"""`ruleset.yaml`: the ruleset's parameters and its catalogue of actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class ActionSpec(_Strict):
    """An action of the catalogue: its stable code, titles and call script."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    script: ActionScript


class RulesetDocument(_Strict):
    """The parsed `ruleset.yaml`. Actions are listed in priority order."""

    description: str = ""
    clv: ClvSection
    abc: AbcSection
    actions: list[ActionSpec] = Field(min_length=1)

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
