"""The `clientscore` command."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from app.auth.scopes import Scope
from app.cli import book as book_cli
from app.cli import classify as classification_cli
from app.cli import models as registry_cli
from app.cli import rules as rules_cli
from app.cli import sessions as sessions_cli
from app.cli import strategy as strategy_cli
from app.cli import training as training_cli
from app.cli.session import run_in_session
from app.errors import ServiceError

if TYPE_CHECKING:
    from app.auth.service import IssuedKey
    from app.demo.repository import BookLoad
    from app.settings import Settings

# The parser is built from argparse alone, and each command imports what it uses when it
# runs: `clientscore --help` or `keys list` load no LightGBM, pandas, scikit-learn or Dask
# (tests/unit/test_cli_imports.py holds this).

DEMO_KEY_NAME = "demo"
DEMO_DESK_KEY_NAME = "demo-desk"
DEMO_CLIENTS = 20_000
DEMO_SEED = 7
DEMO_ID_PREFIX = "S"
# What a command does with the database (`database` default of its parser).
CREATES, USES = "creates", "uses"
ID_PREFIX = re.compile(r"^[A-Za-z0-9._:-]{1,16}$")
T = TypeVar("T")


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from app.db.migrate import downgrade

    if args.downgrade:
        downgrade(settings.database_url_value(), args.downgrade)
        print(f"database downgraded to {args.downgrade}")
    else:
        print(migrate_to_head(settings.database_url_value()))


def migrate_to_head(url: str) -> str:
    """Bring the schema up to date and say what changed."""
    from app.db import location
    from app.db.migrate import current_revision, schema_tables, upgrade

    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    where = location.describe(url)
    if before is None:
        tables = ", ".join(schema_tables(url))
        return f"created the schema (revision {after}) in {where}: tables {tables}"
    if before != after:
        return f"upgraded the schema in {where} from revision {before} to {after}"
    return f"the schema in {where} is up to date (revision {after})"


def cmd_keys_create(settings: Settings, args: argparse.Namespace) -> None:
    from app.auth import service as keys

    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    issued = run_in_session(settings, lambda s: keys.create_key(s, name=args.name, scopes=scopes))
    print(f"key id: {issued.key_id}  name: {issued.name}  scopes: {','.join(issued.scopes)}")
    print("Store this key now; it is not shown again:")
    print(issued.token)


def cmd_keys_list(settings: Settings, _args: argparse.Namespace) -> None:
    from app.auth import service as keys
    from app.cli.table import table

    rows = []
    for key in run_in_session(settings, keys.list_keys):
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "-"
        created = key.created_at.strftime("%Y-%m-%d %H:%M")
        rows.append([key.key_id, key.name, ", ".join(key.scopes), created, revoked])
    for line in table(["key id", "name", "scopes", "created", "revoked"], rows, wrap=[1, 2]):
        print(line)


def cmd_keys_revoke(settings: Settings, args: argparse.Namespace) -> None:
    from app.auth import service as keys

    if (args.key_id is None) == (args.name is None):
        raise ServiceError("name the key: its id, or --name NAME for every active key so named")
    if args.name is not None:
        revoked = run_in_session(settings, lambda s: keys.revoke_keys_named(s, name=args.name))
        if not revoked:
            raise ServiceError(f"no active key named '{args.name}' (see `clientscore keys list`)")
        print(f"{revoked} key{'s' if revoked > 1 else ''} named {args.name} revoked")
        return
    if not run_in_session(settings, lambda s: keys.revoke_key(s, key_id=args.key_id)):
        raise ServiceError(f"no active key with id '{args.key_id}' (see `clientscore keys list`)")
    print(f"key {args.key_id} revoked")


def ensure_port_free(host: str, port: int) -> None:
    """Fail before anything is changed when the server could not listen on `host:port`."""
    import socket

    if not 0 <= port <= 65535:
        raise ServiceError(f"--port {port} is not a port number (1-65535)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ServiceError(f"--host {host} cannot be resolved ({exc.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port held only by connections closing down is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ServiceError(
                f"cannot listen on {host}:{port} ({exc.strerror}); another program uses it: "
                "pick another port with --port (make run PORT=8001)"
            ) from None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    import uvicorn

    from app.observability import logging as json_logs
    from app.observability.metrics import prepare

    # Before any worker starts: the workers share this folder of metric files.
    prepare(settings.metrics_dir or Path(tempfile.mkdtemp(prefix="clientscore-metrics-")))
    uvicorn.run(
        "app.worker:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        log_config=json_logs.config(settings.log_level),
        # One JSON line per request comes from the service itself (app.observability.http).
        access_log=False,
        proxy_headers=False,
        # A worker imports LightGBM (which imports pandas and scikit-learn) before it answers
        # the supervisor's first health check: uvicorn's 5 s would restart it forever on a
        # busy machine.
        timeout_worker_healthcheck=60,
    )


async def _demo_key(session: Any) -> IssuedKey:
    from app.auth import service as keys

    await keys.revoke_keys_named(session, name=DEMO_KEY_NAME)
    return await keys.create_key(session, name=DEMO_KEY_NAME, scopes=[s.value for s in Scope])


async def _demo_desk(session: Any) -> tuple[IssuedKey, str | None]:
    """A desk-only key for the demo, and a client's phone number to look up with it."""
    from app.auth import service as keys
    from app.profiles import service as profile_service

    await keys.revoke_keys_named(session, name=DEMO_DESK_KEY_NAME)
    issued = await keys.create_key(session, name=DEMO_DESK_KEY_NAME, scopes=[Scope.desk.value])
    page = await profile_service.list_clients(session, cursor=None, limit=50)
    phones = [c.personal.phone for c in page.items if c.personal and c.in_force_policies]
    return issued, next((phone for phone in phones if phone), None)


