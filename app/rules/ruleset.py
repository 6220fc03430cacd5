"""A ruleset: its files, their content hash, validation, and classification with it.

A ruleset is a folder (or the same files in memory, e.g. uploaded):

    ruleset.yaml          parameters (CLV, ABC shares) and the action catalogue
    cases.yaml            example cases, run on every load
    tables/<table>.json   one GoRules JDM decision graph per table (see `jdm.TABLES`)

It is accepted only whole: every file parses, every table meets its contract and every
example case passes; otherwise `RulesetRefused` lists each problem, naming file, table, row,
case and field.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from app.arrays import FloatArray
from app.errors import FieldError, Unavailable
from app.rules.cases import Case, parse_cases, run_cases
from app.rules.clv_grid import CALIBRATION_FILE, BookCalibration
from app.rules.compiler.codegen import CompiledRules, UnsupportedRule
from app.rules.engine import RulesEngine
from app.rules.errors import RulesetRefused
from app.rules.facts import ClassificationFacts, renewal_rate
from app.rules.jdm import TABLES, Table, parse_table
from app.rules.outcome import RuleOutcome
from app.rules.parameters import ClvParameters, RulesetDocument

RULESET_FILE = "ruleset.yaml"
CASES_FILE = "cases.yaml"
TABLE_DIR = "tables"
# The default ruleset ships in the repository, next to the package.
DEFAULT_RULESET_DIR = Path(__file__).resolve().parents[2] / "rules"
logger = logging.getLogger("clientscore.rules")
# Failing example cases refuse a ruleset ("enforce"), or are only reported ("report").
Cases = Literal["enforce", "report"]


def ruleset_version(files: Mapping[str, bytes]) -> str:
    """`rs-` and 12 hex digits of a sha256 over every file, in path order, path included."""
    digest = hashlib.sha256()
    for path in sorted(files):
        name = path.encode()
        for part in (name, files[path]):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return f"rs-{digest.hexdigest()[:12]}"


def read_ruleset_files(folder: Path) -> dict[str, bytes]:
    """The ruleset's files under `folder`, keyed by POSIX path relative to it."""
    if not folder.is_dir():
        raise RulesetRefused(
            str(folder), [FieldError(str(folder), "not_found", "no such folder", "ruleset")]
        )
    files = {
        name: (folder / name).read_bytes()
        for name in (RULESET_FILE, CASES_FILE, CALIBRATION_FILE)
        if (folder / name).is_file()
    }
    for path in sorted((folder / TABLE_DIR).glob("*.json")):
        files[f"{TABLE_DIR}/{path.name}"] = path.read_bytes()
    return files


def _problem(field: str, rule: str, detail: str) -> FieldError:
    return FieldError(field=field, rule=rule, detail=detail, location="ruleset")


# libyaml's loader where PyYAML has it: the pure-Python one took four fifths of a ruleset's
# load (a worker loads the active ruleset at start). A file libyaml refuses is read again by
# the pure-Python loader, so that a problem names what is wrong in the same words.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(files: Mapping[str, bytes], name: str, problems: list[FieldError]) -> Any:
    if name not in files:
        problems.append(_problem(name, "missing_file", "the file is missing"))
        return None
    try:
        return yaml.load(files[name], Loader=_FAST_LOADER)
    except yaml.YAMLError:
        pass
    try:
        return yaml.safe_load(files[name])
    except yaml.YAMLError as exc:
        problems.append(_problem(name, "invalid_yaml", f"not valid YAML: {exc}"))
        return None


def _document(raw: Any, problems: list[FieldError]) -> RulesetDocument | None:
    try:
        return RulesetDocument.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            at = ".".join(str(p) for p in error["loc"]) or "document"
            problems.append(_problem(f"{RULESET_FILE}: {at}", "invalid_parameter", error["msg"]))
        return None


def _calibration(files: Mapping[str, bytes], problems: list[FieldError]) -> BookCalibration | None:
    if CALIBRATION_FILE not in files:
        return None  # classification then refuses to grade (503) until calibrated
    try:
        return BookCalibration.model_validate_json(files[CALIBRATION_FILE])
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            at = ".".join(str(p) for p in error["loc"]) or "document"
            problems.append(
                _problem(f"{CALIBRATION_FILE}: {at}", "invalid_calibration", error["msg"])
            )
        return None


