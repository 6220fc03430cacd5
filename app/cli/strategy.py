"""`clientscore strategy report`: offers, acceptance and uplift per action and segment."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings
    from app.strategy.report import ReportRow


def cmd_strategy_report(settings: Settings, args: argparse.Namespace) -> None:
    from app.db.engine import create_engine_for, create_sessionmaker
    from app.db.unit import transaction
    from app.strategy import service
    from app.strategy.report import text

    since: datetime | None = args.since

    async def work() -> list[ReportRow]:
        engine = create_engine_for(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return await service.report(session, since=since)
        finally:
            await engine.dispose()

    rows = asyncio.run(work())
    if not rows:
        print("no offers recorded yet: classify stored clients and record their outcomes")
        return
    print(text(rows))


def _day(text: str) -> datetime:
    try:
        day = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `strategy` command group to the `clientscore` parser."""
    strategy = commands.add_parser("strategy", help="next best action: what it offered, and did")
    strategy_commands = strategy.add_subparsers(dest="strategy_command", required=True)
    report = strategy_commands.add_parser(
        "report",
        help="per action and segment: offers, acceptance, and the uplift in 12-month retention "
        "of the treated over the control group with its 95%% interval",
    )
    report.add_argument("--since", type=_day, help="only offers from this day on")
    report.set_defaults(func=cmd_strategy_report)
