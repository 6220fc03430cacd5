"""The thresholds of `ruleset.yaml` an analyst changes: read, parsed, rewritten in place."""

from __future__ import annotations

import pytest
import yaml

from app.rules import thresholds
from app.rules.errors import RulesetRefused
from app.rules.ruleset import DEFAULT_RULESET_DIR, RULESET_FILE, Ruleset, read_ruleset_files
from app.rules.store import check_candidate

FILES = read_ruleset_files(DEFAULT_RULESET_DIR)


def test_a_change_rewrites_only_its_line_and_keeps_the_comments() -> None:
    values = thresholds.current(FILES) | {"clv.expense_ratio": 0.3, "abc.b_share": 0.35}
    changed = thresholds.changed(FILES, values)
    before = FILES[RULESET_FILE].decode().splitlines()
    after = changed[RULESET_FILE].decode().splitlines()
    differing = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert differing == [
        (
            "  expense_ratio: 0.25 # acquisition, commission and administration, share of premium",
            "  expense_ratio: 0.3 # acquisition, commission and administration, share of premium",
        ),
        ("  b_share: 0.3", "  b_share: 0.35"),
    ]
    assert thresholds.current(changed) == values
    assert {p for p in FILES if FILES[p] != changed[p]} == {RULESET_FILE}


def test_every_threshold_is_read_from_the_shipped_ruleset() -> None:
    values = thresholds.current(FILES)
    assert set(values) == set(thresholds.THRESHOLDS)
    assert all(isinstance(v, int | float) for v in values.values())
    document = yaml.safe_load(FILES[RULESET_FILE])
    assert (
        values["clv.segments.corporate.first_year_premium"]
        == (document["clv"]["segments"]["corporate"]["first_year_premium"])
    )


@pytest.mark.parametrize(
    ("field", "entered", "words"),
    [("clv.expense_ratio", "high", "not a number"), ("abc.a_share", "nan", "finite")],
)
def test_what_is_not_a_number_is_named(field: str, entered: str, words: str) -> None:
    form = {k: str(v) for k, v in thresholds.current(FILES).items()} | {field: entered}
    with pytest.raises(thresholds.ThresholdsRefused) as refused:
        thresholds.parse(form)
    [problem] = refused.value.problems
    assert problem.field == field
    assert words in problem.detail


def test_out_of_range_values_are_refused_naming_the_field() -> None:
    values = thresholds.current(FILES) | {"clv.discount_rate": 1.5, "clv.horizon_years": 0}
    with pytest.raises(thresholds.ThresholdsRefused) as refused:
        thresholds.changed(FILES, values)
    assert sorted(p.field for p in refused.value.problems) == [
        "clv.discount_rate",
        "clv.horizon_years",
    ]


def test_a_candidate_that_breaks_cases_is_explored_but_never_checked_for_activation() -> None:
    values = thresholds.current(FILES) | {"abc.a_share": 0.25}
    candidate = thresholds.changed(FILES, values)
    explored = Ruleset.from_files(candidate, cases="report")
    assert explored.failing_cases
    assert all(p.field.startswith("cases.yaml: abc_grade") for p in explored.failing_cases)
    with pytest.raises(RulesetRefused, match="abc_grade"):
        check_candidate(candidate, source="test")
    assert Ruleset.from_files(FILES).failing_cases == []
