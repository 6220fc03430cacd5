"""`clientscore rules whatif CANDIDATE`: a candidate ruleset against the book."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import ServiceError

if TYPE_CHECKING:
    from app.book.sources import Source
    from app.settings import Settings

DEFAULT_SAMPLE = 20_000
SAMPLE_SEED = 7


def register(rule_commands: Any) -> None:
    whatif = rule_commands.add_parser(
        "whatif", help="classify the book with the active ruleset and a candidate, compare"
    )
    whatif.add_argument("candidate", type=Path, help="the candidate ruleset folder")
    which = whatif.add_mutually_exclusive_group()
    which.add_argument("--book", type=Path, help="the results folder of a `book classify` run")
    which.add_argument(
        "--sample", type=int, help=f"a seeded synthetic book (default {DEFAULT_SAMPLE:,})"
    )
    whatif.add_argument("--json", type=Path, help="also write the whole comparison as JSON")
    whatif.set_defaults(func=cmd_rules_whatif)


def _book(settings: Settings, results: Path) -> Source:
    from app.book.run import RUN_FILE
    from app.book.sources import DatabaseSource, FileSource

    run_file = results / RUN_FILE
    if not run_file.is_file():
        raise ServiceError(f"{results} holds no book run ({RUN_FILE} is missing)")
    described = json.loads(run_file.read_bytes())["source"]
    if described == DatabaseSource.describe_stored():
        return DatabaseSource(settings.database_url_value())
    return FileSource.of([Path(p) for p in described.split(", ")])


def cmd_rules_whatif(settings: Settings, args: argparse.Namespace) -> None:
    from app.book.whatif import sample_partitions, simulate
    from app.rules.ruleset import read_ruleset_files
    from app.rules.store import RulesetStore, check_candidate
    from app.serving.registry import load_champions

    candidate = check_candidate(read_ruleset_files(args.candidate), source=str(args.candidate))
    active = RulesetStore(settings.rules_dir).load_active()
    champions = load_champions(settings.models_dir)
    if args.book:
        source = _book(settings, args.book)
        partitions: Any = (table for _, table in source.partitions(100_000, frozenset()))
    else:
        clients = args.sample or DEFAULT_SAMPLE
        if not 1 <= clients <= 10_000_000:
            raise ServiceError("--sample must be between 1 and 10,000,000")
        partitions = sample_partitions(clients, SAMPLE_SEED)
    sim = simulate(champions, active, candidate, partitions, as_of=date.today())
    summary = sim.summary()
    out = sys.stdout
    out.write(
        f"{summary['clients']:,} clients: active {sim.active} -> candidate {sim.candidate}; "
        f"{summary['moved']:,} moved\n"
    )
    for dimension, part in summary["dimensions"].items():
        out.write(f"\n{dimension}: {part['moved']:,} moved\n")
        for cell in part["transitions"]:
            if cell["from"] != cell["to"]:
                out.write(
                    f"  {cell['from']} -> {cell['to']}: {cell['clients']:,} clients, "
                    f"premium {cell['premium']:,.0f}, "
                    f"CLV {cell['clv_before']:,.0f} -> {cell['clv_after']:,.0f}\n"
                )
    changed = [a for a in summary["actions"] if a["before"] != a["after"]]
    if changed:
        out.write(
            f"\nactions whose count changes ({len(changed)} of {len(summary['actions'])}), "
            "before -> after:\n"
        )
    else:
        out.write(f"\nno action's count changes (of {len(summary['actions'])})\n")
    for action in changed:
        out.write(f"  {action['code']}: {action['before']:,} -> {action['after']:,}\n")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        out.write(f"\nthe whole comparison, with {len(sim.examples)} examples: {args.json}\n")
