"""The compiled decision tables against zen-engine: the same outcome, or a clear refusal.

zen-engine is the reference throughout (`ruleset.engine`, never `Ruleset.evaluate`, which
runs the compiled tables when it can): every cell on every kind of value, then whole clients
drawn around every threshold of the shipped tables, one by one and as batches, then the
ruleset's own example cases.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import yaml
import zen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.profiles.enums import Channel, Industry, Ownership, Product, PropertyCondition
from app.rules.cases import CLASSIFY_SECTION, parse_cases
from app.rules.compiler.codegen import (
    CompiledRules,
    UnsupportedRule,
    compile_cell,
)
from app.rules.compiler.expressions import (
    INT_RANGE,
    Unsupported,
    float_limit,
    zen_contains,
    zen_len,
)
from app.rules.engine import DIMENSIONS, STRATEGY
from app.rules.errors import RuleEvaluationFailed
from app.rules.facts import ClassificationFacts
from app.rules.ruleset import DEFAULT_RULESET_DIR, Ruleset, read_ruleset_files
from app.rules.store import RulesetStore

Outcome = Any  # a RuleOutcome, or "failed" where the evaluation raised RuleEvaluationFailed


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return RulesetStore(DEFAULT_RULESET_DIR).load_active()


@pytest.fixture(scope="module")
def compiled(ruleset: Ruleset) -> CompiledRules:
    assert ruleset.compiled is not None  # the shipped ruleset runs compiled
    return ruleset.compiled


def shipped_tables() -> dict[str, dict[str, Any]]:
    tables = {}
    for path in sorted((DEFAULT_RULESET_DIR / "tables").glob("*.json")):
        graph = json.loads(path.read_text())
        node = next(n for n in graph["nodes"] if n["type"] == "decisionTableNode")
        tables[path.stem] = node["content"]
    return tables


def shipped_cells() -> list[str]:
    cells = set()
    for content in shipped_tables().values():
        for row in content["rules"]:
            cells |= {row.get(column["id"], "").strip() for column in content["inputs"]}
    return sorted(cells)


PARAMS = {"abc_a_min_percentile": 80.0, "abc_b_min_percentile": 50.0}
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
THRESHOLDS = sorted(
    {float(n) for cell in shipped_cells() for n in NUMBER.findall(cell)} | set(PARAMS.values())
)


# --- one cell, one value ---------------------------------------------------------------------

# Every type zen tells apart, numbers at and around thresholds, and floats zen rounds.
VALUES: list[Any] = [
    None, True, False, 0, 0.0, -0.0, 1, 1.0, -1, 2, 5, 30, 70, 80, 300,
    0.05, math.nextafter(0.05, 0), math.nextafter(0.05, 1), 0.1 + 0.2, 0.3,
    math.nextafter(0.3, 0), 0.7999999999999999, 0.8, 69.99999999999999, 1e-30, 5e-29,
    1.0000000000000002, 2**53 + 1, 1e27, "", "a", "b", "0", "true", "null", "high", "finance",
    "at_risk", "corporate", [], ["a"], ("a", "b"), ["finance"], {"a": 1},
]  # fmt: skip
EXTRA_CELLS = [
    '"a", null', "'a'", "null", "-1", "< -1", "$ == 0.3", "$ != 0", "$ in [1, 2]",
    '$ in ["a", null]', "$ != null and $ >= 0.8", "$ == true or $ == 1", '$ != "a" and $ != "b"',
    "$ >= 0.8 or $ == null", "params.abc_a_min_percentile", ">= params.abc_b_min_percentile",
    '"a", "b", "c"', "< 0.30000000000000004", "len($) >= 1", 'contains($, "a") == true',
    'contains($, "a") != false',
]  # fmt: skip


def zen_unary(cell: str, value: Any) -> bool:
    """A cell as zen's decision table reads it: an error does not match."""
    try:
        return zen.evaluate_unary_expression(cell, {"$": value, "params": PARAMS}) is True
    except Exception:  # zen raises plain exceptions
        return False


def object_column(values: Sequence[Any]) -> np.ndarray[Any, Any]:
    return np.fromiter(values, dtype=object, count=len(values))


