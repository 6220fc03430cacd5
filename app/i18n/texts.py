"""The pages' words in Chinese and English (the desk, the what-if, the book report), and
numbers, money and dates for each language."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, parse_pattern

from app.classification.reasons import LEVELS_ZH, PRODUCTS_ZH

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
# Parsed once: Babel parses a locale named by a string on every call (a card formats dozens).
LOCALES = {"zh": Locale.parse("zh_CN"), "en": Locale.parse("en_GB")}
TIMEZONE = ZoneInfo("Asia/Shanghai")  # times on the desk are China Standard Time
LANG_COOKIE = "desk_lang"  # the language chosen on any page (path /), named when the desk had it

# libyaml's loader where PyYAML has it: the pure-Python one took ten times as long to
# parse these texts at every process's start (they load the same; tests/unit/test_i18n.py).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TEXTS = yaml.load(
    (Path(__file__).parent / "texts.yaml").read_text(encoding="utf-8"), Loader=_LOADER
)
TEXT: dict[str, tuple[str, str]] = {key: (v["zh"], v["en"]) for key, v in _TEXTS.items()}
# Each language's words by key, for the templates: `tx[key]` is a lookup where `t(lang, key)`
# is a call through the template's context, several times its cost (a card shows dozens).
WORDS: dict[Lang, dict[str, str]] = {
    lang: {key: v[lang] for key, v in _TEXTS.items()} for lang in LANGS
}


def lang_of(raw: str | None) -> Lang:
    return "en" if raw == "en" else "zh"


def accepted(header: str | None) -> Lang | None:
    """The first of zh and en an `Accept-Language` header prefers, by its q values."""
    best: tuple[float, Lang] | None = None
    for item in (header or "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = params.strip().removeprefix("q=")
        try:
            weight = float(q) if params else 1.0
        except ValueError:
            continue
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, "en" if primary == "en" else "zh")
    return best[1] if best else None


def t(lang: Lang, key: str, **values: object) -> str:
    zh, en = TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def word(lang: Lang, value: str) -> str:
    """A profile value (kind, channel, product, industry, province) in the language."""
    if lang == "en":
        return value.replace("_", " ")
    return LEVELS_ZH.get(value) or PRODUCTS_ZH.get(value) or value


@cache
def _pattern(digits: int) -> NumberPattern:
    # What format_decimal parses from the pattern on every call, parsed once.
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


def number(lang: Lang, value: float, digits: int = 0) -> str:
    text: str = _pattern(digits).apply(value, LOCALES[lang])
    return text


def money(lang: Lang, yuan: float) -> str:
    amount = number(lang, round(yuan))
    return f"{amount} 元" if lang == "zh" else f"¥{amount}".replace("¥-", "-¥")


def day(lang: Lang, value: date) -> str:
    return format_date(value, format="long" if lang == "zh" else "medium", locale=LOCALES[lang])


def moment(lang: Lang, value: datetime) -> str:
    return format_datetime(value, format="short", tzinfo=TIMEZONE, locale=LOCALES[lang])
