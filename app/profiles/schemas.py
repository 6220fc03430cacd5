"""What a client profile is over the wire, and the rules every field obeys."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.profiles.enums import (
    Channel,
    ClaimStatus,
    ClientKind,
    Consent,
    ContactChannel,
    Gender,
    Industry,
    Ownership,
    PolicyStatus,
    Product,
    PropertyCondition,
    Province,
)
from app.profiles.identifiers import (
    CLIENT_ID,
    PHONE,
    is_credit_code,
    is_resident_id,
    normalise_phone,
)

MAX_AGE = 120
EARLIEST_DATE = date(1900, 1, 1)


def _date_text(value: Any) -> Any:
    """A date is a `YYYY-MM-DD` string (or a date): a number is not taken as a timestamp."""
    if not isinstance(value, str | date):
        raise PydanticCustomError("date_type", "a date is a string in the form YYYY-MM-DD")
    return value


def _plausible(value: date) -> date:
    if value < EARLIEST_DATE:
        raise PydanticCustomError(
            "date_range", "date must not be before {earliest}", {"earliest": str(EARLIEST_DATE)}
        )
    if value > date.today():
        raise PydanticCustomError("date_not_in_future", "date must not be in the future")
    return value


def _finite(values: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """JSON has no NaN or Infinity: refuse them rather than store them as null."""
    pending: list[JsonValue] = list(values.values())
    while pending:
        value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError("finite_number", "NaN and Infinity are not JSON numbers")
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return values


def _age_in_range(value: int) -> int:
    age = date.today().year - value
    if not 0 <= age <= MAX_AGE:
        raise PydanticCustomError(
            "age_range", "birth year must give an age from 0 to {max_age}", {"max_age": MAX_AGE}
        )
    return value


def _unique(values: list[Product]) -> list[Product]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("unique_items", "products must not repeat")
    return values


# Numbers must be JSON numbers and flags JSON booleans: "5000" is not 5000, true is not 1.
Money = Annotated[float, Strict(), Field(ge=0, le=1e13, allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Rate = Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]
Whole = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
PastDate = Annotated[date, BeforeValidator(_date_text), AfterValidator(_plausible)]
ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID)]

PERSON_ONLY = ("birth_year", "gender", "occupation_class", "annual_income", "dependents")
COMPANY_ONLY = ("employees", "annual_revenue", "ownership")


class Personal(BaseModel):
    """Personal data, stored apart from the features and erased with the client."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    phone: (
        Annotated[str, StringConstraints(pattern=PHONE.pattern), AfterValidator(normalise_phone)]
        | None
    ) = Field(
        default=None,
        description="Stored normalised: spaces and dashes dropped, and the +86 or 0086 of a "
        "mainland mobile number (`+86 147 5774 4243` is stored as `14757744243`).",
    )
    national_id: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = Field(
        default=None,
        description="Resident identity number (individuals) or unified social credit code "
        "(companies), with a valid check character.",
    )


MAX_HOLDINGS = 50
PolicyNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9/\-]{0,31}$")]


class Policy(BaseModel):
    """One policy of the client: stored apart, listed on the desk's card."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)

    policy_number: PolicyNumber
    product: Product
    annual_premium: Money
    start_date: PastDate
    renewal_date: Annotated[date, BeforeValidator(_date_text)] | None = Field(
        default=None, description="The next renewal (may be ahead); not before start_date."
    )
    status: PolicyStatus

    @model_validator(mode="after")
    def _renewal_after_start(self) -> Policy:
        if self.renewal_date is not None and self.renewal_date < self.start_date:
            raise PydanticCustomError(
                "date_order", "{field} must not be before start_date", {"field": "renewal_date"}
            )
        return self


class Claim(BaseModel):
    """One open claim of the client."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)

    claim_number: PolicyNumber
    policy_number: PolicyNumber | None = None
    reported_on: PastDate
    amount: Money | None = Field(default=None, description="The amount claimed, in yuan.")
    status: ClaimStatus


def _unique_numbers(values: list[Any]) -> list[Any]:
    numbers = [v.claim_number if isinstance(v, Claim) else v.policy_number for v in values]
    if len(set(numbers)) != len(numbers):
        raise PydanticCustomError("unique_items", "a policy or claim number must not repeat")
    return values


