"""A ruleset file that is not YAML is refused in the words of PyYAML's Python parser, which
quote the line at fault, though libyaml reads the files (tests/unit/test_yamltext.py)."""

from __future__ import annotations

import pytest
import yaml

from app.rules.errors import RulesetRefused
from app.rules.ruleset import DEFAULT_RULESET_DIR, Ruleset, read_ruleset_files

BROKEN = b"clv:\n  horizon_years: [5\n  discount_rate: 0.05\n"


def test_a_file_that_is_not_yaml_is_refused_in_the_pure_python_loader_s_words() -> None:
    with pytest.raises(yaml.YAMLError) as parsing:
        yaml.safe_load(BROKEN)
    files = {**read_ruleset_files(DEFAULT_RULESET_DIR), "ruleset.yaml": BROKEN}

    with pytest.raises(RulesetRefused) as refused:
        Ruleset.from_files(files, source="test")

    assert [e.detail for e in refused.value.errors if e.field == "ruleset.yaml"] == [
        f"not valid YAML: {parsing.value}"
    ]