def _load_book(
    settings: Settings, *, clients: int, seed: int, as_of: date, id_prefix: str = DEMO_ID_PREFIX
) -> None:
    import time

    from app.demo.repository import load_book
    from app.demo.synthetic import generate_book

    started = time.perf_counter()
    book = generate_book(clients, seed, as_of=as_of, id_prefix=id_prefix)
    ids = book.profiles["client_id"]
    print(
        f"generated {clients:,} synthetic clients {ids[0]} ... {ids[-1]} (seed {seed}, "
        f"as of {as_of}) in {time.perf_counter() - started:.1f} s"
    )
    load = load_book(settings.database_url_value(), book, observed_at=as_of)
    print(f"stored {load.stored:,} new clients with their outcomes in {load.seconds:.1f} s")
    if load.already_stored:
        print(_already_stored(load, id_prefix, seed))


def _already_stored(load: BookLoad, id_prefix: str, seed: int) -> str:
    return (
        f"{load.already_stored:,} of the book's ids were stored already and were left as they "
        f"were: a book's ids are the prefix '{id_prefix}' and a row number, whatever the seed; "
        f"give --id-prefix (e.g. --id-prefix B{seed}-) to store another book beside them"
    )


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> None:
    as_of = args.as_of or date.today()
    if as_of > date.today():
        raise ServiceError(f"--as-of {as_of} is in the future; profiles describe the past")
    if not 1 <= args.clients <= 10_000_000:
        raise ServiceError("--clients must be between 1 and 10,000,000")
    if not ID_PREFIX.match(args.id_prefix):
        raise ServiceError("--id-prefix: 1-16 letters, digits, '.', '_', ':' or '-'")
    _load_book(
        settings, clients=args.clients, seed=args.seed, as_of=as_of, id_prefix=args.id_prefix
    )


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from app.cli import demo_folders as scratch
    from app.profiles import repository as profile_store

    print(migrate_to_head(settings.database_url_value()))
    if run_in_session(settings, profile_store.count) == 0:
        _load_book(settings, clients=args.clients, seed=DEMO_SEED, as_of=date.today())
    folders = scratch.prepare(settings.models_dir, settings.rules_dir)
    # The workers read their settings from the environment: they serve the copies.
    os.environ["CLIENTSCORE_MODELS_DIR"] = str(folders.models)
    os.environ["CLIENTSCORE_RULES_DIR"] = str(folders.rules)
    issued = run_in_session(settings, _demo_key)
    scratch.write_key(folders.key, issued.token)
    url = f"http://{args.host}:{args.port}"
    print(f"clientscore demo on {url}  (API docs: {url}/docs)")
    print(
        f"models and rules: copies of {settings.models_dir}/ and {settings.rules_dir}/ in "
        f"{folders.models.parent}/, made afresh at each start; promotions and activations "
        "change the copies only"
    )
    print(f"demo API key (all scopes; replaces the previous demo key; also in {folders.key}):")
    print(f"  {issued.token}")
    print(f"try: curl -H 'Authorization: Bearer {issued.token}' {url}/v1/clients")
    desk_key, phone = run_in_session(settings, _demo_desk)
    print(f"call-center desk: {url}/desk  sign in with the demo desk key (scope desk):")
    print(f"  {desk_key.token}")
    if phone:
        print(f"a caller's screen-pop: {url}/desk?phone={phone}")
    sys.stdout.flush()
    cmd_serve(settings, args)


