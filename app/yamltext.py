"""YAML documents read with libyaml's C parser where PyYAML has it (its wheels carry it).

The rules, their cases and the texts are read at every worker's start and every ruleset
activation: the C parser reads them about ten times faster than PyYAML's pure-Python one,
into the same documents (tests/unit/test_yamltext.py holds the two equal on every shipped file).
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str | bytes) -> Any:
    """One YAML document with the safe constructors only; raises `yaml.YAMLError`. A text
    libyaml refuses is read again by the Python parser, whose refusal quotes the line at fault
    (libyaml's names the place only), so a refusal reads as it always has."""
    try:
        return yaml.load(text, Loader=LOADER)
    except yaml.YAMLError:
        if LOADER is yaml.SafeLoader:
            raise
    return yaml.load(text, Loader=yaml.SafeLoader)
