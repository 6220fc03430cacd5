"""What each deliberate twin saves: one client through the scalar twin against the same client
through the batch (reference) code, in µs per call (docs/architecture.md).

Interleaved rounds: in each round every case runs `--calls` times on different clients of a
synthetic book (seed 11) and gives its median; the figure is the median of the rounds' medians.
The shipped champions in `models/` and the active ruleset in `rules/`. With `--postgres URL`
(a server where a scratch database may be made and dropped) also the hot path's two reads of
one stored client, the desk card's six, and the audit trail's insert (one row and 20 rows a
transaction), through psycopg against SQLAlchemy Core: the two implementations of the hot
path's interface (`app/db/hot.py`), each statement written once.

    python -m bench.twins [--rounds 5] [--calls 300] [--postgres postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker, as the service runs

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from app.classification import repository as audit
from app.classification import service as classification
from app.classification.batch import classify_columns, profile_columns
from app.classification.clv import customer_lifetime_value, grid_percentile
from app.classification.clv_row import customer_lifetime_value_row, grid_percentile_row
from app.classification.single import classify_one
from app.db.engine import create_engine_for
from app.db.hot import Core, HotPath, Reader, Writer
from app.db.migrate import upgrade
from app.demo.repository import load_book
from app.demo.synthetic import generate_book
from app.outcomes import service as outcomes
from app.profiles import service as profiles
from app.profiles.schemas import ClientProfile
from app.rules.facts import facts_from_profile
from app.rules.store import RulesetStore
from app.serving.features import encode, profile_features
from app.serving.registry import load_champions
from app.serving.row_features import encode_row, plan_for, row_features
from app.settings import Settings
from app.strategy import repository as strategy
from bench.targets import interleaved, machine

AS_OF = date(2026, 6, 30)
Case = Callable[[int], object]


def per_call(case: Case, calls: int, offset: int) -> float:
    """The median µs of `calls` calls of `case` on clients offset, offset+1, ..."""
    times = []
    for i in range(offset, offset + calls):
        started = time.perf_counter()
        case(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _rounds(case: Case, calls: int) -> Callable[[int], float]:
    """Round r's figure: `case` on clients r x calls onwards."""
    return lambda r: per_call(case, calls, r * calls)


def measure(pairs: dict[str, tuple[Case, Case]], rounds: int, calls: int, per: int = 1) -> None:
    """Each pair's twin and batch figures (µs per client: a call's median / `per` clients)."""
    cases = {
        f"{name}|{side}": pair[k] for name, pair in pairs.items() for k, side in enumerate("tb")
    }
    figures = interleaved({n: _rounds(c, calls) for n, c in cases.items()}, rounds)
    print(f"{'twin, µs per client':<44}{'twin':>9}{'batch':>10}{'batch/twin':>12}")
    for name in pairs:
        twin = statistics.median(figures[f"{name}|t"]) / per
        batch = statistics.median(figures[f"{name}|b"]) / per
        print(f"{name:<44}{twin:>9.1f}{batch:>10.1f}{batch / twin:>11.1f}x")


def in_process(rounds: int, calls: int) -> dict[str, tuple[Case, Case]]:
    champions = load_champions(Path("models"))
    ruleset = RulesetStore(Path("rules")).load_active()
    book = generate_book(rounds * calls + 1, 11, as_of=AS_OF)
    people = [ClientProfile.model_validate(r) for r in book.records()]
    columns = [profile_columns([p]) for p in people]
    model = champions.model("lapse")
    plan, features = plan_for(model.metadata), model.metadata.features
    rows = [encode_row(row_features(p, AS_OF), plan) for p in people]
    params, grid = ruleset.clv_parameters, ruleset.book_grid()
    facts = [facts_from_profile(p, **_scores(p)) for p in people]
    values = [{**f.__dict__, "renewal_rate": f.renewal_rate} for f in facts]
    compiled = ruleset.compiled
    assert compiled is not None, "the shipped ruleset compiles"

    def single(i: int, explain: bool) -> object:
        return classify_one(
            people[i], champions=champions, ruleset=ruleset, as_of=AS_OF, explain=explain
        )

    def batch(i: int, explain: bool) -> object:
        return classify_columns(
            columns[i], champions=champions, ruleset=ruleset, as_of=AS_OF, explain=explain
        )

    def clv_row(i: int) -> float:
        c = customer_lifetime_value_row(params, **_clv_inputs(people[i]))
        return grid_percentile_row(grid, c.clv)

    def clv_batch(i: int) -> object:
        inputs = {k: [v] for k, v in _clv_inputs(people[i]).items()}
        return grid_percentile(grid, customer_lifetime_value(params, **inputs).clv)

    return {
        "classification, no reasons (single/batch)": (
            lambda i: single(i, False),
            lambda i: batch(i, False),
        ),
        "classification, reasons (single/batch)": (
            lambda i: single(i, True),
            lambda i: batch(i, True),
        ),
        "features, lapse row (row_features/features)": (
            lambda i: encode_row(row_features(people[i], AS_OF), plan),
            lambda i: encode(profile_features(columns[i], AS_OF), features),
        ),
        "CLV and percentile (clv_row/clv)": (clv_row, clv_batch),
        "lapse score (fast_predict/Booster.predict)": (
            lambda i: model.fast.predict_row(rows[i]),
            lambda i: model.booster.predict(rows[i][None, :], num_threads=1),
        ),
        "lapse TreeSHAP (fast_predict/Booster.predict)": (
            lambda i: model.fast.contrib_row(rows[i]),
            lambda i: model.booster.predict(rows[i][None, :], pred_contrib=True, num_threads=1),
        ),
        "rules (generated Python/zen-engine)": (
            lambda i: compiled.evaluate(values[i]),
            lambda i: ruleset.engine.evaluate(facts[i]),
        ),
        "rules (generated Python/NumPy, one row)": (
            lambda i: compiled.evaluate(values[i]),
            lambda i: compiled.evaluate_columns(compiled.columns_from_facts([values[i]])),
        ),
    }


