"""Enumerations of the client profile, in the insurer's words."""

from __future__ import annotations

from enum import StrEnum


class ClientKind(StrEnum):
    individual = "individual"
    corporate = "corporate"


class Gender(StrEnum):
    female = "female"
    male = "male"


class Ownership(StrEnum):
    """Nature of a corporate client (企业性质): they decide and are reached differently."""

    private = "private"
    foreign = "foreign"
    state_owned = "state_owned"


class Channel(StrEnum):
    """Sales channel the client came through."""

    agent = "agent"
    broker = "broker"
    bancassurance = "bancassurance"
    telesales = "telesales"
    online = "online"
    branch = "branch"


class ContactChannel(StrEnum):
    """A channel the insurer reaches a client on (the action catalogue's channels)."""

    call = "call"
    visit = "visit"
    sms = "sms"
    app = "app"
    mail = "mail"


class Consent(StrEnum):
    """The client's choice about being contacted on a channel; `refused` on `call` is
    do-not-call."""

    granted = "granted"
    refused = "refused"


class Industry(StrEnum):
    """Industry, split as China's 2011 SME classification standard needs it for size thresholds."""

    agriculture = "agriculture"
    mining = "mining"
    manufacturing = "manufacturing"
    utilities = "utilities"
    construction = "construction"
    wholesale = "wholesale"
    retail = "retail"
    transport = "transport"
    warehousing = "warehousing"
    postal = "postal"
    hospitality = "hospitality"
    catering = "catering"
    telecom = "telecom"
    software_it = "software_it"
    real_estate = "real_estate"
    property_management = "property_management"
    leasing_business_services = "leasing_business_services"
    finance = "finance"
    education = "education"
    healthcare = "healthcare"
    public_administration = "public_administration"
    other = "other"


class Province(StrEnum):
    """Provincial-level divisions (省级行政区)."""

    beijing = "beijing"
    tianjin = "tianjin"
    hebei = "hebei"
    shanxi = "shanxi"
    inner_mongolia = "inner_mongolia"
    liaoning = "liaoning"
    jilin = "jilin"
    heilongjiang = "heilongjiang"
    shanghai = "shanghai"
    jiangsu = "jiangsu"
    zhejiang = "zhejiang"
    anhui = "anhui"
    fujian = "fujian"
    jiangxi = "jiangxi"
    shandong = "shandong"
    henan = "henan"
    hubei = "hubei"
    hunan = "hunan"
    guangdong = "guangdong"
    guangxi = "guangxi"
    hainan = "hainan"
    chongqing = "chongqing"
    sichuan = "sichuan"
    guizhou = "guizhou"
    yunnan = "yunnan"
    tibet = "tibet"
    shaanxi = "shaanxi"
    gansu = "gansu"
    qinghai = "qinghai"
    ningxia = "ningxia"
    xinjiang = "xinjiang"
    hong_kong = "hong_kong"
    macau = "macau"
    taiwan = "taiwan"


class Product(StrEnum):
    """Product lines a client can hold."""

    auto = "auto"
    property = "property"
    health = "health"
    life = "life"
    accident = "accident"
    liability = "liability"
    travel = "travel"
    annuity = "annuity"
    group_health = "group_health"
    work_injury = "work_injury"
    cargo = "cargo"
    engineering = "engineering"


class PropertyCondition(StrEnum):
    """State of the insured property (财产状况)."""

    good = "good"
    fair = "fair"
    poor = "poor"


class PolicyStatus(StrEnum):
    """Where a policy stands."""

    in_force = "in_force"
    pending = "pending"  # sold, not yet in force
    lapsed = "lapsed"
    cancelled = "cancelled"
    expired = "expired"


class ClaimStatus(StrEnum):
    """Where an open claim stands."""

    reported = "reported"
    assessing = "assessing"
    approved = "approved"  # payment pending


# Each province's short name in Chinese: the desk's and the reasons' word, and the place in
# a synthetic address.
PROVINCE_ZH = {
    "beijing": "北京", "tianjin": "天津", "hebei": "河北", "shanxi": "山西",
    "inner_mongolia": "内蒙古", "liaoning": "辽宁", "jilin": "吉林", "heilongjiang": "黑龙江",
    "shanghai": "上海", "jiangsu": "江苏", "zhejiang": "浙江", "anhui": "安徽", "fujian": "福建",
    "jiangxi": "江西", "shandong": "山东", "henan": "河南", "hubei": "湖北", "hunan": "湖南",
    "guangdong": "广东", "guangxi": "广西", "hainan": "海南", "chongqing": "重庆",
    "sichuan": "四川", "guizhou": "贵州", "yunnan": "云南", "tibet": "西藏", "shaanxi": "陕西",
    "gansu": "甘肃", "qinghai": "青海", "ningxia": "宁夏", "xinjiang": "新疆",
    "hong_kong": "香港", "macau": "澳门", "taiwan": "台湾",
}  # fmt: skip
