"""The pages' languages: what a browser asks for, and the report's words for every class."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.book.figures import DIMENSIONS
from app.book.labels import GONE, NEW, label
from app.i18n import texts
from app.i18n.texts import LANGS, accepted


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-GB,en;q=0.9,zh;q=0.5", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR, en;q=0.3, zh-TW;q=0.6", "zh"),
        ("de, fr", None),
        ("en;q=0, zh;q=bad", None),
        ("", None),
        (None, None),
    ],
)
def test_the_browser_s_first_choice_of_chinese_or_english(header: str | None, lang: str) -> None:
    assert accepted(header) == lang


def test_every_class_of_the_report_has_words_in_both_languages() -> None:
    for lang in LANGS:
        for dimension, names in DIMENSIONS.items():
            shown = [label(lang, dimension, name) for name in (*names, None, NEW, GONE)]
            assert len(set(shown)) == len(shown), shown  # no two classes read alike
            for text, name in zip(shown, names, strict=False):
                assert "_" not in text
                assert text != name, text
    assert label("en", "province", "inner_mongolia") == "Inner Mongolia"
    assert label("zh", "channel", "bancassurance") == "银保"
    assert label("en", "group_scale", None) == "Person"


def test_the_texts_load_as_the_pure_python_loader_reads_them() -> None:
    """The texts are parsed by libyaml where PyYAML has it, for a faster start: every text
    is what PyYAML's own safe loader reads from the file."""
    source = (Path(texts.__file__).parent / "texts.yaml").read_text(encoding="utf-8")
    expected = yaml.safe_load(source)

    assert {key: (v["zh"], v["en"]) for key, v in expected.items()} == texts.TEXT
    assert {lang: {k: v[lang] for k, v in expected.items()} for lang in LANGS} == texts.WORDS