@pytest.mark.parametrize("cell", shipped_cells() + EXTRA_CELLS)
def test_a_cell_matches_each_value_as_zen_does(cell: str) -> None:
    compiled = compile_cell(cell, PARAMS)
    expected = [zen_unary(cell, value) if cell else True for value in VALUES]
    assert [compiled.match(value) for value in VALUES] == expected
    assert compiled.match_column(object_column(VALUES)).tolist() == expected
    numbers = [v for v in VALUES if v is None or type(v) in (int, float)]
    floats = np.array([math.nan if v is None else v for v in numbers], dtype=np.float64)
    expected_numbers = [zen_unary(cell, v) if cell else True for v in numbers]
    assert compiled.match_column(floats).tolist() == expected_numbers


@pytest.mark.parametrize(
    ("function", "ours"),
    [("len(p)", zen_len), ('contains(p, "a")', lambda v: zen_contains(v, "a"))],
)
def test_len_and_contains_answer_or_fail_as_in_zen(
    function: str, ours: Callable[[Any], Any]
) -> None:
    for value in [None, 3, True, "", "a", "héé", [], ["a", "b"], ("b",), {"a": 1}]:
        try:
            expected: Any = zen.evaluate_expression(function, {"p": value})
        except Exception:  # zen raises plain exceptions
            expected = "error"
        got = ours(value)
        assert (repr(got) == "ERROR" and expected == "error") or got == expected, value


def test_the_values_zen_takes_into_its_context_are_the_ones_checked() -> None:
    def takes(value: Any) -> bool:
        try:
            zen.evaluate_expression("x", {"x": value})
        except Exception:  # zen raises plain exceptions
            return False
        return True

    limit = float_limit()
    assert takes(limit)
    assert takes(-limit)
    assert not takes(math.nextafter(limit, math.inf))
    assert not takes(math.nan)
    assert takes(INT_RANGE[0])
    assert takes(INT_RANGE[1])
    assert not takes(INT_RANGE[0] - 1)
    assert not takes(INT_RANGE[1] + 1)


@pytest.mark.parametrize(
    "cell",
    [
        "[0.8..1]",
        "not($ == 1)",
        "$ > renewal_rate",
        "($ == 1)",
        '< "b"',
        "1e3",
        "1_000",
        "$ == null or $ >= 0.8 and $ <= 1",
        'startsWith($, "a")',
        "$root.kind",
        ">= params.unknown",
        "0.8 <= $",
    ],
)
def test_a_cell_outside_the_subset_is_refused(cell: str) -> None:
    with pytest.raises(Unsupported):
        compile_cell(cell, PARAMS)


# --- whole clients: property tests against zen -----------------------------------------------

SPECIAL = [0.1 + 0.2, 0.7999999999999999, 69.99999999999999, 1e-30, 5e-29, 1e-9]
HUGE = [1e29, float_limit(), math.nextafter(float_limit(), math.inf), 2**64 - 1, 2**64]


def edge_values(low: float, high: float, *, integer: bool) -> list[Any]:
    values: set[Any] = set()
    for t in THRESHOLDS:
        if integer:
            values |= {int(t) - 1, int(t), int(t) + 1} if t == int(t) else set()
        else:
            values |= {t, math.nextafter(t, -math.inf), math.nextafter(t, math.inf)}
    values |= set() if integer else set(SPECIAL)
    return sorted(v for v in values if low <= v <= high)


def number(
    low: float, high: float, *, integer: bool = False, optional: bool = True, huge: bool = False
) -> st.SearchStrategy[Any]:
    drawn: st.SearchStrategy[Any] = st.sampled_from(edge_values(low, high, integer=integer))
    if integer:
        drawn |= st.integers(int(low), int(min(high, 10**6)))
    else:
        drawn |= st.floats(low, min(high, 1e12), allow_nan=False, allow_infinity=False)
    if huge:  # beyond what zen takes: the whole evaluation fails, compiled or not
        drawn |= st.sampled_from([h for h in HUGE if isinstance(h, int) == integer])
    return st.none() | drawn if optional else drawn


