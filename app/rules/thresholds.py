"""The parameters of `ruleset.yaml` an analyst changes to explore (CLV, ABC shares), and a
candidate ruleset with some of them changed.

A change rewrites only the value on its line of `ruleset.yaml`, so the candidate keeps the
file's comments and order; the result is read back to check that every value landed. Values
are checked as `ruleset.yaml` is checked (`RulesetDocument`), each problem naming its field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from app.errors import FieldError
from app.rules.parameters import RulesetDocument
from app.rules.ruleset import RULESET_FILE
from app.yamltext import load_yaml

_SEGMENT = ("service_cost_per_year", "average_claim_amount", "first_year_premium")
# Dotted paths into ruleset.yaml, in the order a page lists them.
THRESHOLDS: tuple[str, ...] = (
    "abc.a_share",
    "abc.b_share",
    "clv.horizon_years",
    "clv.discount_rate",
    "clv.expense_ratio",
    *(f"clv.segments.{kind}.{name}" for kind in ("individual", "corporate") for name in _SEGMENT),
)
_INTEGERS = frozenset({"clv.horizon_years"})
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")
_COMMENT = re.compile(r"\s+#.*$")


class ThresholdsRefused(ValueError):
    """The changes as entered are not a ruleset: each problem names its field."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.detail}" for p in problems))
        self.problems = problems


def _get(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(document: dict[str, Any], path: str, value: float) -> None:
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def current(files: Mapping[str, bytes]) -> dict[str, Any]:
    """Each threshold's value in the ruleset's `ruleset.yaml`."""
    document = load_yaml(files[RULESET_FILE])
    return {path: _get(document, path) for path in THRESHOLDS}


def parse(form: Mapping[str, str]) -> dict[str, float]:
    """The thresholds as numbers; `ThresholdsRefused` naming each that is not a finite one."""
    values: dict[str, float] = {}
    problems: list[FieldError] = []
    for path in THRESHOLDS:
        raw = (form.get(path) or "").strip()
        try:
            number = float(raw)
        except ValueError:
            problems.append(FieldError(path, "not_a_number", f"{raw!r} is not a number", "form"))
            continue
        if not math.isfinite(number):
            problems.append(FieldError(path, "not_a_number", "must be a finite number", "form"))
            continue
        values[path] = int(number) if path in _INTEGERS and number.is_integer() else number
    if problems:
        raise ThresholdsRefused(problems)
    return values


def _literal(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    text = repr(float(value))
    return text if "e" not in text else f"{value:.12f}".rstrip("0")


def _rewrite(text: str, changes: Mapping[str, float]) -> str:
    lines = text.splitlines(keepends=True)
    stack: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        found = _KEY.match(line.rstrip("\n"))
        if not found:
            continue
        indent = len(found["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(key for _, key in stack), found["key"]])
        stack.append((indent, found["key"]))
        if path in changes:
            comment = _COMMENT.search(found["rest"])
            tail = comment.group(0) if comment else ""
            ending = "\n" if line.endswith("\n") else ""
            literal = _literal(changes[path])
            lines[i] = f"{found['indent']}{found['key']}: {literal}{tail}{ending}"
    return "".join(lines)


def changed(files: Mapping[str, bytes], values: Mapping[str, float]) -> dict[str, bytes]:
    """`files` with the thresholds that differ from `values` rewritten in `ruleset.yaml`;
    `ThresholdsRefused` if a value is out of its range (as `ruleset.yaml` is checked)."""
    before = current(files)
    changes = {p: v for p, v in values.items() if p in before and before[p] != v}
    document = load_yaml(files[RULESET_FILE])
    for path, value in changes.items():
        _set(document, path, value)
    try:
        RulesetDocument.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            at = ".".join(str(p) for p in error["loc"])
            problems.append(FieldError(at, "out_of_range", error["msg"], "form"))
        raise ThresholdsRefused(problems) from exc
    text = _rewrite(files[RULESET_FILE].decode("utf-8"), changes)
    written = load_yaml(text)
    if any(_get(written, path) != value for path, value in changes.items()):
        # A layout the line rewrite does not follow (e.g. flow style): write it whole.
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return {**files, RULESET_FILE: text.encode("utf-8")}


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The thresholds whose value differs, as (before, after)."""
    return {p: (before.get(p), after.get(p)) for p in THRESHOLDS if before.get(p) != after.get(p)}