def _tables(
    files: Mapping[str, bytes], actions: list[str] | None, problems: list[FieldError]
) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    known = {f"{TABLE_DIR}/{spec.name}.json" for spec in TABLES}
    for path in sorted(p for p in files if p.startswith(f"{TABLE_DIR}/") and p not in known):
        problems.append(_problem(path, "unknown_table", "is not a table of this ruleset"))
    for spec in TABLES:
        path = f"{TABLE_DIR}/{spec.name}.json"
        if path not in files:
            problems.append(_problem(path, "missing_table", f"table {spec.name} is missing"))
            continue
        parsed = parse_table(spec, files[path], actions)
        if isinstance(parsed, Table):
            tables[spec.name] = parsed
        else:
            problems.extend(parsed)
    return tables


class Ruleset:
    """A validated ruleset, ready to classify. Build it with `from_files` or `load`."""

    def __init__(
        self,
        *,
        version: str,
        document: RulesetDocument,
        engine: RulesEngine,
        tables: Mapping[str, Table],
        cases: int,
        calibration: BookCalibration | None = None,
        compiled: CompiledRules | None = None,
        failing_cases: list[FieldError] | None = None,
    ) -> None:
        self.version = version
        # The tables as Python and NumPy (app.rules.compiler.codegen); None: zen-engine runs them.
        self.compiled = compiled
        self.calibration = calibration
        self.clv_grid = calibration.grid() if calibration else None
        self.document = document
        self.engine = engine
        self.tables = dict(tables)  # as parsed and checked, by name
        self.rows = {name: len(table.rows) for name, table in tables.items()}
        self.cases = cases  # example cases run
        # The cases that failed, when they were only reported (`from_files(cases="report")`):
        # such a ruleset may be explored (what-if) but never activated.
        self.failing_cases = list(failing_cases or [])

    @classmethod
    def from_files(
        cls, files: Mapping[str, bytes], *, source: str = "upload", cases: Cases = "enforce"
    ) -> Ruleset:
        """Check everything and run the cases; raise `RulesetRefused` listing every problem.
        `cases="report"`: failing example cases do not refuse the ruleset, they are kept in
        `failing_cases` (every other problem still refuses it)."""
        problems: list[FieldError] = []
        document = _document(_yaml(files, RULESET_FILE, problems), problems)
        known = len(problems)
        raw_cases = _yaml(files, CASES_FILE, problems)
        sections: dict[str, list[Case]] = {}
        if len(problems) == known:  # an empty file has no cases, which is a problem too
            sections, case_problems = parse_cases(raw_cases or {})
            problems.extend(case_problems)
        actions = [a.code for a in document.actions] if document else None
        tables = _tables(files, actions, problems)
        calibration = _calibration(files, problems)
        if problems or document is None:
            raise RulesetRefused(source, problems)
        engine = RulesEngine(tables, document.actions, document.table_params())
        failing = run_cases(engine, sections)
        if failing and cases != "report":
            raise RulesetRefused(source, failing)
        version = ruleset_version(files)
        return cls(
            version=version,
            document=document,
            engine=engine,
            tables=tables,
            cases=sum(len(section) for section in sections.values()),
            calibration=calibration,
            compiled=_compiled(version, tables, document),
            failing_cases=failing,
        )

    @classmethod
    def load(cls, folder: Path = DEFAULT_RULESET_DIR) -> Ruleset:
        return cls.from_files(read_ruleset_files(folder), source=str(folder))

    @cached_property
    def clv_parameters(self) -> ClvParameters:
        # Built once: a ruleset is never changed after loading, and each client reads it.
        return self.document.clv_parameters()

    def book_grid(self) -> FloatArray:
        """The book's CLV quantile grid; `Unavailable` (503) when the ruleset has none."""
        if self.clv_grid is None:
            raise Unavailable(
                f"ruleset {self.version} is not calibrated to the book: "
                "run `clientscore rules calibrate` and activate the result"
            )
        return self.clv_grid

    def evaluate(self, facts: ClassificationFacts) -> RuleOutcome:
        """Tiers, stage, grades, scale and strategy for one client, with the rows that fired."""
        if self.compiled is not None:
            return self.compiled.evaluate_facts(facts)
        return self.engine.evaluate(facts)

    def evaluate_values(self, values: Mapping[str, Any]) -> RuleOutcome:
        """`evaluate` on `fact_values`: the compiled tables read them as they are (and refuse
        what zen-engine would); zen-engine gets them checked by `ClassificationFacts`."""
        if self.compiled is not None:
            rate = renewal_rate(values["renewals"], values["lapses"])
            return self.compiled.evaluate({**values, "renewal_rate": rate})
        return self.engine.evaluate(ClassificationFacts(**values))


def _compiled(
    version: str, tables: Mapping[str, Table], document: RulesetDocument
) -> CompiledRules | None:
    try:
        return CompiledRules.from_tables(tables, document.actions, document.table_params())
    except UnsupportedRule as exc:
        logger.warning("ruleset %s runs on zen-engine: %s", version, exc)
        return None
