"""What a classification is over the wire: the requests, the result, the batch and the history.

The result is built as plain data by `results` (and serialised with orjson on the hot path);
these models describe it in the OpenAPI docs and the tests check responses against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from app.profiles.schemas import ClientId, ClientProfile, profile_example
from app.rules.outcome import (
    AbcGrade,
    GroupScale,
    LifecycleStage,
    ProspectGrade,
    RiskTier,
    ValueTier,
)

MAX_BATCH = 1000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: ClientProfile | None = Field(
        default=None, description="An inline profile: classified, never stored nor audited."
    )
    client_id: ClientId | None = Field(
        default=None, description="A stored client: classified and recorded in the audit trail."
    )

    @model_validator(mode="after")
    def _one_subject(self) -> _Request:
        if (self.profile is None) == (self.client_id is None):
            raise PydanticCustomError(
                "one_of", "give exactly one of profile and client_id", {"field": "profile"}
            )
        return self


class ClassifyItem(_Request):
    """One item of a batch: an inline profile or a stored client's id."""


class ClassifyRequest(_Request):
    """Body of `POST /v1/classify`."""

    explain: StrictBool = Field(default=True, description="Add the reasons (costs ~1 ms more).")


class BatchRequest(BaseModel):
    """Body of `POST /v1/classify:batch`. Items are checked one by one: a bad item gets its
    own problem entry and the others are still classified."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, JsonValue]] = Field(min_length=1, max_length=MAX_BATCH)
    explain: StrictBool = Field(default=False, description="Add the reasons to every result.")


class ValueRead(BaseModel):
    tier: ValueTier
    grade: AbcGrade | None = Field(
        description="ABC grade by CLV percentile in the book; null for prospects and former "
        "clients, who are not in the book."
    )
    clv: float = Field(description="Customer lifetime value, yuan (a prospect's: expected).")
    percentile: float | None = Field(description="CLV percentile in the book, 0-100; clients.")


class RiskRead(BaseModel):
    tier: RiskTier
    expected_claim_frequency: float | None = Field(description="Expected claims per year.")
    expected_loss_ratio: float | None = Field(description="Expected claims cost / premium.")


class LifecycleRead(BaseModel):
    stage: LifecycleStage
    lapse_probability_12m: float | None = Field(description="Clients with a policy in force.")
    purchase_probability: float | None = Field(description="Prospects: first purchase in 6 months.")
    prospect_grade: ProspectGrade | None


class SegmentRead(BaseModel):
    scale: GroupScale | None = Field(description="China 2011 SME standard; null if unknown.")
    ownership: str | None
    industry: str | None


class ActionRead(BaseModel):
    """An action offered; the numbers are null in records made before actions were ranked."""

    code: str
    title_zh: str
    title_en: str
    reason_zh: str
    reason_en: str
    channel: str | None = Field(default=None, description="call, visit, sms, app or mail.")
    priority: float | None = Field(
        default=None, description="expected_value x the action's business weight; ranks actions."
    )
    expected_value: float | None = Field(default=None, description="acceptance x value, yuan.")
    acceptance: float | None = Field(
        default=None, description="P(accept | action, segment): learned, Beta-smoothed."
    )
    value: float | None = Field(default=None, description="The action's value formula, yuan.")
    held_out: bool = Field(
        default=False,
        description="In this action's control group this period: do not offer it.",
    )
    why: str | None = Field(default=None, description="How the priority was reached.")


class OtherActionRead(BaseModel):
    code: str
    channel: str
    priority: float
    expected_value: float


class SuppressedActionRead(BaseModel):
    code: str
    channel: str
    why: str = Field(description="The contact policy's reason not to offer it now.")


class ArbitrationRead(BaseModel):
    segment: str = Field(description="The segment acceptance is learned in, e.g. `high/at_risk`.")
    period: str = Field(description="First day of the contact period (control group, caps).")
    others: list[OtherActionRead] = Field(description="Eligible actions below the top N.")
    suppressed: list[SuppressedActionRead] = Field(
        description="Eligible actions the contact policy holds back."
    )


class FactorRead(BaseModel):
    feature: str
    value: str | float | int | None = Field(description="The feature's value for this client.")
    contribution: float = Field(description="TreeSHAP, raw scale: > 0 raises the prediction.")
    text_zh: str
    text_en: str


class ReasonsRead(BaseModel):
    risk: list[FactorRead] = Field(description="Claims model: the top factors.")
    lifecycle: list[FactorRead] = Field(description="Lapse model (clients) or propensity model.")


class RuleFiredRead(BaseModel):
    table: str
    rule_id: str
    row: int
    description: str


class VersionsRead(BaseModel):
    models: dict[str, str]
    ruleset: str


class Classification(BaseModel):
    """One client's classification. Holds no personal data (name, phone, id number)."""

    client_id: str | None = Field(description="The stored client's id; null for a profile.")
    value: ValueRead
    risk: RiskRead
    lifecycle: LifecycleRead
    segment: SegmentRead | None = Field(description="Corporate clients only.")
    strategy: list[ActionRead] = Field(
        description="The top actions (a setting, 3 by default), by priority: acceptance x "
        "value x weight among the actions the strategy table makes eligible."
    )
    arbitration: ArbitrationRead | None = Field(
        default=None, description="The other eligible actions; null in older records."
    )
    reasons: ReasonsRead | None = Field(description="With `explain` only.")
    rules_fired: list[RuleFiredRead]
    versions: VersionsRead
    request_id: str
    classified_at: datetime


class ProblemRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BatchItemRead(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    status: int = Field(description="200, or the status the item alone would have had.")
    result: Classification | None = None
    problem: ProblemRead | None = None


class BatchRead(BaseModel):
    request_id: str
    classified: int
    failed: int
    items: list[BatchItemRead]


class AuditRecord(BaseModel):
    """One recorded classification of a stored client."""

    audit_id: int
    client_id: str | None
    client_version: int | None = Field(description="The profile version that was classified.")
    key_id: str = Field(description="The caller's API key id.")
    request_id: str
    input_fingerprint: str | None = Field(description="sha256 of the profile classified.")
    classified_at: datetime
    result: Classification


class AuditPage(BaseModel):
    items: list[AuditRecord]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


def _inline_example() -> dict[str, Any]:
    example = profile_example()
    example.pop("personal")
    return example


CLASSIFY_EXAMPLES: dict[str, Any] = {
    "inline profile": {"value": {"profile": _inline_example()}},
    "stored client": {"value": {"client_id": "C-000123", "explain": True}},
}
BATCH_EXAMPLES: dict[str, Any] = {
    "mixed": {
        "value": {
            "items": [{"client_id": "C-000123"}, {"profile": _inline_example()}],
            "explain": False,
        }
    }
}
