"""The desk's templates look their words up (`tx[key]`), where a missing key would show as
nothing: every key they name has its words in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from app.desk import pages
from app.i18n.texts import LANGS, WORDS

TEMPLATES = Path(pages.__file__).parent / "templates"
LOOKUP = re.compile(r"\btx\[([^\]]+)\]")
QUOTED = re.compile(r"'([^']+)'")


def test_every_word_a_template_looks_up_is_there_in_both_languages() -> None:
    named = {
        key
        for template in TEMPLATES.glob("*.html")
        for lookup in LOOKUP.findall(template.read_text(encoding="utf-8"))
        for key in QUOTED.findall(lookup)
    }
    assert {"desk", "say", "schedule_say", "callback_at"} <= named
    for lang in LANGS:
        assert named - WORDS[lang].keys() == set(), lang
        assert all(WORDS[lang][key] for key in named)
