"""`clientscore rules ...`: check, calibrate and activate decision-table rulesets."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli import whatif as whatif_cli

if TYPE_CHECKING:
    from app.profiles.schemas import ClientRead
    from app.rules.clv_grid import BookCalibration
    from app.settings import Settings

PAGE = 10_000
SYNTHETIC_CLIENTS = 20_000
SYNTHETIC_SEED = 7


def cmd_rules_validate(settings: Settings, args: argparse.Namespace) -> None:
    """Load the ruleset and run its example cases; `RulesetRefused` lists every problem."""
    from app.rules.ruleset import Ruleset

    path = Path(args.path or settings.rules_dir)
    ruleset = Ruleset.load(path)
    rows = sum(ruleset.rows.values())
    calibrated = (
        f"calibrated on {ruleset.calibration.clients:,} clients"
        if ruleset.calibration
        else "not calibrated"
    )
    sys.stdout.write(
        f"ruleset {path} is valid: version {ruleset.version}, {len(ruleset.rows)} tables, "
        f"{rows} rows, {ruleset.cases} example cases passed, {calibrated}\n"
    )


async def _stored_book(settings: Settings) -> list[list[ClientRead]]:
    from app.db.engine import create_engine_for, create_sessionmaker
    from app.profiles import service as profiles

    engine = create_engine_for(settings)
    pages: list[list[ClientRead]] = []
    try:
        async with create_sessionmaker(engine)() as session:
            after = None
            while page := await profiles.book_page(session, after=after, limit=PAGE):
                pages.append(page)
                after = page[-1].client_id
    finally:
        await engine.dispose()
    return pages


def _chunks(settings: Settings, as_of: date) -> tuple[Iterator[dict[str, Any]], str]:
    pages = asyncio.run(_stored_book(settings))
    if pages:
        clients = sum(len(page) for page in pages)
        from app.classification.batch import profile_columns

        return (profile_columns(page) for page in pages), f"stored book ({clients:,} profiles)"
    from app.demo.synthetic import generate_book

    book = generate_book(SYNTHETIC_CLIENTS, SYNTHETIC_SEED, as_of=as_of)
    source = (
        f"synthetic book ({SYNTHETIC_CLIENTS:,} profiles, seed {SYNTHETIC_SEED}): "
        "the store held no client"
    )
    return iter([dict(book.profiles)]), source


def cmd_rules_calibrate(settings: Settings, args: argparse.Namespace) -> None:
    """Score the stored book (a synthetic one when the store is empty) and write its CLV
    quantiles into the ruleset folder: a new ruleset version."""
    from app.rules.ruleset import Ruleset
    from app.rules.store import RulesetStore

    path = Path(args.path or settings.rules_dir)
    ruleset = Ruleset.load(path)
    as_of = date.today()
    chunks, source = _chunks(settings, as_of)
    # Imported here: the models' libraries are for the commands that use them.
    from app.classification.calibration import book_calibration
    from app.serving.registry import load_champions

    calibration = book_calibration(
        load_champions(settings.models_dir), ruleset, chunks, as_of=as_of, source=source
    )
    write_calibration(path, calibration)
    calibrated = Ruleset.load(path)
    sys.stdout.write(
        f"calibrated {path} on the {source}: {calibration.clients:,} clients with a policy in "
        f"force, CLV median {calibration.clv_quantiles[len(calibration.clv_quantiles) // 2]:,.0f}"
        f" yuan; ruleset version {ruleset.version} -> {calibrated.version}\n"
    )
    if RulesetStore(settings.rules_dir).pointer() is not None:
        sys.stdout.write(f"activate it with: clientscore rules activate {path}\n")


def write_calibration(folder: Path, calibration: BookCalibration) -> None:
    from app.rules.clv_grid import CALIBRATION_FILE

    text = calibration.model_dump_json(indent=1)
    (folder / CALIBRATION_FILE).write_text(text + "\n", encoding="utf-8")


def cmd_rules_activate(settings: Settings, args: argparse.Namespace) -> None:
    """Check a ruleset folder and make it the one every worker serves."""
    from app.rules.ruleset import read_ruleset_files
    from app.rules.store import RulesetStore

    store = RulesetStore(settings.rules_dir)
    files = read_ruleset_files(Path(args.path))
    ruleset = store.activate(files, by=f"cli:{getpass.getuser()}", source=args.path)
    sys.stdout.write(
        f"ruleset {ruleset.version} is active in {settings.rules_dir} "
        f"({ruleset.cases} example cases passed); workers follow within "
        f"{settings.rules_reload_seconds:g} s\n"
    )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `rules` command group to the `clientscore` parser."""
    rules = commands.add_parser("rules", help="check, calibrate and activate rulesets")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    folder_help = "ruleset folder (default: CLIENTSCORE_RULES_DIR, rules/)"
    validate = rule_commands.add_parser(
        "validate", help="parse a ruleset folder and run its example cases"
    )
    validate.add_argument("path", nargs="?", help=folder_help)
    validate.set_defaults(func=cmd_rules_validate)
    calibrate = rule_commands.add_parser(
        "calibrate",
        help="score the stored book and write its CLV quantiles (calibration.json) into the "
        "ruleset folder; a synthetic book of 20,000 when the store is empty",
    )
    calibrate.add_argument("path", nargs="?", help=folder_help)
    calibrate.set_defaults(func=cmd_rules_calibrate, database="uses")
    activate = rule_commands.add_parser(
        "activate", help="check a ruleset folder and make it the active ruleset"
    )
    activate.add_argument("path", help="the ruleset folder to activate")
    activate.set_defaults(func=cmd_rules_activate)
    whatif_cli.register(rule_commands)