def in_batches(rounds: int, size: int) -> dict[str, tuple[Case, Case]]:
    """The other direction: a batch of `size` clients, the twin called once per client."""
    champions = load_champions(Path("models"))
    ruleset = RulesetStore(Path("rules")).load_active()
    compiled = ruleset.compiled
    assert compiled is not None, "the shipped ruleset compiles"
    book = generate_book(rounds * size * 2, 12, as_of=AS_OF)
    people = [ClientProfile.model_validate(r) for r in book.records()]
    facts = [facts_from_profile(p, **_scores(p)) for p in people]
    values = [{**f.__dict__, "renewal_rate": f.renewal_rate} for f in facts]
    chunks = [slice(i * size, (i + 1) * size) for i in range(rounds * 2)]
    columns = [profile_columns(people[c]) for c in chunks]
    rule_columns = [compiled.columns_from_facts(values[c]) for c in chunks]

    def one_by_one(i: int) -> object:
        return [
            classify_one(p, champions=champions, ruleset=ruleset, as_of=AS_OF, explain=False)
            for p in people[chunks[i]]
        ]

    def together(i: int) -> object:
        return classify_columns(
            columns[i], champions=champions, ruleset=ruleset, as_of=AS_OF, explain=False
        )

    return {
        f"classification of {size:,} (single/batch)": (one_by_one, together),
        f"rules on {size:,} (generated Python/NumPy)": (
            lambda i: [compiled.evaluate(v) for v in values[chunks[i]]],
            lambda i: compiled.evaluate_columns(rule_columns[i]),
        ),
    }


def _scores(profile: ClientProfile) -> dict[str, Any]:
    """Plausible model outputs: the rules' cost does not depend on where they came from."""
    return {"as_of": AS_OF, "lapse_probability": 0.1, "expected_claim_frequency": 0.2,
            "expected_loss_ratio": 0.5, "purchase_probability": 0.3,
            "clv": 1000.0 + profile.annual_premium, "clv_percentile": 50.0}  # fmt: skip


def _clv_inputs(profile: ClientProfile) -> dict[str, Any]:
    client = (profile.in_force_policies or 0) > 0
    return {"segment": str(profile.kind), "annual_premium": profile.annual_premium,
            "in_force": client, "prospect": not client and profile.first_policy_date is None,
            "lapse_probability": 0.1, "expected_claim_frequency": 0.2,
            "purchase_probability": 0.3, "tenure_years": 4.0}  # fmt: skip


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"clientscore_twins_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _reads(reader: Reader, client_id: str) -> object:
    return (
        await profiles.stored_profiles(reader, [client_id]),
        await strategy.histories(reader, [client_id]),
    )


async def _card_reads(reader: Reader, client_id: str) -> object:
    """The desk card's six reads (app/desk/router.py), sent together through psycopg."""
    return await reader.read(
        [
            *profiles.client_card_reads(client_id),
            strategy.histories_read([client_id]),
            classification.recent_classes_read(client_id, 19),
            outcomes.calls_read(client_id, 8),
        ],
    )


READS = {
    "stored client, 2 reads": _reads,
    "desk card, 6 reads": _card_reads,
}
AUDIT_ROWS = (1, 20)


