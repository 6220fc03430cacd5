"""Errors of the rules engine: a refused ruleset, and a ruleset that fails on a client."""

from __future__ import annotations

from app.errors import FieldError, ServiceError, ValidationFailed


class RulesetRefused(ValidationFailed):
    """The ruleset does not parse, breaks the contract or fails its own example cases.

    `detail` lists every problem on its own line (the CLI prints it as is); `errors` holds
    them as field errors, `field` naming the file, table, row, case and column.
    """

    status, code, title = 422, "ruleset_refused", "Ruleset refused"

    def __init__(self, source: str, problems: list[FieldError]) -> None:
        lines = "\n".join(f"  - {p.field}: {p.detail}" for p in problems)
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"ruleset {source} refused ({count}):\n{lines}", errors=problems)


class RuleEvaluationFailed(ServiceError):
    """A loaded ruleset could not classify a client: a table matched no row or returned junk."""

    status, code, title = 500, "rule_evaluation_failed", "Rule evaluation failed"
