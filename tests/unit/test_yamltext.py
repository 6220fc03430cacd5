"""The C parser reads every shipped YAML file into what PyYAML's Python parser reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.yamltext import LOADER, load_yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    path
    for pattern in ("rules/**/*.yaml", "app/**/*.yaml", "examples/**/*.yaml", "deploy/**/*.yml")
    for path in ROOT.glob(pattern)
)


def test_the_c_parser_is_used_where_pyyaml_has_it() -> None:
    assert SHIPPED, "no YAML file found"
    if yaml.__with_libyaml__:
        assert LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_shipped_file_reads_as_the_python_parser_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.load(text, Loader=yaml.SafeLoader)
    assert load_yaml(text.encode()) == load_yaml(text)


def test_only_safe_constructors_and_a_refusal_in_the_python_parser_s_words() -> None:
    broken = "a: [1, 2\nb: 3"
    with pytest.raises(yaml.YAMLError) as python:
        yaml.load(broken, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.YAMLError, match="line 2") as ours:
        load_yaml(broken)
    assert str(ours.value) == str(python.value)
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