def maybe(values: Sequence[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


def count(huge: bool = False) -> st.SearchStrategy[Any]:
    return number(0, 10**6, integer=True, optional=False, huge=huge)


def enum_values(enum: Any) -> list[str]:
    return [member.value for member in enum]


FACTS = st.builds(
    ClassificationFacts,
    kind=st.sampled_from(["individual", "corporate"]),
    age=number(0, 130, integer=True),
    occupation_class=number(1, 6, integer=True),
    industry=maybe(enum_values(Industry)),
    employees=number(0, 10**7, integer=True, huge=True),
    annual_revenue=number(0, math.inf, huge=True),
    ownership=maybe(enum_values(Ownership)),
    channel=maybe(enum_values(Channel)),
    has_first_policy=st.booleans(),
    tenure_years=number(0, 50),
    in_force_policies=count(huge=True),
    products_held=st.lists(st.sampled_from(enum_values(Product)), unique=True).map(tuple),
    annual_premium=number(0, 1e7, optional=False),
    renewals=st.integers(0, 12),
    lapses=st.integers(0, 12),
    claim_count_3y=count(),
    complaints_12m=count(),
    missed_payments_12m=count(),
    interactions_12m=count(),
    referrals=count(),
    days_since_last_interaction=number(0, 10**5, integer=True),
    renewal_intent=maybe([True, False]),
    campaign_target=st.booleans(),
    flood_zone=maybe([True, False]),
    typhoon_zone=maybe([True, False]),
    property_condition=maybe(enum_values(PropertyCondition)),
    lapse_probability=number(0, 1),
    expected_claim_frequency=number(0, math.inf, huge=True),
    expected_loss_ratio=number(0, math.inf, huge=True),
    purchase_probability=number(0, 1),
    clv=number(-1e7, 1e9, optional=False),
    clv_percentile=number(0, 100, optional=False),
)


def outcome_of(evaluate: Callable[[Any], Any], facts: Any) -> Outcome:
    try:
        return evaluate(facts)
    except RuleEvaluationFailed:
        return "failed"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=FACTS)
def test_one_client_is_classified_as_zen_does(
    ruleset: Ruleset, compiled: CompiledRules, facts: ClassificationFacts
) -> None:
    expected = outcome_of(ruleset.engine.evaluate, facts)
    assert outcome_of(compiled.evaluate, facts.model_dump()) == expected
    assert outcome_of(compiled.evaluate, facts.model_dump(mode="json")) == expected
    assert outcome_of(compiled.evaluate_facts, facts) == expected
    assert outcome_of(compiled.evaluate, ruleset.engine.context(facts)) == expected


def typed_columns(columns: Mapping[str, np.ndarray[Any, Any]]) -> dict[str, Any]:
    """The columns as facts_columns builds them: floats with NaN, bools, objects for the rest."""
    typed: dict[str, Any] = {}
    for name, column in columns.items():
        values = column.tolist()
        if all(type(v) is bool for v in values):
            typed[name] = np.array(values, dtype=bool)
        elif all(v is None or (type(v) in (int, float) and abs(v) <= 2**53) for v in values):
            typed[name] = np.array([math.nan if v is None else v for v in values], dtype=float)
        else:
            typed[name] = column
    return typed


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(FACTS, min_size=1, max_size=400))
def test_a_batch_is_classified_as_zen_does(
    ruleset: Ruleset, compiled: CompiledRules, batch: list[ClassificationFacts]
) -> None:
    expected = [outcome_of(ruleset.engine.evaluate, facts) for facts in batch]
    columns = compiled.columns_from_facts([facts.model_dump() for facts in batch])
    for given_columns in (columns, typed_columns(columns)):
        if "failed" in expected:
            with pytest.raises(RuleEvaluationFailed, match="outside what zen-engine accepts"):
                compiled.evaluate_columns(given_columns)
            continue
        result = compiled.evaluate_columns(given_columns)
        assert [result.outcome(i) for i in range(len(batch))] == expected
        assert result.outcomes() == expected
        for name in DIMENSIONS:
            assert result.outputs[name].tolist() == [getattr(o, name) for o in expected]
        for i, outcome in enumerate(expected):
            fired = [r.row - 1 for r in outcome.rules_fired if r.table == STRATEGY]
            assert np.flatnonzero(result.strategy[i]).tolist() == fired


