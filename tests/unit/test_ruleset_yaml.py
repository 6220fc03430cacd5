"""A ruleset's YAML files are read by libyaml where PyYAML has it, for a faster load: they
read as PyYAML's own safe loader reads them, and a file that is not YAML is refused in that
loader's words."""

from __future__ import annotations

import pytest
import yaml

from app.rules.errors import RulesetRefused
from app.rules.ruleset import DEFAULT_RULESET_DIR, Ruleset, read_ruleset_files

BROKEN = b"clv:\n  horizon_years: [5\n  discount_rate: 0.05\n"


@pytest.mark.parametrize("name", ["ruleset.yaml", "cases.yaml"])
def test_the_shipped_files_read_as_the_pure_python_loader_reads_them(name: str) -> None:
    raw = read_ruleset_files(DEFAULT_RULESET_DIR)[name]

    assert yaml.load(raw, Loader=yaml.CSafeLoader) == yaml.safe_load(raw)


def test_a_file_that_is_not_yaml_is_refused_in_the_pure_python_loader_s_words() -> None:
    with pytest.raises(yaml.YAMLError) as parsing:
        yaml.safe_load(BROKEN)
    files = {**read_ruleset_files(DEFAULT_RULESET_DIR), "ruleset.yaml": BROKEN}

    with pytest.raises(RulesetRefused) as refused:
        Ruleset.from_files(files, source="test")

    assert [e.detail for e in refused.value.errors if e.field == "ruleset.yaml"] == [
        f"not valid YAML: {parsing.value}"
    ]