class ClientProfile(BaseModel):
    """The facts an insurer holds about one client. Money is in yuan (CNY)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)

    kind: ClientKind
    birth_year: Annotated[Whole, AfterValidator(_age_in_range)] | None = None
    gender: Gender | None = None
    occupation_class: Annotated[Whole, Field(ge=1, le=6)] | None = Field(
        default=None, description="Occupation risk class 1 (office) to 6 (most hazardous)."
    )
    annual_income: Money | None = None
    dependents: Annotated[Whole, Field(ge=0, le=20)] | None = None
    province: Province | None = None
    city_tier: Annotated[Whole, Field(ge=1, le=5)] | None = None
    industry: Industry | None = None
    employees: Annotated[Whole, Field(ge=0, le=10_000_000)] | None = None
    annual_revenue: Money | None = None
    ownership: Ownership | None = None
    first_policy_date: PastDate | None = None
    products_held: Annotated[list[Product], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=len(Product)
    )
    in_force_policies: Count = 0
    annual_premium: Money = 0.0
    premium_paid_12m: Money = 0.0
    premium_discount_rate: Rate | None = None
    renewals: Count = 0
    lapses: Count = 0
    claim_count_3y: Count = 0
    claim_amount_3y: Money = 0.0
    last_purchase_date: PastDate | None = None
    last_interaction_date: PastDate | None = None
    interactions_12m: Count = 0
    complaints_12m: Count = 0
    missed_payments_12m: Count = 0
    app_logins_12m: Count = 0
    referrals: Count = 0
    channel: Channel | None = None
    campaign_target: Flag = Field(
        default=False, description="The insurer has chosen to pursue this prospect."
    )
    renewal_intent: Flag | None = None
    flood_zone: Flag | None = None
    typhoon_zone: Flag | None = None
    property_condition: PropertyCondition | None = None
    property_value: Money | None = None
    contact_consent: dict[ContactChannel, Consent] = Field(
        default_factory=dict,
        description="The client's choice per contact channel (`call`, `visit`, `sms`, `app`, "
        "`mail`): `granted` or `refused`; `call: refused` is do-not-call. No action is offered "
        "on a refused channel; a channel not named has no recorded choice.",
    )
    personal: Personal | None = None
    policies: Annotated[list[Policy], AfterValidator(_unique_numbers)] = Field(
        default_factory=list,
        max_length=MAX_HOLDINGS,
        description="The client's policies (number, product, premium, start, renewal, status): "
        "personal data, stored apart and erased with the client; NDJSON imports carry them, "
        "CSV ones do not.",
    )
    claims: Annotated[list[Claim], AfterValidator(_unique_numbers)] = Field(
        default_factory=list, max_length=MAX_HOLDINGS, description="The client's open claims."
    )
    extra: Annotated[dict[str, JsonValue], AfterValidator(_finite)] = Field(
        default_factory=dict, max_length=100
    )

    @model_validator(mode="after")
    def _consistent(self) -> ClientProfile:
        others = PERSON_ONLY if self.kind == ClientKind.corporate else COMPANY_ONLY
        for name in others:
            if getattr(self, name) is not None:
                raise PydanticCustomError(
                    "kind_mismatch",
                    "{field} does not apply to a {kind} client",
                    {"field": name, "kind": self.kind},
                )
        if (
            self.first_policy_date
            and self.last_purchase_date
            and self.last_purchase_date < self.first_policy_date
        ):
            raise PydanticCustomError(
                "date_order",
                "{field} must not be before first_policy_date",
                {"field": "last_purchase_date"},
            )
        if self.personal is not None and self.personal.national_id is not None:
            self._check_national_id(self.personal.national_id)
        return self

    def _check_national_id(self, national_id: str) -> None:
        where = {"field": "personal.national_id"}
        if self.kind == ClientKind.corporate:
            if not is_credit_code(national_id):
                raise PydanticCustomError(
                    "national_id_checksum", "not a valid unified social credit code", where
                )
            return
        if not is_resident_id(national_id):
            raise PydanticCustomError(
                "national_id_checksum", "not a valid resident identity number", where
            )
        # The number carries the birth date (digits 7-14) and the sex (digit 17, odd = male).
        if self.birth_year is not None and int(national_id[6:10]) != self.birth_year:
            raise PydanticCustomError(
                "national_id_mismatch", "the birth year in the number is not birth_year", where
            )
        male = int(national_id[16]) % 2 == 1
        if self.gender is not None and male != (self.gender == Gender.male):
            raise PydanticCustomError(
                "national_id_mismatch", "the sex digit in the number does not match gender", where
            )


class ClientCreate(ClientProfile):
    """Body of `PUT /v1/clients/{client_id}`: the whole profile, replacing what is stored."""


class ClientRead(ClientProfile):
    client_id: str
    version: int
    created_at: datetime
    updated_at: datetime


class ClientPage(BaseModel):
    items: list[ClientRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ImportLineError(BaseModel):
    line: int
    client_id: str | None
    field: str | None
    rule: str
    detail: str


class ImportReport(BaseModel):
    rows: int = Field(description="Data lines read (header and blank lines excluded).")
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ImportLineError]
    errors_truncated: bool


def profile_example() -> dict[str, Any]:
    """A realistic individual client, used in the OpenAPI docs and the tests."""
    return {
        "kind": "individual",
        "birth_year": 1984,
        "gender": "female",
        "occupation_class": 1,
        "annual_income": 320000,
        "dependents": 2,
        "province": "zhejiang",
        "city_tier": 1,
        "first_policy_date": "2016-03-01",
        "products_held": ["auto", "health", "life"],
        "in_force_policies": 3,
        "annual_premium": 18600,
        "premium_paid_12m": 18600,
        "renewals": 7,
        "lapses": 0,
        "claim_count_3y": 1,
        "claim_amount_3y": 4200,
        "last_purchase_date": "2025-03-01",
        "last_interaction_date": "2026-10-12",
        "interactions_12m": 6,
        "complaints_12m": 0,
        "missed_payments_12m": 0,
        "app_logins_12m": 24,
        "referrals": 2,
        "channel": "agent",
        "renewal_intent": True,
        "property_condition": "good",
        "personal": {"name": "王芳", "phone": "13800138000", "national_id": "330106198403150043"},
    }
