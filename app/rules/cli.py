"""`clientscore rules ...`: check a ruleset before it is activated."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.rules.ruleset import DEFAULT_RULESET_DIR, Ruleset
from app.settings import Settings


def cmd_rules_validate(_settings: Settings, args: argparse.Namespace) -> None:
    """Load the ruleset and run its example cases; `RulesetRefused` lists every problem."""
    ruleset = Ruleset.load(Path(args.path))
    rows = sum(ruleset.rows.values())
    sys.stdout.write(
        f"ruleset {args.path} is valid: version {ruleset.version}, "
        f"{len(ruleset.rows)} tables, {rows} rows, {ruleset.cases} example cases passed\n"
    )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `rules` command group to the `clientscore` parser."""
    rules = commands.add_parser("rules", help="check decision-table rulesets")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    validate = rule_commands.add_parser(
        "validate", help="parse a ruleset folder and run its example cases"
    )
    validate.add_argument(
        "path", nargs="?", default=str(DEFAULT_RULESET_DIR), help="ruleset folder (default: rules/)"
    )
    validate.set_defaults(func=cmd_rules_validate)