def test_a_plain_python_value_is_required_not_a_numpy_scalar(
    compiled: CompiledRules,
) -> None:
    facts = ClassificationFacts(kind="individual").model_dump()
    with pytest.raises(TypeError, match="clv_percentile"):
        compiled.evaluate({**facts, "clv_percentile": np.float64(75.0)})


# --- the ruleset's example cases -------------------------------------------------------------


def case_sections() -> dict[str, list[Any]]:
    sections, problems = parse_cases(
        yaml.safe_load((DEFAULT_RULESET_DIR / "cases.yaml").read_text())
    )
    assert not problems
    return sections


def case_values(table: str, given: Mapping[str, Any]) -> dict[str, Any]:
    upstream = {k: v for k, v in given.items() if table == STRATEGY and k in DIMENSIONS}
    facts = {k: v for k, v in given.items() if k not in upstream}
    model = ClassificationFacts.model_validate({"kind": "individual", **facts})
    return {**model.model_dump(mode="json"), **upstream}


@pytest.mark.parametrize("table", [*DIMENSIONS, STRATEGY])
def test_every_table_case_gives_its_expected_rows_in_both_paths(
    ruleset: Ruleset, compiled: CompiledRules, table: str
) -> None:
    cases = case_sections()[table]
    contexts = [case_values(table, case.input) for case in cases]
    outputs = compiled.tables[table].outputs
    matched = compiled.match_columns(table, compiled.columns_from_facts(contexts, upstream=True))
    for i, (case, values) in enumerate(zip(cases, contexts, strict=True)):
        rows = compiled.match(table, values)
        assert np.flatnonzero(matched[i]).tolist() == list(rows), case.name
        context = {**ruleset.engine.context(ClassificationFacts(kind="individual")), **values}
        if table == STRATEGY:
            _actions, fired = ruleset.engine.actions(context)
            assert [r.row - 1 for r in fired] == list(rows), case.name
            codes = {str(outputs[r]["action"]) for r in rows}
            assert codes == set(case.expect["actions"]), case.name
        else:
            _, fired_row = ruleset.engine.dimension(table, context)
            assert rows == (fired_row.row - 1,), case.name
            assert outputs[rows[0]][table] == case.expect[table], case.name


def test_every_classify_case_gives_zens_outcome_in_both_paths(
    ruleset: Ruleset, compiled: CompiledRules
) -> None:
    cases = case_sections()[CLASSIFY_SECTION]
    assert cases
    facts = [ClassificationFacts.model_validate({"kind": "individual", **c.input}) for c in cases]
    expected = [ruleset.engine.evaluate(f) for f in facts]
    assert [compiled.evaluate(f.model_dump(mode="json")) for f in facts] == expected
    columns = compiled.columns_from_facts([f.model_dump() for f in facts])
    assert compiled.evaluate_columns(columns).outcomes() == expected


# --- refusal ---------------------------------------------------------------------------------


def test_a_ruleset_with_an_unsupported_cell_is_refused_naming_table_row_and_column(
    caplog: pytest.LogCaptureFixture,
) -> None:
    files = read_ruleset_files(DEFAULT_RULESET_DIR)
    table = "tables/value_tier.json"
    # The same rule in a form zen reads but the compiler does not: the ruleset still loads.
    old, new = "$ == null or $ >= 0.8", "$ == null or 0.8 <= $"
    assert old.encode() in files[table]
    changed = {**files, table: files[table].replace(old.encode(), new.encode())}
    with caplog.at_level(logging.WARNING, logger="clientscore.rules"):
        ruleset = Ruleset.from_files(changed)
    document = ruleset.document
    with pytest.raises(UnsupportedRule) as refused:
        CompiledRules.from_tables(ruleset.tables, document.actions, document.table_params())
    assert str(refused.value).startswith(
        "tables/value_tier.json: row 2 (top-renews-few-claims), renewal_rate: "
        "'$ == null or 0.8 <= $'"
    )
    assert (refused.value.table, refused.value.text) == ("value_tier", new)
    assert ruleset.compiled is None
    assert "runs on zen-engine" in caplog.text
    assert "row 2 (top-renews-few-claims)" in caplog.text