def _audit_row(client_id: str, n: int) -> dict[str, Any]:
    """An audit row the size of a classification with reasons."""
    reasons = [{"rule": f"r{k}", "why": "x" * 80} for k in range(5)]
    result = {"value": {"tier": "high", "clv": 1234.5}, "risk": {"tier": "low"},
              "lifecycle": {"stage": "growth"}, "reasons": {"risk": reasons}, "n": n}  # fmt: skip
    return {"client_id": client_id, "client_version": 1, "key_id": "k",
            "request_id": f"bench-{n}", "input_fingerprint": "f" * 64,
            "versions": {"models": {"lapse": "v1"}, "ruleset": "rs"}, "result": result,
            "classified_at": datetime.now(UTC)}  # fmt: skip


def database(admin_url: str, rounds: int, calls: int) -> None:
    """The hot path's reads of one stored client, the desk card's six, and the audit
    trail's insert: psycopg against SQLAlchemy Core on an autocommit connection (a
    transaction for the insert), one statement each run both ways."""
    with scratch_database(admin_url) as url:
        upgrade(url)
        book = generate_book(1000, 11, as_of=AS_OF)
        load_book(url, book, observed_at=AS_OF)
        ids = list(book.profiles["client_id"])
        asyncio.run(_database(url, ids, rounds, calls))


def _report(label: str, figures: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Wall and CPU µs per call (medians of the rounds' medians), the rounds' spread."""
    wall = {n: statistics.median(f) for n, f in figures.items()}
    used = {n: statistics.median(f) for n, f in cpu.items()}
    spread = {n: f"{min(f):.0f}-{max(f):.0f}" for n, f in figures.items()}
    p, c = "psycopg", "core"
    print(f"{label + ' (psycopg/SQLAlchemy)':<52}{wall[p]:>9.1f}{wall[c]:>10.1f}"
          f"{wall[c] / wall[p]:>8.2f}x  CPU {used[p]:.0f}/{used[c]:.0f} ({used[c] / used[p]:.2f}x)"
          f"  rounds {spread[p]} / {spread[c]}")  # fmt: skip


async def _database(url: str, ids: list[str], rounds: int, calls: int) -> None:
    settings = Settings.model_validate({"database_url": url})
    engine = create_engine_for(settings)
    hot = HotPath(settings, engine, on_connect=lambda: None)
    await hot.open()
    written = iter(range(10**9))

    async def read(name: str, client_id: str, *, reads: Any) -> None:
        if name == "psycopg":
            async with hot.connection() as reader:
                await reads(reader, client_id)
        else:
            async with engine.connect() as connection:
                await reads(Core(connection), client_id)

    async def insert(name: str, client_id: str, *, size: int) -> None:
        rows = [_audit_row(client_id, next(written)) for _ in range(size)]
        if name == "psycopg":
            async with hot.transaction() as writer:
                await audit.record(writer, rows)
        else:
            async with engine.begin() as connection:
                core: Writer = Core(connection)
                await audit.record(core, rows)

    cases: dict[str, Callable[[str, str], Any]] = {
        label: partial(read, reads=reads) for label, reads in READS.items()
    }
    for size in AUDIT_ROWS:
        cases[f"audit insert, {size} row(s) a transaction"] = partial(insert, size=size)
    try:
        for label, case in cases.items():
            figures: dict[str, list[float]] = {"psycopg": [], "core": []}
            cpu: dict[str, list[float]] = {"psycopg": [], "core": []}
            for r in range(rounds):
                for name in figures:
                    times, used = [], []
                    for i in range(r * calls, (r + 1) * calls):
                        started, processed = time.perf_counter(), time.process_time()
                        await case(name, ids[i % len(ids)])
                        times.append(time.perf_counter() - started)
                        used.append(time.process_time() - processed)
                    figures[name].append(statistics.median(times) * 1e6)
                    cpu[name].append(statistics.median(used) * 1e6)
            _report(label, figures, cpu)
    finally:
        await hot.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300, help="calls per case and round")
    parser.add_argument("--batch", type=int, default=1000, help="clients in a batch case")
    parser.add_argument("--postgres", help="admin URL of a Postgres server for the reads")
    args = parser.parse_args()
    print(f"{machine()}; {args.rounds} rounds x {args.calls} calls; µs per call, median")
    measure(in_process(args.rounds, args.calls), args.rounds, args.calls)
    size = args.batch
    measure(in_batches(args.rounds, size), args.rounds, 2, per=size)
    if args.postgres:
        database(args.postgres, args.rounds, args.calls)


if __name__ == "__main__":
    main()
