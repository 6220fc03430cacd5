"""Reasons: a model's top factors for one client, each as one sentence in Chinese and English.

The factors are TreeSHAP contributions (`Explanation`), on the model's raw scale (log-odds
or log-rate): positive raises the prediction. Each feature has a phrase template that states
the fact as the client's data has it ("3 missed payments in 12 months"); the sentence adds
what it does to the model's target ("... raise the lapse risk").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from app.profiles.enums import PROVINCE_ZH
from app.serving.features import Column
from app.serving.predictor import Explanation

TOP_FACTORS = 3
ZH_COMMA = "\uff0c"  # the full-width comma Chinese text takes
NEW_CLIENT_ZH = "新客户\uff08不足 1 年\uff09"  # as the desk's header says it


@dataclass(frozen=True, slots=True)
class Phrase:
    """How to state one feature's value. `en`/`zh` format `{v}`; `counted` makes an English
    count agree in number ("1 claim raises", "3 claims raise")."""

    label_en: str
    label_zh: str
    en: str
    zh: str
    unit: str = "number"  # number | count | years | money | share | days | level | flag
    counted: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    en: str
    zh: str


TARGETS = {
    "lapse": Target("the lapse risk", "流失风险"),
    "claims": Target("the expected claim frequency", "预期出险频率"),
    "propensity": Target("the purchase likelihood", "购买可能性"),
}


def _count(label_en: str, label_zh: str, en: str, zh: str) -> Phrase:
    return Phrase(label_en, label_zh, en, zh, unit="count", counted=True)


def _flag(label_en: str, label_zh: str, yes_no_en: str, yes_no_zh: str) -> Phrase:
    return Phrase(label_en, label_zh, yes_no_en, yes_no_zh, unit="flag")


PRODUCTS_ZH = {
    "auto": "车险", "property": "财产险", "health": "健康险", "life": "寿险", "accident": "意外险",
    "liability": "责任险", "travel": "旅行险", "annuity": "年金险", "group_health": "团体健康险",
    "work_injury": "工伤险", "cargo": "货运险", "engineering": "工程险",
}  # fmt: skip
LEVELS_ZH = {
    "individual": "个人客户", "corporate": "企业客户", "female": "女性", "male": "男性",
    "agent": "代理人", "broker": "经纪人", "bancassurance": "银保", "telesales": "电销",
    "online": "线上", "branch": "柜面", "private": "民营", "foreign": "外资", "state_owned": "国有",
    "good": "良好", "fair": "一般", "poor": "较差",
}  # fmt: skip

INDUSTRY_ZH = {
    "agriculture": "农林牧渔", "mining": "采矿", "manufacturing": "制造业",
    "utilities": "水电燃气", "construction": "建筑业", "wholesale": "批发", "retail": "零售",
    "transport": "交通运输", "warehousing": "仓储", "postal": "邮政", "hospitality": "住宿",
    "catering": "餐饮", "telecom": "电信", "software_it": "软件和信息技术",
    "real_estate": "房地产", "property_management": "物业管理",
    "leasing_business_services": "租赁和商务服务", "finance": "金融", "education": "教育",
    "healthcare": "卫生", "public_administration": "公共管理", "other": "其他",
}  # fmt: skip
# A profile value in Chinese: a kind, gender, channel, ownership, condition, industry, province.
LEVELS_ZH = {**LEVELS_ZH, **INDUSTRY_ZH, **PROVINCE_ZH}
# Features that do not apply to a kind of client: missing there is no fact about the client.
NOT_FOR = {
    "individual": frozenset({"employees", "annual_revenue", "ownership"}),
    "corporate": frozenset({"age", "gender", "occupation_class", "annual_income", "dependents"}),
}

PHRASES: dict[str, Phrase] = {
    "kind": Phrase("client kind", "客户类型", "Being a {v} client", "{v}", unit="level"),
    "channel": Phrase("sales channel", "销售渠道", "The {v} channel", "通过{v}渠道", unit="level"),
    "gender": Phrase("gender", "性别", "Being {v}", "性别为{v}", unit="level"),
    "ownership": Phrase("ownership", "企业性质", "{v} ownership", "{v}企业", unit="level"),
    "industry": Phrase("industry", "行业", "The {v} industry", "所属行业为{v}", unit="level"),
    "province": Phrase("province", "省份", "Being in {v}", "所在省份为{v}", unit="level"),
    "property_condition": Phrase(
        "property condition", "财产状况", "Property in {v} condition", "财产状况{v}", unit="level"
    ),
    "tenure_years": Phrase(  # in the words of the card's header: whole years
        "tenure", "投保年限", "Being a client for {v} year{s}", "客户 {v} 年", unit="whole_years",
        counted=True,
    ),
    "age": Phrase("age", "年龄", "An age of {v}", "年龄{v}岁", unit="count"),
    "renewals": _count("renewals", "续保次数", "{v} renewal{s}", "续保{v}次"),
    "lapses": _count("lapses", "退保次数", "{v} earlier lapse{s}", "曾退保或断保{v}次"),
    "product_count": _count("products held", "持有产品数", "{v} product{s} held", "持有{v}种产品"),
    "in_force_policies": _count(
        "policies in force", "有效保单数", "{v} polic{ies} in force", "有效保单{v}张"
    ),
    "annual_premium": Phrase(
        "annual premium", "年保费", "An annual premium of {v} yuan", "年保费{v}元", unit="money"
    ),
    "premium_discount_rate": Phrase(
        "premium discount", "保费折扣", "A premium discount of {v}", "保费折扣{v}", unit="share"
    ),
    "missed_payments_12m": _count(
        "missed payments", "缺缴次数", "{v} missed payment{s} in 12 months", "近12个月{v}次缺缴保费"
    ),
    "complaints_12m": _count(
        "complaints", "投诉次数", "{v} complaint{s} in 12 months", "近12个月投诉{v}次"
    ),
    "interactions_12m": _count(
        "interactions", "互动次数", "{v} interaction{s} in 12 months", "近12个月互动{v}次"
    ),
    "days_since_last_interaction": Phrase(
        "last contact", "上次联系", "{v} days since the last contact", "距上次联系{v}天",
        unit="days",
    ),
    "app_logins_12m": _count(
        "app logins", "App登录次数", "{v} app login{s} in 12 months", "近12个月登录App {v}次"
    ),
    "renewal_intent": _flag(
        "renewal intent", "续保意向", "A stated intent to renew|Saying they will not renew",
        "表示愿意续保|表示不打算续保",
    ),
    "claim_count_3y": _count(
        "claims in 3 years", "近3年理赔次数", "{v} claim{s} in 3 years", "近3年理赔{v}次"
    ),
    "claim_amount_3y": Phrase(
        "claim amount in 3 years", "近3年理赔金额", "Claims of {v} yuan in 3 years",
        "近3年理赔金额{v}元", unit="money",
    ),
    "claims_per_year_insured": Phrase(
        "claims per year insured", "年均理赔次数", "{v} claims per year insured",
        "投保期间年均理赔{v}次",
    ),
    "annual_income": Phrase(
        "annual income", "年收入", "An annual income of {v} yuan", "年收入{v}元", unit="money"
    ),
    "employees": _count("employee count", "员工人数", "{v} employee{s}", "员工{v}人"),
    "annual_revenue": Phrase(
        "annual revenue", "年营业收入", "Annual revenue of {v} yuan", "年营业收入{v}元",
        unit="money",
    ),
    "occupation_class": Phrase(
        "occupation class", "职业类别", "Occupation class {v}", "职业类别为{v}类", unit="count"
    ),
    "city_tier": Phrase("city tier", "城市等级", "A tier-{v} city", "{v}线城市", unit="count"),
    "flood_zone": _flag(
        "flood zone", "洪水区", "Being in a flood zone|Being outside flood zones",
        "位于洪水易发区|不在洪水易发区",
    ),
    "typhoon_zone": _flag(
        "typhoon zone", "台风区", "Being in a typhoon zone|Being outside typhoon zones",
        "位于台风易发区|不在台风易发区",
    ),
    "property_value": Phrase(
        "property value", "财产价值", "Property worth {v} yuan", "财产价值{v}元", unit="money"
    ),
    "dependents": _count("dependents", "受抚养人数", "{v} dependant{s}", "有{v}名受抚养人"),
    "referrals": _count("referrals", "转介绍次数", "{v} referral{s}", "转介绍{v}次"),
    "campaign_target": _flag(
        "campaign target", "营销目标", "Being a campaign target|Not being a campaign target",
        "属于营销目标客户|不属于营销目标客户",
    ),
    **{
        f"has_{product}": _flag(
            f"{product.replace('_', ' ')} cover", f"{zh}",
            "Holding {0} cover|Not holding {0} cover".format(product.replace("_", " ")),
            f"持有{zh}|未持有{zh}",
        )
        for product, zh in PRODUCTS_ZH.items()
    },
}  # fmt: skip


def _plain(value: Any) -> Any:
    """The value for the response: a string level, an int for whole numbers, None for unknown."""
    if value is None or isinstance(value, str):
        return value
    number = float(value)
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() else round(number, 4)


def _shown(value: Any, unit: str) -> str:
    if unit == "years":
        return f"{float(value):.1f}"
    if unit == "whole_years":
        return str(math.floor(float(value)))
    if unit == "money":
        return f"{float(value):,.0f}"
    if unit == "share":
        return f"{100 * float(value):.0f}%"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sentences(feature: str, value: Any, model: str, contribution: float) -> tuple[str, str]:
    """(Chinese, English) sentence for one factor; `value` as `_plain` gives it."""
    return _sentences(feature, value, model, contribution > 0)


# The sentences depend on the feature, its value, the model and the sign only, and a book's
# factors repeat (counts, levels, flags, unknowns): each is written once. Only exact ints,
# strings and None are keys: a float key would take 0.0 for -0.0, which are written apart.
_REPEATED = frozenset({int, str, type(None)})


def written(feature: str, value: Any, model: str, up: bool) -> tuple[str, str]:
    """`sentences` of a factor that raises (`up`) or lowers the prediction, each repeated
    one written once."""
    if value.__class__ in _REPEATED:
        return _repeated(feature, value, model, up)
    return _sentences(feature, value, model, up)


@lru_cache(maxsize=8192)
def _repeated(feature: str, value: int | str | None, model: str, up: bool) -> tuple[str, str]:
    return _sentences(feature, value, model, up)


def _sentences(feature: str, value: Any, model: str, up: bool) -> tuple[str, str]:
    target = TARGETS[model]
    phrase = PHRASES.get(feature) or Phrase(feature, feature, f"{feature} {{v}}", f"{feature}{{v}}")
    if value is None:
        verb = "raises" if up else "lowers"
        en = f"No {phrase.label_en} on file {verb} {target.en}"
        return f"{phrase.label_zh}未知{ZH_COMMA}{'提高' if up else '降低'}了{target.zh}", en
    if phrase.unit == "whole_years" and float(value) < 1:
        fact_en, fact_zh, plural = "Being a client for under a year", NEW_CLIENT_ZH, False
    elif phrase.unit == "flag":
        yes_en, no_en = phrase.en.split("|")
        yes_zh, no_zh = phrase.zh.split("|")
        fact_en, fact_zh = (yes_en, yes_zh) if value else (no_en, no_zh)
        plural = False
    else:
        shown = _shown(value, phrase.unit)
        plural = phrase.counted and shown != "1"
        words = "No" if phrase.counted and shown == "0" else shown
        if phrase.unit == "level":
            words = words.replace("_", " ")
        fact_en = phrase.en.format(v=words, s="s" if plural else "", ies="ies" if plural else "y")
        fact_zh = phrase.zh.format(
            v=LEVELS_ZH.get(shown, shown) if phrase.unit == "level" else shown
        )
    verb = ("raise" if up else "lower") if plural else ("raises" if up else "lowers")
    zh = f"{fact_zh}{ZH_COMMA}{'提高' if up else '降低'}了{target.zh}"
    return zh, f"{fact_en} {verb} {target.en}"


def top_factors(
    explanation: Explanation,
    position: int,
    features: Mapping[str, Column | Sequence[Any]],
    k: int = TOP_FACTORS,
) -> list[dict[str, Any]]:
    """The `k` largest contributions (by size) of one batch row, largest first."""
    row = explanation.row_of(position)
    if row is None:
        return []
    specs = explanation.model.metadata.features
    contributions = explanation.contributions[row, : len(specs)]
    order = np.argsort(-np.abs(contributions), kind="stable").tolist()
    sizes = contributions.tolist()  # Python floats, each equal to its float64
    kinds = features.get("kind")
    kind = _plain(kinds[position]) if kinds is not None else None
    absent = NOT_FOR.get(str(kind), frozenset())
    model = explanation.model.name
    factors: list[dict[str, Any]] = []
    for j in order:
        contribution = sizes[j]
        if contribution == 0.0 or len(factors) == k:
            break
        name = specs[j].name
        value = _plain(features[name][position])
        if value is None and name in absent:
            continue  # "employees unknown" says nothing of a person
        zh, en = written(name, value, model, contribution > 0)
        factors.append(
            {
                "feature": name,
                "value": value,
                "contribution": round(contribution, 6),
                "text_zh": zh,
                "text_en": en,
            }
        )
    return factors
