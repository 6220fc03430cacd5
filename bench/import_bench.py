"""Bulk import through the HTTP API into Postgres, against a raw COPY of the same rows.

Starts a real `clientscore serve` process on a fresh Postgres database, POSTs 100,000
NDJSON profiles to /v1/clients:import (split over parallel streams, as a bulk loader
would), sends the same file again (all unchanged), and measures a plain psycopg COPY of
the same rows into a bare table in the same run as the baseline.

    python -m bench.import_bench [--rows 100000] [--workers 2] [--streams 2]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import psycopg

from bench.rows import ndjson, profile_rows
from bench.server import running_server, scratch_database


def copy_baseline(admin_url: str, rows: list[dict[str, object]]) -> float:
    """Seconds for psycopg to COPY the rows, as JSON documents, into a bare table."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE bench_copy (client_id text, doc jsonb)")
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy("COPY bench_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row["client_id"], orjson.dumps(row).decode()))
        return time.perf_counter() - started


def post_parts(base_url: str, token: str, parts: list[bytes]) -> tuple[float, list[dict[str, int]]]:
    def send(body: bytes) -> dict[str, int]:
        response = httpx.post(
            f"{base_url}/v1/clients:import",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
            timeout=600,
        )
        response.raise_for_status()
        report: dict[str, int] = response.json()
        return report

    started = time.perf_counter()
    with ThreadPoolExecutor(len(parts)) as pool:
        reports = list(pool.map(send, parts))
    return time.perf_counter() - started, reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--streams", type=int, default=2)
    args = parser.parse_args()
    rows = list(profile_rows(args.rows))
    share = -(-len(rows) // args.streams)
    parts = [ndjson(iter(rows[i : i + share])) for i in range(0, len(rows), share)]
    with scratch_database() as url:
        baseline = copy_baseline(url.replace("+psycopg", ""), rows)
        with running_server(url, workers=args.workers) as (base_url, token):
            first, reports = post_parts(base_url, token, parts)
            created = sum(r["created"] for r in reports)
            again, reports = post_parts(base_url, token, parts)
            unchanged = sum(r["unchanged"] for r in reports)
    if created != args.rows or unchanged != args.rows:
        raise SystemExit(f"import lost rows: created {created}, unchanged {unchanged}")
    n = args.rows
    print(
        f"import bench: {n} rows, {args.workers} workers, {args.streams} streams, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'case':<44}{'seconds':>9}{'rows/s':>10}{'vs COPY':>9}")
    for name, seconds in (
        ("raw psycopg COPY of the rows (baseline)", baseline),
        ("POST /v1/clients:import, new clients", first),
        ("POST /v1/clients:import, same file again", again),
    ):
        print(f"{name:<44}{seconds:>9.2f}{n / seconds:>10.0f}{baseline / seconds:>9.2f}")


if __name__ == "__main__":
    main()
