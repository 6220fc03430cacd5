"""Behaviour in the last 12 months and the outcomes the models learn (lapse, claims, purchase).

Behaviour is drawn first and the outcomes from it, never the other way round: the labels
depend on the profile only through the documented formulas, so a model that recovers those
formulas is right and one that finds anything else has found noise.
"""

from __future__ import annotations

import numpy as np

from app.arrays import FloatArray
from app.demo.clients import CHANNELS
from app.demo.draws import STATUSES, Work, bernoulli, neg_binomial, sigmoid, vector
from app.demo.params import REF_LOG_EMPLOYEES, REF_LOG_INCOME, BookParameters
from app.demo.policies import by_segment
from app.profiles.periods import DAYS_PER_YEAR

MAX_MISSED_PAYMENTS = 12  # monthly instalments in a year


def draw_behaviour(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    _contacts(rng, p, w)
    _payments(rng, p, w)
    _engagement(rng, p, w)


def _status_mean(w: Work, means: dict[str, float]) -> FloatArray:
    return vector(means, STATUSES)[w["status"]]


def _contacts(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    b = p.behaviour
    n = len(w["status"])
    mean = (
        _status_mean(w, b.interactions_mean)
        * vector(b.interactions_channel, CHANNELS)[w["channel"]]
        * np.where(w["corporate"], b.interactions_corporate, 1.0)
        * np.where(w["campaign"], b.interactions_campaign, 1.0)
    )
    w["interactions"] = neg_binomial(rng, mean, b.interactions_shape)
    w["complaints"] = neg_binomial(rng, _status_mean(w, b.complaints_mean), b.complaints_shape)
    # A count of contacts in the last 12 months needs the last contact inside them, and
    # none in them needs it before; a prospect without contacts has never been reached.
    recent = np.floor(rng.random(n) * 365).astype(np.int64)
    older = 366 + np.floor(rng.exponential(b.older_contact_mean_days, n)).astype(np.int64)
    w["interaction_ago"] = np.where(
        w["interactions"] > 0, recent, np.where(w["prospect"], -1, older)
    )


def _payments(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    b = p.behaviour
    m = b.missed_mean
    person = m["individual"] * np.exp(b.missed_income * (w["log_income"] - REF_LOG_INCOME))
    current = np.where(w["corporate"], m["corporate"], person)
    # Former clients who left this year often stopped paying before they left.
    recent_leaver = w["former"] & (w["lapse_ago"] < DAYS_PER_YEAR)
    mean = np.where(w["current"], current, np.where(recent_leaver, m["former_recent"], 0.0))
    missed = np.minimum(neg_binomial(rng, mean, b.missed_shape), MAX_MISSED_PAYMENTS)
    w["missed"] = missed
    paid_share = np.maximum(0.0, 1.0 - missed / MAX_MISSED_PAYMENTS)
    covered_share = np.clip(1.0 - w["lapse_ago"] / DAYS_PER_YEAR, 0.0, 1.0)
    w["paid_12m"] = np.round(
        np.where(
            w["current"], w["annual_premium"] * paid_share, w["former_premium"] * covered_share
        ),
        2,
    )


def _engagement(rng: np.random.Generator, p: BookParameters, w: Work) -> None:
    b = p.behaviour
    online = w["channel"] == CHANNELS.index("online")
    logins = (
        _status_mean(w, b.logins_mean)
        * np.where(online, b.logins_online, 1.0)
        * np.where(w["corporate"], b.logins_corporate, np.exp(b.logins_age * (w["age"] - 40)))
    )
    w["logins"] = neg_binomial(rng, logins, b.logins_shape)
    loyalty = np.where(w["current"], 1.0 + b.referrals_tenure * w["holding_years"], 1.0)
    w["referrals"] = neg_binomial(
        rng, _status_mean(w, b.referrals_mean) * loyalty, b.referrals_shape
    )
    asked = w["current"] & bernoulli(rng, np.full(len(logins), p.mix.renewal_intent_asked))
    stated = bernoulli(
        rng,
        sigmoid(
            b.intent_intercept
            + b.intent_complaints * w["complaints"]
            + b.intent_missed * w["missed"]
        ),
    )
    w["renewal_intent"] = np.where(asked, stated.astype(np.float64), np.nan)


def lapse_logit(p: BookParameters, w: Work) -> FloatArray:
    """Log-odds of not renewing within 12 months, for current clients (docs: lapse model)."""
    lp = p.lapse
    tenure = np.maximum(w["first_ago"], 0) / DAYS_PER_YEAR
    premium = np.where(w["current"], w["annual_premium"], 1.0)
    premium_level = np.where(w["current"], np.log(premium) - by_segment(w, p.premium.base), 0.0)
    return np.asarray(
        lp.intercept
        + lp.log1p_tenure_years * np.log1p(tenure)
        + lp.log1p_interactions_12m * np.log1p(w["interactions"])
        + lp.complaints_12m * w["complaints"]
        + lp.missed_payments_12m * w["missed"]
        + lp.log_premium_vs_base * premium_level
        + vector(lp.channel, CHANNELS)[w["channel"]]
    )


def purchase_logit(p: BookParameters, w: Work) -> FloatArray:
    """Log-odds of buying within 6 months, for prospects (docs: purchase model)."""
    pu = p.purchase
    person = (
        pu.intercept["individual"]
        + pu.log_income * (w["log_income"] - REF_LOG_INCOME)
        + pu.age_quad * ((w["age"] - 40.0) / 15.0) ** 2
        + pu.dependents * np.minimum(w["dependents"], 4)
    )
    firm = pu.intercept["corporate"] + pu.log_employees * (w["log_employees"] - REF_LOG_EMPLOYEES)
    return np.asarray(
        np.where(w["corporate"], firm, person)
        + vector(pu.channel, CHANNELS)[w["channel"]]
        + pu.log1p_referrals * np.log1p(w["referrals"])
        + pu.campaign_target * w["campaign"]
    )


def draw_outcomes(rng: np.random.Generator, p: BookParameters, w: Work) -> dict[str, FloatArray]:
    current, prospect = w["current"], w["prospect"]
    lapse = bernoulli(rng, sigmoid(lapse_logit(p, w)))
    # A lapse happens at the next policy anniversary: cover, and so claims, stop there.
    to_renewal = 365 - np.maximum(w["first_ago"], 0) % 365
    exposure = np.where(lapse, to_renewal / 365.0, 1.0)
    past = p.claims.log1p_past_claims * np.log1p(w["claims_3y"])
    rate = np.exp(w["claim_log_rate"] + past)
    claims = rng.poisson(np.where(current, exposure * rate, 0.0))
    purchase = bernoulli(rng, sigmoid(purchase_logit(p, w)))
    return {
        "lapse_12m": np.where(current, lapse, np.nan),
        "claim_count_next_year": np.where(current, claims, np.nan),
        "exposure": np.where(current, exposure, np.nan),
        "purchase_6m": np.where(prospect, purchase, np.nan),
    }
