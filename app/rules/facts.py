"""What the decision tables read: one client's facts and model outputs, flat.

This is the input contract of the ruleset. Every table sees these fields by name (plus
`params` and, for the strategy table, the other tables' outputs); docs/rules.md lists them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from app.profiles.enums import Channel, Industry, Ownership, Product, PropertyCondition
from app.profiles.periods import DAYS_PER_YEAR
from app.profiles.schemas import ClientProfile

Count = Annotated[int, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ClassificationFacts(BaseModel):
    """One client as the rules see it. Counts default to 0 and unknown facts to null."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    kind: Literal["individual", "corporate"]
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    occupation_class: Annotated[int, Field(ge=1, le=6)] | None = None
    industry: Industry | None = None
    employees: Count | None = None
    annual_revenue: NonNegative | None = None
    ownership: Ownership | None = None
    channel: Channel | None = None
    has_first_policy: bool = Field(
        default=False, description="The client has ever held a policy (first_policy_date set)."
    )
    tenure_years: NonNegative | None = Field(
        default=None, description="Years since the first policy; null for a prospect."
    )
    in_force_policies: Count = 0
    products_held: tuple[Product, ...] = ()
    annual_premium: NonNegative = 0.0
    renewals: Count = 0
    lapses: Count = 0
    claim_count_3y: Count = 0
    complaints_12m: Count = 0
    missed_payments_12m: Count = 0
    interactions_12m: Count = 0
    referrals: Count = 0
    days_since_last_interaction: Count | None = None
    renewal_intent: bool | None = None
    campaign_target: bool = False
    flood_zone: bool | None = None
    typhoon_zone: bool | None = None
    property_condition: PropertyCondition | None = None
    lapse_probability: Probability | None = Field(
        default=None, description="Lapse model: P(no renewal within 12 months); clients only."
    )
    expected_claim_frequency: NonNegative | None = Field(
        default=None, description="Claims model: expected claims per year."
    )
    expected_loss_ratio: NonNegative | None = Field(
        default=None, description="Expected claims cost / annual premium; null for no premium."
    )
    purchase_probability: Probability | None = Field(
        default=None, description="Propensity model: P(first purchase); prospects only."
    )
    clv: float = Field(default=0.0, allow_inf_nan=False, description="Lifetime value, yuan.")
    clv_percentile: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = Field(
        default=0.0, description="Percentile of the CLV in the current book, 0-100."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def renewal_rate(self) -> float | None:
        """Renewals / (renewals + lapses); null before the first renewal was due."""
        return renewal_rate(self.renewals, self.lapses)


def renewal_rate(renewals: int, lapses: int) -> float | None:
    due = renewals + lapses
    return renewals / due if due else None


# Profile fields the rules read under the same name and meaning.
SAME_AS_PROFILE = (
    "kind", "occupation_class", "industry", "employees", "annual_revenue", "ownership",
    "channel", "in_force_policies", "annual_premium", "renewals", "lapses", "claim_count_3y",
    "complaints_12m", "missed_payments_12m", "interactions_12m", "referrals", "renewal_intent",
    "campaign_target", "flood_zone", "typhoon_zone", "property_condition",
)  # fmt: skip


def facts_from_profile(profile: ClientProfile, **given: Any) -> ClassificationFacts:
    """The facts of a validated profile on `as_of`, with the model outputs and CLV given (the
    keywords of `fact_values`), checked by their schema."""
    return ClassificationFacts(**fact_values(profile, **given))


def fact_values(
    profile: ClientProfile,
    *,
    as_of: date,
    lapse_probability: float | None,
    expected_claim_frequency: float | None,
    expected_loss_ratio: float | None,
    purchase_probability: float | None,
    clv: float,
    clv_percentile: float,
) -> dict[str, Any]:
    """The facts of a validated profile on `as_of` as a plain mapping, before the schema checks
    them: what the compiled tables read for one client (they check the values zen-engine would
    refuse themselves)."""
    p = profile.__dict__  # a validated profile's fields: read without pydantic in between
    first = p["first_policy_date"]
    contact = p["last_interaction_date"]
    birth_year = p["birth_year"]
    facts = {name: p[name] for name in SAME_AS_PROFILE}
    facts["age"] = as_of.year - birth_year if birth_year is not None else None
    facts["has_first_policy"] = first is not None
    facts["tenure_years"] = max((as_of - first).days, 0) / DAYS_PER_YEAR if first else None
    facts["products_held"] = tuple(p["products_held"])
    facts["days_since_last_interaction"] = max((as_of - contact).days, 0) if contact else None
    facts["lapse_probability"] = lapse_probability
    facts["expected_claim_frequency"] = expected_claim_frequency
    facts["expected_loss_ratio"] = expected_loss_ratio
    facts["purchase_probability"] = purchase_probability
    facts["clv"] = clv
    facts["clv_percentile"] = clv_percentile
    return facts
