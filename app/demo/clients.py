"""Who the synthetic clients are: segment, place, person or firm, channel.

Person and firm attributes are drawn for every row and masked later by kind: drawing full
columns keeps the sequence of random numbers, and so the book, fixed for a seed.
"""

from __future__ import annotations

import numpy as np

from app.demo.draws import (
    CURRENT,
    FORMER,
    PROSPECT,
    STATUSES,
    Work,
    bernoulli,
    categorical,
    choose_rows,
    code_of,
    sigmoid,
    vector,
)
from app.demo.params import REF_LOG_EMPLOYEES, REF_LOG_INCOME, BookParameters
from app.demo.people import INDUSTRIES, PROVINCES
from app.profiles.enums import Channel, Ownership

CHANNELS = tuple(c.value for c in Channel)
OWNERSHIPS = tuple(o.value for o in Ownership)


def draw_clients(rng: np.random.Generator, n: int, p: BookParameters) -> Work:
    w: Work = {"corporate": bernoulli(rng, np.full(n, p.mix.corporate_share))}
    w["status"] = categorical(rng, vector(p.mix.status_shares, STATUSES), n)
    w["current"] = w["status"] == CURRENT
    w["prospect"] = w["status"] == PROSPECT
    w["former"] = w["status"] == FORMER
    _geography(rng, n, p, w)
    _people(rng, n, p, w)
    _firms(rng, n, p, w)
    _channel(rng, p, w)
    _campaign(rng, p, w)
    return w


def _geography(rng: np.random.Generator, n: int, p: BookParameters, w: Work) -> None:
    geo = p.geography
    province = categorical(rng, vector(geo.province_weights, PROVINCES), n)
    typhoon_area = np.isin(province, code_of(PROVINCES, geo.typhoon_provinces))
    flood_area = np.isin(province, code_of(PROVINCES, geo.flood_provinces))
    w["province"] = province
    w["typhoon"] = typhoon_area & bernoulli(rng, np.full(n, geo.typhoon_in_zone_province))
    w["flood"] = bernoulli(
        rng, np.where(flood_area, geo.flood_in_zone_province, geo.flood_elsewhere)
    )
    tier = 1 + categorical(rng, geo.city_tier_probs, n)
    w["city_tier"] = np.where(np.isin(province, code_of(PROVINCES, geo.tier1_provinces)), 1, tier)


def _people(rng: np.random.Generator, n: int, p: BookParameters, w: Work) -> None:
    pp = p.people
    age = pp.age_min + np.floor(pp.age_span * rng.beta(*pp.age_beta, size=n)).astype(np.int64)
    occupation = 1 + categorical(rng, pp.occupation_probs, n)
    w["age"] = age
    w["female"] = bernoulli(rng, np.full(n, pp.female_share))
    w["occupation"] = occupation
    w["log_income"] = (
        REF_LOG_INCOME
        + np.asarray(pp.income_tier)[w["city_tier"] - 1]
        + pp.income_age_quad * (age - 45.0) ** 2
        + pp.income_occupation * (occupation - 1)
        + rng.normal(0.0, pp.income_sd, n)
    )
    peak = np.exp(-(((age - 42.0) / 13.0) ** 2))
    w["dependents"] = np.minimum(rng.poisson(pp.dependents_base + pp.dependents_peak * peak), 20)
    missing = vector(p.mix.income_missing, STATUSES)[w["status"]]
    w["income_missing"] = bernoulli(rng, missing)


def _firms(rng: np.random.Generator, n: int, p: BookParameters, w: Work) -> None:
    f = p.firms
    industry = categorical(rng, vector(f.industry_weights, INDUSTRIES), n)
    shift = vector(f.log_employees_shift, INDUSTRIES, 0.0)[industry]
    drawn = np.exp(REF_LOG_EMPLOYEES + shift + rng.normal(0.0, f.log_employees_sd, n))
    employees = np.clip(np.round(drawn), 1, 10_000_000).astype(np.int64)
    # Effects use the log of the recorded headcount, which is what a model will see.
    log_employees = np.log(employees)
    per_head = vector(f.revenue_per_employee, INDUSTRIES, f.revenue_per_employee_default)
    log_revenue = log_employees + np.log(per_head[industry]) + rng.normal(0, f.log_revenue_sd, n)
    size = log_employees - REF_LOG_EMPLOYEES
    heavy = np.isin(industry, code_of(INDUSTRIES, f.state_heavy_industries))
    logits = np.column_stack(
        [
            np.zeros(n),  # private, the reference
            f.foreign_intercept + f.foreign_size * size,
            f.state_intercept + f.state_size * size + f.state_heavy_industry * heavy,
        ]
    )
    w["industry"] = industry
    w["employees"] = employees
    w["log_employees"] = log_employees
    w["revenue"] = np.round(np.exp(log_revenue), 2)
    w["ownership"] = choose_rows(rng, np.exp(logits))


def _channel(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    b = p.behaviour
    person = vector(b.channel_individual, CHANNELS)
    firm = vector(b.channel_corporate, CHANNELS)
    weights = np.where(w["corporate"][:, None], firm, person)
    foreign = w["corporate"] & (w["ownership"] == OWNERSHIPS.index("foreign"))
    weights[foreign, CHANNELS.index("online")] *= b.foreign_online
    w["channel"] = choose_rows(rng, weights)


def _campaign(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    """The insurer chooses to pursue the prospects who look richer (individuals) or bigger."""
    x = np.where(
        w["corporate"], w["log_employees"] - REF_LOG_EMPLOYEES, w["log_income"] - REF_LOG_INCOME
    )
    chosen = bernoulli(rng, sigmoid(p.mix.campaign_intercept + p.mix.campaign_slope * x))
    w["campaign"] = w["prospect"] & chosen
