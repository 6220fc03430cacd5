"""The synthetic book's policy records: tenure, products, premium, history, property, claims.

Dates are kept as whole days before `as_of` (-1 when there is none) until the book is
assembled: integer arithmetic keeps every date ordering rule easy to see and to hold.
"""

from __future__ import annotations

import numpy as np

from app.arrays import FloatArray
from app.demo.draws import Work, categorical, sample_without_replacement, vector
from app.demo.params import REF_LOG_EMPLOYEES, REF_LOG_INCOME, BookParameters
from app.demo.people import INDUSTRIES
from app.profiles.enums import Product
from app.profiles.periods import DAYS_PER_YEAR

PRODUCTS = tuple(p.value for p in Product)
CONDITIONS = ("good", "fair", "poor")
CLAIMS_WINDOW_YEARS = 3.0


def draw_policies(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    _tenure(rng, p, w)
    _products(rng, p, w)
    _premium(rng, p, w)
    _history(rng, p, w)
    _property(rng, p, w)
    _past_claims(rng, p, w)


def by_segment(w: Work, values: dict[str, float]) -> FloatArray:
    """Per client, the value for its segment ("individual" or "corporate")."""
    return np.where(w["corporate"], values["corporate"], values["individual"])


def _tenure(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    pol = p.policies
    n = len(w["status"])
    held = np.where(
        w["former"], rng.gamma(*pol.tenure_former, n), rng.gamma(*pol.tenure_current, n)
    )
    since = np.where(w["former"], rng.uniform(0.0, pol.years_since_lapse_max, n), 0.0)
    # A person's first policy is bought as an adult: shrink the history to fit after age 18.
    room = np.where(w["corporate"], np.inf, np.maximum(w["age"] - p.people.age_min, 0.1))
    scale = np.minimum(1.0, room / (held + since))
    first_ago = np.maximum(1, np.round((held + since) * scale * DAYS_PER_YEAR)).astype(np.int64)
    lapse_ago = np.minimum(np.round(since * scale * DAYS_PER_YEAR).astype(np.int64), first_ago - 1)
    client = ~w["prospect"]
    w["first_ago"] = np.where(client, first_ago, -1)
    w["lapse_ago"] = np.where(w["former"], lapse_ago, 0)
    w["holding_years"] = np.where(client, (first_ago - w["lapse_ago"]) / DAYS_PER_YEAR, 0.0)


def _product_weights(p: BookParameters, w: Work) -> FloatArray:
    pol = p.policies
    person = vector(pol.individual_products, PRODUCTS, 0.0)
    firm = vector(pol.corporate_products, PRODUCTS, 0.0)
    weights = np.where(w["corporate"][:, None], firm, person)
    for product, by_industry in pol.industry_product_multiplier.items():
        factor = vector(by_industry, INDUSTRIES, 1.0)[w["industry"]]
        weights[:, PRODUCTS.index(product)] *= np.where(w["corporate"], factor, 1.0)
    return weights


def _products(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    pol = p.policies
    weights = _product_weights(p, w)
    wanted = 1 + rng.poisson(by_segment(w, pol.extra_products))
    count = np.where(w["current"], np.minimum(wanted, (weights > 0).sum(axis=1)), 0)
    w["held"] = sample_without_replacement(rng, weights, count)
    w["n_products"] = count
    extra = rng.poisson(by_segment(w, pol.extra_policies))
    w["in_force"] = np.where(w["current"], count + extra, 0)


def _premium(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    prem = p.premium
    person = vector(prem.relativity, PRODUCTS)
    firm = vector(prem.relativity | prem.corporate_relativity_override, PRODUCTS)
    mix = (w["held"] * np.where(w["corporate"][:, None], firm, person)).sum(axis=1)
    base = by_segment(w, prem.base)
    spread = by_segment(w, prem.sd) * rng.standard_normal(len(base))
    size = np.where(w["corporate"], w["log_employees"] - REF_LOG_EMPLOYEES, 0.0)
    log_premium = (
        base
        + np.log(np.where(w["current"], mix, 1.0))
        + prem.extra_policy * (w["in_force"] - w["n_products"])
        + prem.size_elasticity * size
        + spread
    )
    w["annual_premium"] = np.where(w["current"], np.round(np.exp(log_premium), 2), 0.0)
    # What a former client paid before leaving, priced as one policy at its own price level.
    w["former_premium"] = np.where(w["former"], np.exp(base + spread), 0.0)


def _history(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    pol = p.policies
    n = len(w["status"])
    years = np.floor(w["holding_years"]).astype(np.int64)
    terms = np.where(w["current"], years * w["in_force"], years)
    w["renewals"] = rng.binomial(terms, pol.renewal_prob)
    past = rng.binomial(terms, pol.past_lapse_prob)
    w["lapses"] = np.where(
        w["former"], 1 + rng.poisson(pol.former_extra_lapses, n), np.where(w["current"], past, 0)
    )
    a = by_segment(w, {k: v[0] for k, v in pol.discount_beta.items()})
    b = by_segment(w, {k: v[1] for k, v in pol.discount_beta.items()})
    w["discount"] = np.where(w["current"], np.round(rng.beta(a, b), 4), np.nan)
    # Last purchase: any day the client held cover; a single product was bought on day one.
    span = w["first_ago"] - w["lapse_ago"]
    later = w["first_ago"] - np.floor(rng.random(n) * span).astype(np.int64)
    single = w["current"] & (w["n_products"] == 1)
    w["purchase_ago"] = np.where(single | w["prospect"], w["first_ago"], later)


def _property(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    pol = p.policies
    n = len(w["status"])
    held = w["held"]
    premises = held[:, PRODUCTS.index("property")] | (
        w["corporate"] & held[:, PRODUCTS.index("engineering")]
    )
    insured = w["current"] & premises
    w["condition"] = np.where(insured, categorical(rng, pol.condition_probs, n), -1)
    home = np.exp(
        np.log(pol.home_value)
        + pol.home_income_elasticity * (w["log_income"] - REF_LOG_INCOME)
        + rng.normal(0.0, pol.home_sd, n)
    )
    site = w["revenue"] * np.exp(rng.normal(np.log(pol.premises_to_revenue), pol.premises_sd, n))
    w["property_value"] = np.where(
        insured, np.round(np.where(w["corporate"], site, home), 2), np.nan
    )


def claim_log_rate(p: BookParameters, w: Work) -> FloatArray:
    """Yearly claim log-rate before the effect of past claims (docs: claims model)."""
    c = p.claims
    age = w["age"]
    person = (
        c.occupation_class * (w["occupation"] - 1)
        + c.young_per_decade * np.maximum(0, 30 - age) / 10
        + c.old_per_decade * np.maximum(0, age - 60) / 10
    )
    firm = vector(c.industry, INDUSTRIES, 0.0)[w["industry"]] + c.log_employees * (
        w["log_employees"] - REF_LOG_EMPLOYEES
    )
    condition = np.append(vector(c.condition, CONDITIONS), 0.0)[w["condition"]]  # -1: none
    return np.asarray(
        by_segment(w, c.intercept)
        + np.where(w["corporate"], firm, person)
        + c.typhoon_zone * w["typhoon"]
        + c.flood_zone * w["flood"]
        + condition
        + c.log_policies * np.log(np.maximum(w["in_force"], 1))
    )


def _past_claims(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    c = p.claims
    n = len(w["status"])
    w["claim_log_rate"] = claim_log_rate(p, w)
    # Years insured within the last three: the history a model can see.
    since = w["lapse_ago"] / DAYS_PER_YEAR
    seen = np.clip(np.minimum(CLAIMS_WINDOW_YEARS, since + w["holding_years"]) - since, 0, None)
    count = rng.poisson(np.exp(w["claim_log_rate"]) * seen)
    severity = np.exp(
        by_segment(w, c.severity_log_mean)
        + c.severity_poor * (w["condition"] == CONDITIONS.index("poor"))
        + rng.normal(0.0, c.severity_sd, n)
    )
    w["claims_3y"] = count
    w["claim_amount_3y"] = np.round(count * severity, 2)
