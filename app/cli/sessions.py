"""`clientscore sessions list/revoke`: the browser sessions signed in now, and ending them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings


def cmd_sessions_list(settings: Settings, args: argparse.Namespace) -> None:
    from app.cli.session import run_in_session
    from app.signin import browser_sessions

    rows = run_in_session(
        settings, lambda s: browser_sessions.listed(s, subject=args.subject, key_id=args.key)
    )
    if not rows:
        print("no session is signed in")
        return
    print(f"{'session':<14}{'kind':<6}{'who':<34}{'key id':<14}{'last seen (UTC)':<22}expires")
    for r in rows:
        who = f"{r.name} ({r.subject})"[:32]
        print(
            f"{r.session_id:<14}{r.kind:<6}{who:<34}{r.key_id or '-':<14}"
            f"{r.seen_at:%Y-%m-%d %H:%M:%S}   {r.expires_at:%Y-%m-%d %H:%M}"
        )


def cmd_sessions_revoke(settings: Settings, args: argparse.Namespace) -> None:
    from app.cli.session import run_in_session
    from app.signin import browser_sessions

    if not (args.session_id or args.subject or args.key):
        raise SystemExit(
            "clientscore: error: name the session to end: a session id, --subject or --key"
        )
    length = browser_sessions.SESSION_ID_LENGTH
    if args.session_id and len(args.session_id) != length:
        raise SystemExit(
            f"clientscore: error: a session id has {length} characters, "
            "as `clientscore sessions list` prints it"
        )
    ended = run_in_session(
        settings,
        lambda s: browser_sessions.end(
            s, session_id=args.session_id, subject=args.subject, key_id=args.key
        ),
    )
    print(f"ended {ended} session(s)" if ended else "no such session: nothing ended")
    if not ended:
        raise SystemExit(2)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sessions` command group to the `clientscore` parser."""
    group = commands.add_parser("sessions", help="browser sessions: list them, end them")
    subcommands = group.add_subparsers(dest="sessions_command", required=True)
    listing = subcommands.add_parser("list", help="the sessions signed in now")
    listing.add_argument("--subject", help="only this person's (the identity provider's sub)")
    listing.add_argument("--key", help="only those signed in with this API key id")
    listing.set_defaults(func=cmd_sessions_list)
    revoke = subcommands.add_parser("revoke", help="end sessions at once")
    revoke.add_argument("session_id", nargs="?", help="a session id from `sessions list`")
    revoke.add_argument("--subject", help="every session of this person")
    revoke.add_argument("--key", help="every session signed in with this API key id")
    revoke.set_defaults(func=cmd_sessions_revoke)
