"""Personal data for the synthetic book: names, mobile numbers, identity numbers, credit codes.

All vectorised: strings are assembled as rows of ASCII bytes (or by adding object arrays of
short strings), because a million Python-level string formats would dominate the run time.
The check characters follow GB 11643 (resident identity number) and GB 32100 (unified social
credit code), the same standards `app.profiles.identifiers` checks; the tests verify every id
with those functions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.arrays import BoolArray, ObjectArray
from app.profiles.enums import PROVINCE_ZH, Industry, Province

IntArray = npt.NDArray[np.int64]

PROVINCES = tuple(p.value for p in Province)
INDUSTRIES = tuple(i.value for i in Industry)

# Administrative division prefixes (GB/T 2260); 81-83 are the residence permits of
# Hong Kong, Macau and Taiwan residents, which use the same number format.
_DIVISION = {
    "beijing": 11, "tianjin": 12, "hebei": 13, "shanxi": 14, "inner_mongolia": 15,
    "liaoning": 21, "jilin": 22, "heilongjiang": 23, "shanghai": 31, "jiangsu": 32,
    "zhejiang": 33, "anhui": 34, "fujian": 35, "jiangxi": 36, "shandong": 37, "henan": 41,
    "hubei": 42, "hunan": 43, "guangdong": 44, "guangxi": 45, "hainan": 46, "chongqing": 50,
    "sichuan": 51, "guizhou": 52, "yunnan": 53, "tibet": 54, "shaanxi": 61, "gansu": 62,
    "qinghai": 63, "ningxia": 64, "xinjiang": 65, "hong_kong": 81, "macau": 82, "taiwan": 83,
}  # fmt: skip
_MUNICIPALITIES = ("beijing", "tianjin", "shanghai", "chongqing")
_PERMITS = ("hong_kong", "macau", "taiwan")

# The commonest surnames with their approximate share in percent, so the mix looks right.
_SURNAMES = {
    "王": 7.1, "李": 7.0, "张": 6.7, "刘": 5.4, "陈": 4.5, "杨": 3.1, "黄": 2.2, "赵": 2.0,
    "吴": 2.0, "周": 1.9, "徐": 1.3, "孙": 1.3, "马": 1.1, "朱": 1.1, "胡": 1.0, "郭": 1.0,
    "何": 0.9, "高": 0.9, "林": 0.9, "罗": 0.9, "郑": 0.8, "梁": 0.8, "谢": 0.6, "宋": 0.6,
    "唐": 0.6, "许": 0.5, "韩": 0.5, "冯": 0.5, "邓": 0.5, "曹": 0.5,
}  # fmt: skip
_FEMALE_GIVEN = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "桂英", "婷", "雪", "慧", "琳",
    "晓燕", "欣怡", "雨涵", "佳琪", "梦瑶", "诗涵", "淑华", "玉兰", "海燕", "晓红",
)  # fmt: skip
_MALE_GIVEN = (
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "建国",
    "建华", "志强", "浩然", "子轩", "宇航", "俊杰", "国强", "文博", "海涛", "立新",
)  # fmt: skip
_BRANDS = (
    "华信", "宏达", "恒通", "鼎盛", "金泰", "瑞丰", "永安", "新创", "博远", "天成", "中联",
    "盛世", "东方", "富源", "汇通", "嘉禾", "明德", "远航", "正泰", "长城", "万达", "兴业",
)  # fmt: skip
_INDUSTRY_WORD = {
    "agriculture": "农业", "mining": "矿业", "manufacturing": "制造", "utilities": "能源",
    "construction": "建设工程", "wholesale": "贸易", "retail": "商贸", "transport": "运输",
    "warehousing": "仓储", "postal": "快递", "hospitality": "酒店管理", "catering": "餐饮",
    "telecom": "通信", "software_it": "信息技术", "real_estate": "置业",
    "property_management": "物业服务", "leasing_business_services": "商务服务",
    "finance": "投资", "education": "教育科技", "healthcare": "医疗",
    "public_administration": "公共服务", "other": "实业",
}  # fmt: skip
_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司")

_RESIDENT_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], np.int64)
_RESIDENT_CHECK = np.frombuffer(b"10X98765432", np.uint8)
_CREDIT_ALPHABET = b"0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], np.int64
)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], np.int64)  # GB 11714 organisation code


def text_rows(chars: npt.NDArray[np.uint8]) -> ObjectArray:
    """Each row of an (n, width) ASCII byte matrix as a Python str."""
    width = chars.shape[1]
    packed = np.ascontiguousarray(chars).view(f"S{width}").ravel()
    return packed.astype(f"U{width}").astype(object)


def digit_matrix(numbers: IntArray, width: int) -> IntArray:
    """Decimal digits of non-negative numbers, zero padded, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (numbers[:, None] // powers) % 10


def numbered(prefix: str, numbers: IntArray, width: int) -> ObjectArray:
    """`prefix` followed by each number zero padded to `width`, e.g. S0000042."""
    head = np.frombuffer(prefix.encode("ascii"), np.uint8)
    digits = (digit_matrix(numbers, width) + ord("0")).astype(np.uint8)
    return text_rows(np.hstack([np.broadcast_to(head, (len(numbers), len(head))), digits]))


def person_names(rng: np.random.Generator, female: BoolArray) -> ObjectArray:
    n = len(female)
    surnames = np.array(list(_SURNAMES), dtype=object)
    weights = np.array(list(_SURNAMES.values()))
    family = surnames[rng.choice(len(surnames), size=n, p=weights / weights.sum())]
    women = np.array(_FEMALE_GIVEN, dtype=object)[rng.integers(0, len(_FEMALE_GIVEN), n)]
    men = np.array(_MALE_GIVEN, dtype=object)[rng.integers(0, len(_MALE_GIVEN), n)]
    return np.asarray(family + np.where(female, women, men), dtype=object)


def company_names(rng: np.random.Generator, province: IntArray, industry: IntArray) -> ObjectArray:
    """Names such as 浙江华信制造有限公司; `province`/`industry` index PROVINCES/INDUSTRIES."""
    n = len(province)
    place = np.array([PROVINCE_ZH[p] for p in PROVINCES], dtype=object)[province]
    brand = np.array(_BRANDS, dtype=object)[rng.integers(0, len(_BRANDS), n)]
    trade = np.array([_INDUSTRY_WORD[i] for i in INDUSTRIES], dtype=object)[industry]
    suffix = np.array(_SUFFIXES, dtype=object)[rng.choice(3, size=n, p=[0.6, 0.25, 0.15])]
    return np.asarray(place + brand + trade + suffix, dtype=object)


def mobile_phones(rng: np.random.Generator, n: int) -> ObjectArray:
    """Mainland mobile numbers 1[3-9]xxxxxxxxx."""
    second = rng.integers(3, 10, n)
    rest = rng.integers(0, 10**9, n)
    return numbered("1", second * 10**9 + rest, 10)


def _division_codes(rng: np.random.Generator, province: IntArray) -> IntArray:
    """Six-digit division codes: province prefix, then a prefecture 01-05 and county 01-09."""
    prefix = np.array([_DIVISION[p] for p in PROVINCES], dtype=np.int64)[province]
    n = len(province)
    city = rng.integers(1, 6, n)
    county = rng.integers(1, 10, n)
    municipality = np.isin(province, [PROVINCES.index(p) for p in _MUNICIPALITIES])
    permit = np.isin(province, [PROVINCES.index(p) for p in _PERMITS])
    city = np.where(municipality, 1, city)
    code = prefix * 10_000 + city * 100 + county
    return np.where(permit, prefix * 10_000, code)


def resident_ids(
    rng: np.random.Generator, province: IntArray, birth_year: IntArray, female: BoolArray
) -> ObjectArray:
    """18-character resident identity numbers consistent with birth year and gender."""
    n = len(province)
    birth = birth_year * 10_000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    # The 17th digit is odd for men and even for women (GB 11643).
    order = rng.integers(0, 100, n) * 10 + 2 * rng.integers(0, 5, n) + (~female).astype(np.int64)
    first17 = (_division_codes(rng, province) * 10**8 + birth) * 1000 + order
    digits = digit_matrix(first17, 17)
    check = _RESIDENT_CHECK[(digits @ _RESIDENT_WEIGHTS) % 11]
    chars = np.hstack([(digits + ord("0")).astype(np.uint8), check[:, None]])
    return text_rows(chars)


def credit_codes(rng: np.random.Generator, province: IntArray) -> ObjectArray:
    """Unified social credit codes of enterprises (registered by market regulation: "91")."""
    n = len(province)
    body = digit_matrix(rng.integers(0, 10**8, n), 8)
    org_check = (11 - (body @ _ORG_WEIGHTS) % 11) % 11  # 10 is written "X"
    org_char = np.where(org_check == 10, ord("X"), org_check + ord("0"))
    head = digit_matrix(91_000_000 + _division_codes(rng, province), 8)
    chars = np.hstack([head + ord("0"), body + ord("0"), org_char[:, None]]).astype(np.uint8)
    values = np.full(256, -1, np.int64)
    values[np.frombuffer(_CREDIT_ALPHABET, np.uint8)] = np.arange(len(_CREDIT_ALPHABET))
    check = (31 - (values[chars] @ _CREDIT_WEIGHTS) % 31) % 31
    alphabet = np.frombuffer(_CREDIT_ALPHABET, np.uint8)
    return text_rows(np.hstack([chars, alphabet[check][:, None]]))