def check_database(settings: Settings, use: str | None) -> None:
    """An embedded database is made only by the commands that make the schema, and they say
    where; the others refuse to start on one that does not exist."""
    from app.db import location

    missing = location.missing_sqlite_file(settings.database_url_value())
    if use is None or missing is None:
        return
    if use == CREATES:
        print(
            f"clientscore: creating the embedded database {missing} "
            "(CLIENTSCORE_DATABASE_URL names another)",
            file=sys.stderr,
        )
        return
    raise ServiceError(
        f"there is no database at {missing}: create it with `clientscore migrate` (or `make "
        "run` in the project's folder), or point CLIENTSCORE_DATABASE_URL at your database"
    )


def _book_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of clients from 1 to 1,000,000")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clientscore", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add_server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=int, default=1)

    serve = commands.add_parser("serve", help="run the HTTP service")
    add_server_options(serve)
    serve.set_defaults(func=cmd_serve, database=USES)

    demo = commands.add_parser(
        "demo", help="migrate, load the demo book into an empty store, create a demo key, serve"
    )
    add_server_options(demo)
    demo.add_argument(
        "--clients",
        type=_book_size,
        default=DEMO_CLIENTS,
        metavar="N",
        help=f"size of the demo book loaded into an empty store (default {DEMO_CLIENTS:,})",
    )
    demo.set_defaults(func=cmd_demo, database=CREATES)

    demo_data = commands.add_parser(
        "demo-data",
        help="generate a synthetic book (docs/synthetic-data.md) and store its new clients",
    )
    demo_data.add_argument("--clients", type=int, default=DEMO_CLIENTS)
    demo_data.add_argument("--seed", type=int, default=DEMO_SEED)
    demo_data.add_argument(
        "--as-of", type=date.fromisoformat, help="the book's reference date (default today)"
    )
    demo_data.add_argument(
        "--id-prefix",
        default=DEMO_ID_PREFIX,
        help="client ids are this prefix and a row number (default S: S0000001, ...)",
    )
    demo_data.set_defaults(func=cmd_demo_data, database=USES)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--downgrade", metavar="REVISION", help="go back to REVISION ('base')")
    migrate.set_defaults(func=cmd_migrate, database=CREATES)

    keys_parser = commands.add_parser("keys", help="manage API keys")
    keys_parser.set_defaults(database=USES)
    key_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="mint a key; it is printed once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scopes", required=True, help=f"comma-separated: {','.join(s.value for s in Scope)}"
    )
    create.set_defaults(func=cmd_keys_create)
    key_commands.add_parser("list", help="list keys").set_defaults(func=cmd_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id (or by its name)")
    revoke.add_argument("key_id", nargs="?")
    revoke.add_argument("--name", help="revoke every active key of this name")
    revoke.set_defaults(func=cmd_keys_revoke)
    training_cli.register(commands)
    registry_cli.register(commands)
    rules_cli.register(commands)
    classification_cli.register(commands)
    book_cli.register(commands)
    strategy_cli.register(commands)
    sessions_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from app.cpu import passive_waits

    passive_waits()  # before any command loads LightGBM: waiting threads leave the cores free
    args = _parser().parse_args(argv)
    # After parsing: `--help` and a misspelt command need neither pydantic nor SQLAlchemy.
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from app.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = "CLIENTSCORE_" + "_".join(str(p) for p in error["loc"]).upper()
            print(f"clientscore: error: setting {name}: {error['msg']}", file=sys.stderr)
        return 2
    try:
        if args.func in (cmd_serve, cmd_demo):
            # Before anything is changed: a server that cannot listen must not load data.
            ensure_port_free(args.host, args.port)
        check_database(settings, getattr(args, "database", None))
        args.func(settings, args)
    except ServiceError as exc:
        print(f"clientscore: error: {exc.detail}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        hint = (
            "run `clientscore migrate` first"
            if "no such table" in str(exc.orig)
            or ("does not exist" in str(exc.orig) and "relation" in str(exc.orig))
            else "check CLIENTSCORE_DATABASE_URL and that the server runs"
        )
        print(
            f"clientscore: error: cannot use the database ({exc.orig or exc}); {hint}",
            file=sys.stderr,
        )
        return 2
    return 0
