"""The true parameters of the synthetic book, one place for the generator, the docs and the tests.

Every number here is stated with its formula in docs/synthetic-data.md; change both together.
Coefficients are on the scale of the model they enter: log-rate for claims and premium,
log-odds for lapse and purchase.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# Reference points the covariates are centred on, so that intercepts mean "a typical client".
REF_LOG_INCOME = math.log(90_000)
REF_LOG_EMPLOYEES = 3.0  # median firm of about 20 employees


@dataclass(frozen=True)
class Mix:
    corporate_share: float = 0.15
    status_shares: dict[str, float] = field(
        default_factory=lambda: {"current": 0.70, "prospect": 0.20, "former": 0.10}
    )
    # P(campaign_target | prospect) = sigmoid(intercept + slope * x), x = centred log income
    # (individuals) or centred log employees (companies): insurers pursue the richer leads.
    campaign_intercept: float = -1.0
    campaign_slope: float = 0.8
    income_missing: dict[str, float] = field(
        default_factory=lambda: {"current": 0.05, "former": 0.05, "prospect": 0.15}
    )
    national_id_missing_prospect: float = 0.6
    phone_missing: float = 0.05
    renewal_intent_asked: float = 0.35


@dataclass(frozen=True)
class Geography:
    # Population in millions (2020 census, rounded); Hong Kong, Macau and Taiwan kept rare
    # because the book is a mainland insurer's.
    province_weights: dict[str, float] = field(
        default_factory=lambda: {
            "guangdong": 126, "shandong": 102, "henan": 99, "jiangsu": 85, "sichuan": 84,
            "hebei": 74, "hunan": 66, "zhejiang": 65, "anhui": 61, "hubei": 58, "guangxi": 50,
            "yunnan": 47, "jiangxi": 45, "liaoning": 42, "fujian": 42, "shaanxi": 40,
            "guizhou": 39, "shanxi": 35, "chongqing": 32, "heilongjiang": 31, "xinjiang": 26,
            "shanghai": 25, "gansu": 25, "inner_mongolia": 24, "jilin": 24, "beijing": 22,
            "tianjin": 14, "hainan": 10, "ningxia": 7, "qinghai": 6, "tibet": 4,
            "hong_kong": 0.5, "macau": 0.1, "taiwan": 0.3,
        }
    )  # fmt: skip
    # Coastal south-east provinces get typhoons, the Yangtze basin floods.
    typhoon_provinces: tuple[str, ...] = (
        "guangdong", "fujian", "zhejiang", "hainan", "guangxi", "shanghai", "taiwan",
        "hong_kong", "macau",
    )  # fmt: skip
    flood_provinces: tuple[str, ...] = (
        "sichuan", "chongqing", "hubei", "hunan", "jiangxi", "anhui", "jiangsu", "shanghai",
    )  # fmt: skip
    typhoon_in_zone_province: float = 0.6
    flood_in_zone_province: float = 0.45
    flood_elsewhere: float = 0.05
    city_tier_probs: tuple[float, ...] = (0.12, 0.22, 0.26, 0.22, 0.18)
    tier1_provinces: tuple[str, ...] = ("beijing", "shanghai", "hong_kong", "macau")


@dataclass(frozen=True)
class People:
    age_min: int = 18
    age_span: int = 72  # age = 18 + 72 * Beta(a, b)
    age_beta: tuple[float, float] = (2.0, 3.5)
    female_share: float = 0.5
    occupation_probs: tuple[float, ...] = (0.38, 0.24, 0.16, 0.11, 0.07, 0.04)
    # log income = REF + tier[city_tier] + age_quad * (age - 45)^2 + occ * (class - 1) + N(0, sd)
    income_tier: tuple[float, ...] = (0.45, 0.25, 0.0, -0.15, -0.30)
    income_age_quad: float = -0.0006
    income_occupation: float = -0.05
    income_sd: float = 0.6
    # dependents ~ Poisson(base + peak * exp(-((age - 42) / 13)^2))
    dependents_base: float = 0.3
    dependents_peak: float = 1.3


@dataclass(frozen=True)
class Firms:
    industry_weights: dict[str, float] = field(
        default_factory=lambda: {
            "manufacturing": 0.20, "wholesale": 0.09, "retail": 0.10, "construction": 0.08,
            "software_it": 0.06, "leasing_business_services": 0.07, "catering": 0.05,
            "hospitality": 0.03, "transport": 0.05, "warehousing": 0.02, "real_estate": 0.04,
            "property_management": 0.03, "agriculture": 0.03, "mining": 0.01, "utilities": 0.01,
            "finance": 0.02, "education": 0.02, "healthcare": 0.02, "telecom": 0.01,
            "postal": 0.005, "public_administration": 0.005, "other": 0.05,
        }
    )  # fmt: skip
    # ln(employees) ~ N(REF_LOG_EMPLOYEES + shift[industry], sd): micro shops to large groups.
    log_employees_shift: dict[str, float] = field(
        default_factory=lambda: {
            "manufacturing": 0.6, "mining": 1.0, "utilities": 1.2, "construction": 0.5,
            "finance": 0.8, "telecom": 1.0, "public_administration": 1.2, "postal": 0.8,
            "transport": 0.3, "catering": -0.3, "retail": -0.3,
        }
    )  # fmt: skip
    log_employees_sd: float = 1.7
    # ln(revenue) = ln(employees) + ln(revenue per employee[industry]) + N(0, sd)
    revenue_per_employee: dict[str, float] = field(
        default_factory=lambda: {
            "wholesale": 2.5e6, "retail": 9e5, "manufacturing": 7e5, "mining": 1.2e6,
            "utilities": 1.5e6, "finance": 2e6, "real_estate": 2e6, "catering": 2e5,
            "hospitality": 2.5e5, "education": 2e5, "healthcare": 3e5, "agriculture": 2.5e5,
            "public_administration": 3e5,
        }
    )  # fmt: skip
    revenue_per_employee_default: float = 6e5
    log_revenue_sd: float = 0.7
    # Ownership logits (private = 0): larger firms are more often foreign or state-owned.
    foreign_intercept: float = -2.8
    foreign_size: float = 0.15
    state_intercept: float = -2.6
    state_size: float = 0.45
    state_heavy_industry: float = 1.5
    # Industries where large state-owned firms are common (energy, finance, networks, government).
    state_heavy_industries: tuple[str, ...] = (
        "utilities", "mining", "finance", "telecom", "postal", "public_administration",
    )  # fmt: skip


@dataclass(frozen=True)
class Policies:
    # Product choice: weighted sampling without replacement; weight = base * industry multiplier.
    individual_products: dict[str, float] = field(
        default_factory=lambda: {
            "auto": 0.30, "health": 0.22, "accident": 0.14, "life": 0.12, "property": 0.08,
            "travel": 0.05, "annuity": 0.05, "liability": 0.04,
        }
    )  # fmt: skip
    corporate_products: dict[str, float] = field(
        default_factory=lambda: {
            "group_health": 0.22, "work_injury": 0.20, "property": 0.18, "liability": 0.14,
            "auto": 0.10, "cargo": 0.08, "engineering": 0.08,
        }
    )  # fmt: skip
    # Physical-work industries need work-injury cover, services staff health cover (docs/domain.md).
    industry_product_multiplier: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "work_injury": {"manufacturing": 2.5, "mining": 2.5, "construction": 2.5},
            "group_health": {
                "software_it": 2.0, "finance": 2.0, "education": 2.0, "healthcare": 2.0,
                "telecom": 2.0, "leasing_business_services": 2.0, "real_estate": 2.0,
                "public_administration": 2.0,
            },
            "engineering": {"construction": 4.0},
            "cargo": {"transport": 4.0, "warehousing": 4.0, "wholesale": 4.0, "postal": 4.0},
        }
    )  # fmt: skip
    extra_products: dict[str, float] = field(
        default_factory=lambda: {"individual": 0.7, "corporate": 1.2}
    )  # products = 1 + Poisson(extra), at most the eligible count
    extra_policies: dict[str, float] = field(
        default_factory=lambda: {"individual": 0.2, "corporate": 0.8}
    )  # in force = products + Poisson(extra)
    # Tenure in years ~ Gamma(shape, scale); former clients: tenure at lapse, then U(0, max) since.
    tenure_current: tuple[float, float] = (1.4, 4.0)
    tenure_former: tuple[float, float] = (1.2, 2.5)
    years_since_lapse_max: float = 5.0
    renewal_prob: float = 0.92
    past_lapse_prob: float = 0.03
    former_extra_lapses: float = 0.3
    discount_beta: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"individual": (2.0, 16.0), "corporate": (3.0, 14.0)}
    )
    condition_probs: tuple[float, float, float] = (0.6, 0.3, 0.1)  # good, fair, poor
    # Home value: ln(value) = ln(home) + income_elasticity * (ln income - REF) + N(0, sd);
    # company premises: value = revenue * exp(N(ln(premises_to_revenue), premises_sd)).
    home_value: float = 1.2e6
    home_income_elasticity: float = 0.8
    home_sd: float = 0.5
    premises_to_revenue: float = 0.4
    premises_sd: float = 0.6


@dataclass(frozen=True)
class Premium:
    # ln(annual_premium) = base[segment] + ln(sum of relativities of products held)
    #   + extra_policy * (in_force - products) + size * (ln employees - REF) + N(0, sd[segment])
    base: dict[str, float] = field(
        default_factory=lambda: {"individual": math.log(2500), "corporate": math.log(40_000)}
    )
    sd: dict[str, float] = field(default_factory=lambda: {"individual": 0.45, "corporate": 0.6})
    relativity: dict[str, float] = field(
        default_factory=lambda: {
            "auto": 1.5, "health": 1.0, "accident": 0.2, "life": 3.0, "property": 0.5,
            "travel": 0.08, "annuity": 4.0, "liability": 0.3, "group_health": 1.0,
            "work_injury": 0.6, "cargo": 0.7, "engineering": 2.0,
        }
    )  # fmt: skip
    corporate_relativity_override: dict[str, float] = field(
        default_factory=lambda: {"property": 1.2, "liability": 0.4, "auto": 0.8}
    )  # fleet and premises cover cost more, relative to the corporate base
    extra_policy: float = 0.15
    size_elasticity: float = 0.7


@dataclass(frozen=True)
class Claims:
    # rate = exp(eta); eta = intercept[segment] + the terms below; claims ~ Poisson(exposure*rate)
    intercept: dict[str, float] = field(
        default_factory=lambda: {"individual": math.log(0.08), "corporate": math.log(0.30)}
    )
    occupation_class: float = 0.12  # per class above 1
    industry: dict[str, float] = field(
        default_factory=lambda: {
            "mining": 0.7, "construction": 0.55, "transport": 0.45, "manufacturing": 0.35,
            "warehousing": 0.3, "agriculture": 0.3, "catering": 0.25, "utilities": 0.2,
            "postal": 0.2, "hospitality": 0.15, "wholesale": 0.1, "healthcare": 0.1,
            "retail": 0.05, "real_estate": -0.1, "leasing_business_services": -0.1,
            "education": -0.15, "telecom": -0.2, "public_administration": -0.2,
            "software_it": -0.3, "finance": -0.3,
        }
    )  # fmt: skip
    typhoon_zone: float = 0.40
    flood_zone: float = 0.30
    condition: dict[str, float] = field(
        default_factory=lambda: {"good": 0.0, "fair": 0.20, "poor": 0.55}
    )
    young_per_decade: float = 0.25  # per decade under 30
    old_per_decade: float = 0.15  # per decade over 60
    log_policies: float = 0.5  # per ln(in_force_policies)
    log_employees: float = 0.5  # per ln(employees) above REF
    log1p_past_claims: float = 0.35  # next year only: per ln(1 + claim_count_3y)
    severity_log_mean: dict[str, float] = field(
        default_factory=lambda: {"individual": math.log(6000), "corporate": math.log(30_000)}
    )
    severity_sd: float = 1.0
    severity_poor: float = 0.3


@dataclass(frozen=True)
class Behaviour:
    # Counts ~ negative binomial: Poisson(Gamma(shape, mean / shape)).
    interactions_mean: dict[str, float] = field(
        default_factory=lambda: {"current": 3.0, "former": 0.8, "prospect": 1.5}
    )
    interactions_channel: dict[str, float] = field(
        default_factory=lambda: {
            "agent": 1.5, "broker": 1.2, "branch": 1.2, "bancassurance": 0.8,
            "telesales": 1.0, "online": 0.6,
        }
    )  # fmt: skip
    interactions_corporate: float = 1.5
    interactions_campaign: float = 2.0
    interactions_shape: float = 1.0
    # Last contact: uniform over the past 365 days when interactions_12m > 0, else
    # 366 + Exponential(mean) days ago; a prospect never contacted has none.
    older_contact_mean_days: float = 300.0
    complaints_mean: dict[str, float] = field(
        default_factory=lambda: {"current": 0.20, "former": 0.35, "prospect": 0.02}
    )
    complaints_shape: float = 0.4
    missed_mean: dict[str, float] = field(
        default_factory=lambda: {"individual": 0.35, "corporate": 0.25, "former_recent": 1.5}
    )
    missed_income: float = -0.3  # individuals: poorer clients miss more payments
    missed_shape: float = 0.5
    logins_mean: dict[str, float] = field(
        default_factory=lambda: {"current": 8.0, "former": 0.5, "prospect": 1.0}
    )
    logins_online: float = 2.5
    logins_age: float = -0.02  # per year of age above 40
    logins_corporate: float = 0.5
    logins_shape: float = 0.8
    referrals_mean: dict[str, float] = field(
        default_factory=lambda: {"current": 0.15, "former": 0.05, "prospect": 0.4}
    )
    referrals_tenure: float = 0.2  # current: mean * (1 + 0.2 * tenure years)
    referrals_shape: float = 0.5
    # P(renewal_intent | asked) = sigmoid(a + complaints * c + missed * m): a noisy stated
    # intent that mirrors the drivers and has no effect of its own on lapse.
    intent_intercept: float = 2.0
    intent_complaints: float = -0.8
    intent_missed: float = -0.6
    channel_individual: dict[str, float] = field(
        default_factory=lambda: {
            "agent": 0.40, "online": 0.20, "bancassurance": 0.15, "telesales": 0.10,
            "branch": 0.10, "broker": 0.05,
        }
    )  # fmt: skip
    channel_corporate: dict[str, float] = field(
        default_factory=lambda: {
            "broker": 0.35, "agent": 0.30, "branch": 0.20, "online": 0.10,
            "bancassurance": 0.05, "telesales": 0.0,
        }
    )  # fmt: skip
    foreign_online: float = 3.0  # foreign firms are reached online (docs/domain.md)


@dataclass(frozen=True)
class Lapse:
    # logit P(lapse_12m) for current clients
    intercept: float = -2.2
    log1p_tenure_years: float = -0.5
    log1p_interactions_12m: float = -0.30
    complaints_12m: float = 0.85
    missed_payments_12m: float = 0.75
    log_premium_vs_base: float = 0.12  # ln(annual_premium) - Premium.base[segment]
    channel: dict[str, float] = field(
        default_factory=lambda: {
            "agent": 0.0, "broker": 0.1, "bancassurance": 0.25, "telesales": 0.4,
            "online": 0.5, "branch": -0.1,
        }
    )  # fmt: skip
    # Largest |coefficient| * sd(term) first, as measured on the book (tests check it).
    strength_order: tuple[str, ...] = (
        "missed_payments_12m", "complaints_12m", "log1p_tenure_years",
        "log1p_interactions_12m", "channel", "log_premium_vs_base",
    )  # fmt: skip


@dataclass(frozen=True)
class Purchase:
    # logit P(purchase_6m) for prospects
    intercept: dict[str, float] = field(
        default_factory=lambda: {"individual": -2.2, "corporate": -2.0}
    )
    log_income: float = 0.6  # individuals, ln(income) - REF_LOG_INCOME
    age_quad: float = -0.6  # individuals, ((age - 40) / 15)^2
    dependents: float = 0.25  # individuals, per dependent up to 4
    log_employees: float = 0.2  # companies, ln(employees) - REF_LOG_EMPLOYEES
    log1p_referrals: float = 0.7
    campaign_target: float = 0.5
    channel: dict[str, float] = field(
        default_factory=lambda: {
            "agent": 0.5, "broker": 0.4, "branch": 0.3, "bancassurance": 0.2,
            "online": 0.0, "telesales": -0.3,
        }
    )  # fmt: skip


@dataclass(frozen=True)
class Targets:
    """Marginal rates the parameters above produce (measured on 1,000,000 clients, seed 0)."""

    lapse_rate: float = 0.087  # current clients
    purchase_rate: float = 0.168  # prospects
    claim_frequency: dict[str, float] = field(
        default_factory=lambda: {"individual": 0.171, "corporate": 2.31}
    )  # claims per exposure-year, current clients
    mean_log_premium: dict[str, float] = field(
        default_factory=lambda: {"individual": 8.275, "corporate": 11.374}
    )  # current clients
    rate_tolerance: float = 0.1  # relative, for books of 50,000
    log_premium_tolerance: float = 0.08  # absolute


@dataclass(frozen=True)
class BookParameters:
    mix: Mix = field(default_factory=Mix)
    geography: Geography = field(default_factory=Geography)
    people: People = field(default_factory=People)
    firms: Firms = field(default_factory=Firms)
    policies: Policies = field(default_factory=Policies)
    premium: Premium = field(default_factory=Premium)
    claims: Claims = field(default_factory=Claims)
    behaviour: Behaviour = field(default_factory=Behaviour)
    lapse: Lapse = field(default_factory=Lapse)
    purchase: Purchase = field(default_factory=Purchase)
    targets: Targets = field(default_factory=Targets)

    def as_dict(self) -> dict[str, Any]:
        """A deep copy, so a caller can read or change it without touching the generator."""
        return asdict(self) | {
            "ref_log_income": REF_LOG_INCOME,
            "ref_log_employees": REF_LOG_EMPLOYEES,
        }


PARAMETERS = BookParameters()
