"""What the ruleset says about one client: plain typed data, no engine types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueTier = Literal["high", "medium", "low"]
AbcGrade = Literal["A", "B", "C"]
RiskTier = Literal["high", "medium", "low"]
LifecycleStage = Literal["non_customer", "potential", "target", "active", "at_risk", "churned"]
ProspectGrade = Literal["A", "B", "C", "D", "E"]
GroupScale = Literal["large", "medium", "small", "micro"]


@dataclass(frozen=True, slots=True)
class RuleFired:
    """One decision-table row that matched: the table, the row's id, position and description."""

    table: str
    rule_id: str
    row: int  # 1-based position in the table, as the editor shows it
    description: str


@dataclass(frozen=True, slots=True)
class Action:
    """A recommended action: a stable code, its titles, and why it applies to this client."""

    code: str
    title_zh: str
    title_en: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    value_tier: ValueTier
    abc_grade: AbcGrade
    risk_tier: RiskTier
    lifecycle_stage: LifecycleStage
    prospect_grade: ProspectGrade | None  # prospects only
    group_scale: GroupScale | None  # companies whose size facts are known
    actions: tuple[Action, ...]  # in the catalogue's priority order, each code once
    rules_fired: tuple[RuleFired, ...]
