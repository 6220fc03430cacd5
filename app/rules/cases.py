"""The ruleset's example cases (`cases.yaml`): inputs and the outputs each table must give.

A case's `input` holds facts (see `ClassificationFacts`; unset counts are 0, unset facts null,
`kind` defaults to individual); a strategy case may also set the dimension tables' outputs.
Section `classify` runs all tables on the facts and checks the whole outcome.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import FieldError
from app.rules.engine import DIMENSIONS, STRATEGY, RulesEngine
from app.rules.errors import RuleEvaluationFailed
from app.rules.facts import ClassificationFacts
from app.rules.jdm import TABLE_NAMES, TABLES
from app.rules.outcome import RuleFired, RuleOutcome

CLASSIFY_SECTION = "classify"
OUTCOME_FIELDS = (*DIMENSIONS, "actions", "actions_include")
SPECS = {spec.name: spec for spec in TABLES}


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(min_length=1)


class _Run:
    def __init__(self, engine: RulesEngine) -> None:
        self.engine = engine
        self.problems: list[FieldError] = []

    def fail(self, where: str, rule: str, detail: str) -> None:
        field = f"cases.yaml: {where}"
        self.problems.append(FieldError(field=field, rule=rule, detail=detail, location="ruleset"))

    def facts(self, where: str, values: dict[str, Any]) -> ClassificationFacts | None:
        try:
            return ClassificationFacts.model_validate({"kind": "individual", **values})
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                at = "input." + ".".join(str(p) for p in error["loc"])
                self.fail(where, "invalid_case", f"{at}: {error['msg']}")
            return None

    def compare(self, where: str, field: str, got: Any, want: Any, fired: list[RuleFired]) -> None:
        if got != want:
            rows = "; ".join(f"row {r.row} {r.rule_id} ({r.description})" for r in fired)
            detail = f"{field} is {got!r}, expected {want!r}; matched {rows or 'no row'}"
            self.fail(where, "case_failed", detail)

    def table_case(self, table: str, case: Case) -> None:
        where = f"{table}, case '{case.name}'"
        upstream = {k: v for k, v in case.input.items() if table == STRATEGY and k in DIMENSIONS}
        facts = self.facts(where, {k: v for k, v in case.input.items() if k not in upstream})
        expected = {"actions"} if table == STRATEGY else {table}
        if set(case.expect) != expected:
            self.fail(where, "invalid_case", f"expect must give exactly {', '.join(expected)}")
            return
        for name, value in upstream.items():
            allowed = SPECS[name].outputs[name] or ()
            if value not in allowed:
                options = ", ".join(sorted(str(v) for v in allowed))
                self.fail(where, "invalid_case", f"input.{name}: {value!r} is not one of {options}")
                facts = None
        if facts is None:
            return
        context = self.engine.context(facts, **upstream)
        if table == STRATEGY:
            actions, fired = self.engine.actions(context)
            codes = [a.code for a in actions]
            self.compare(where, "actions", codes, case.expect["actions"], fired)
        else:
            value, row = self.engine.dimension(table, context)
            self.compare(where, table, value, case.expect[table], [row])

    def classify_case(self, case: Case) -> None:
        where = f"{CLASSIFY_SECTION}, case '{case.name}'"
        unknown = sorted(set(case.expect) - set(OUTCOME_FIELDS))
        if unknown:
            self.fail(where, "invalid_case", f"expect has unknown keys: {', '.join(unknown)}")
            return
        facts = self.facts(where, case.input)
        if facts is None:
            return
        outcome = self.engine.evaluate(facts)
        fired = list(outcome.rules_fired)
        for field, want in case.expect.items():
            self.compare(where, field, _observed(outcome, field, want), want, fired)


def _observed(outcome: RuleOutcome, field: str, want: Any) -> Any:
    codes = [a.code for a in outcome.actions]
    if field == "actions":
        return codes
    if field == "actions_include":
        # Report what is missing in the wanted form, so the message reads as a diff.
        return [code for code in want if code in codes] if isinstance(want, list) else codes
    return getattr(outcome, field)


def parse_cases(document: Any) -> tuple[dict[str, list[Case]], list[FieldError]]:
    """The cases per section, or the problems with the document (section and case named)."""
    problems: list[FieldError] = []

    def fail(where: str, detail: str) -> None:
        problems.append(FieldError(f"cases.yaml: {where}", "invalid_case", detail, "ruleset"))

    if not isinstance(document, dict):
        fail("document", "must be a mapping of table name to a list of cases")
        return {}, problems
    sections: dict[str, list[Case]] = {}
    for section in sorted(set(document) - {*TABLE_NAMES, CLASSIFY_SECTION}):
        fail(str(section), "is not a table of this ruleset")
    for section in (*TABLE_NAMES, CLASSIFY_SECTION):
        items = document.get(section) or []
        if section != CLASSIFY_SECTION and not items:
            fail(section, "the table has no example cases; every table needs at least one")
        if not isinstance(items, list):
            fail(section, "must be a list of cases")
            continue
        sections[section] = []
        for position, item in enumerate(items, start=1):
            try:
                sections[section].append(Case.model_validate(item))
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    at = ".".join(str(p) for p in error["loc"])
                    fail(f"{section}, case {position}", f"{at}: {error['msg']}")
    return sections, problems


def run_cases(engine: RulesEngine, sections: dict[str, list[Case]]) -> list[FieldError]:
    """Every case run; the problems name the table, the case and the field that differs."""
    run = _Run(engine)
    for section, cases in sections.items():
        for case in cases:
            try:
                if section == CLASSIFY_SECTION:
                    run.classify_case(case)
                else:
                    run.table_case(section, case)
            except RuleEvaluationFailed as exc:
                run.fail(f"{section}, case '{case.name}'", "case_failed", exc.detail)
    return run.problems
