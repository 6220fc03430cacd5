"""What the report calls each class, column and action, in Chinese or English.

The words are the pages' own (app/i18n/texts.yaml: the desk's tier, stage and scale names,
the profile's values); the actions' titles come from the run's action catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.i18n.texts import TEXT, Lang, t, word
from app.yamltext import load_yaml

# A class left empty, per dimension: what it means there.
_EMPTY = {
    "abc_grade": "book_not_graded",
    "prospect_grade": "book_not_prospect",
    "group_scale": "individual",
}
_PREFIX = {
    "value_tier": "tier_",
    "risk_tier": "tier_",
    "lifecycle_stage": "stage_",
    "group_scale": "scale_",
}
NEW, GONE = "+new", "-gone"  # a client in one run only, in the comparison's tables

Titles = Mapping[str, tuple[str, str]]  # action code -> (zh, en)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def label(lang: Lang, column: str, value: Any) -> str:
    """A cell's value in words: a class, a province, a channel, an industry..."""
    if value is None:
        return t(lang, _EMPTY.get(column, "book_not_applicable"))
    if value in (NEW, GONE):
        return t(lang, "book_new" if value == NEW else "book_gone")
    text = str(value)
    prefix = _PREFIX.get(column)
    if prefix and f"{prefix}{text}" in TEXT:
        return _first_upper(t(lang, f"{prefix}{text}"))
    if column == "abc_grade":
        return _first_upper(t(lang, "grade", g=text))
    if column == "prospect_grade":
        return _first_upper(t(lang, "prospect_grade", g=text))
    shown = word(lang, text)
    return shown.title() if column == "province" and lang == "en" else _first_upper(shown)


def heading(lang: Lang, column: str) -> str:
    """A column's title."""
    for key in (f"book_col_{column}", f"book_dim_{column}", column):
        if key in TEXT:
            return t(lang, key)
    return _first_upper(column.replace("_", " "))


def action_label(lang: Lang, titles: Titles, code: str) -> str:
    zh, en = titles.get(code) or (code, _first_upper(code.replace("_", " ")))
    return zh if lang == "zh" else en


def catalogue_titles(folders: list[Path]) -> dict[str, tuple[str, str]]:
    """The actions' titles from the first of `folders` holding a `ruleset.yaml`."""
    for folder in folders:
        path = folder / "ruleset.yaml"
        if path.is_file():
            document = load_yaml(path.read_text(encoding="utf-8")) or {}
            return {
                str(a["code"]): (str(a.get("zh", a["code"])), str(a.get("en", a["code"])))
                for a in document.get("actions") or []
                if isinstance(a, dict) and "code" in a
            }
    return {}
