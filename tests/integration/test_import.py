"""Bulk import: every good row stored, every bad line reported, a re-run changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
from sqlalchemy import text

from bench.rows import profile_rows
from tests.conftest import sync_engine
from tests.integration.conftest import Api, api_for

# Four batches of 500 rows (the import's batch, set small for the test: the default is 5,000),
# bad lines in the first, second, third and last; the speed of large imports is measured by
# `make bench-import`.
BATCH = 500
ROWS = 2_000
BAD_LINES = {
    17: b"{not json",
    250: b"[1, 2, 3]",
    801: b'{"kind": "individual"}',
    1_556: b'{"client_id": "X-1", "kind": "individual", "annual_premium": -3}',
    1_999: b'{"client_id": "X-2", "kind": "corporate", "birth_year": 1980}',
}
NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson_with_bad_lines() -> bytes:
    lines = [orjson.dumps(row) for row in profile_rows(ROWS - len(BAD_LINES))]
    for number in sorted(BAD_LINES):
        lines.insert(number - 1, BAD_LINES[number])
    return b"\n".join(lines) + b"\n"


def count(url: str, table: str) -> int:
    engine = sync_engine(url)
    with engine.connect() as conn:
        total = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return total


def test_import_across_batches_stores_good_rows_and_reports_bad_lines(db_url: str) -> None:
    with api_for(db_url, import_batch_rows=BATCH) as api:
        import_across_batches(api)


def import_across_batches(api: Api) -> None:
    body = ndjson_with_bad_lines()
    response = api.client.post("/v1/clients:import", content=body, headers=api.auth() | NDJSON)
    assert response.status_code == 200, response.text
    report = response.json()
    good = ROWS - len(BAD_LINES)
    assert report["rows"] == ROWS
    assert report["created"] == good
    assert report["rejected"] == len(BAD_LINES)
    assert {e["line"] for e in report["errors"]} == set(BAD_LINES)
    by_line = {e["line"]: e for e in report["errors"]}
    assert by_line[17]["rule"] == "json_invalid"
    assert by_line[250]["rule"] == "object_type"
    assert by_line[801]["field"] == "client_id"
    assert (by_line[1_556]["field"], by_line[1_556]["rule"]) == (
        "annual_premium",
        "greater_than_equal",
    )
    assert by_line[1_999]["rule"] == "kind_mismatch"
    assert count(api.url, "client") == good
    individuals_with_personal = sum(1 for r in profile_rows(good) if "personal" in r)
    assert count(api.url, "client_personal") == individuals_with_personal

    again = api.client.post("/v1/clients:import", content=body, headers=api.auth() | NDJSON)
    assert again.json() | {"errors": []} == {
        "rows": ROWS,
        "created": 0,
        "updated": 0,
        "unchanged": good,
        "rejected": len(BAD_LINES),
        "errors": [],
        "errors_truncated": False,
    }
    sample = api.client.get("/v1/clients/B0000042", headers=api.auth()).json()
    assert sample["version"] == 1


def test_import_replaces_changed_rows_and_their_personal_data(api: Api) -> None:
    rows = list(profile_rows(50))
    first = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    api.client.post("/v1/clients:import", content=first, headers=api.auth() | NDJSON)
    rows[3] = rows[3] | {"annual_premium": 1.0}
    rows[4].pop("personal", None)
    rows[4]["referrals"] = 9
    second = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    report = api.client.post("/v1/clients:import", content=second, headers=api.auth() | NDJSON)
    assert (report.json()["updated"], report.json()["unchanged"]) == (2, 48)
    fourth = api.client.get(f"/v1/clients/{rows[4]['client_id']}", headers=api.auth()).json()
    assert fourth["personal"] is None
    assert fourth["version"] == 2


def test_csv_import_reads_lists_personal_columns_and_reports_lines(api: Api) -> None:
    csv_body = (
        "client_id,kind,birth_year,products_held,name,phone,annual_premium\n"
        "C-1,individual,1980,auto|health,李雷,13912345678,5200\n"
        "\n"
        "C-2,individual,1700,auto,,,100\n"
        'C-3,corporate,,"group_health|work_injury",,,880000\n'
        "C-4,individual,1990\n"
    ).encode()
    response = api.client.post(
        "/v1/clients:import", content=csv_body, headers=api.auth() | {"Content-Type": "text/csv"}
    )
    report = response.json()
    assert (report["rows"], report["created"], report["rejected"]) == (4, 2, 2)
    assert [(e["line"], e["rule"]) for e in report["errors"]] == [
        (4, "age_range"),
        (6, "csv_cell_count"),
    ]
    one = api.client.get("/v1/clients/C-1", headers=api.auth()).json()
    assert one["products_held"] == ["auto", "health"]
    assert one["personal"]["name"] == "李雷"
    assert one["annual_premium"] == 5200.0


def test_import_refuses_unknown_media_types_and_columns(api: Api) -> None:
    wrong_type = api.client.post(
        "/v1/clients:import", content=b"{}", headers=api.auth() | {"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"] == "application/problem+json"
    bad_header = api.client.post(
        "/v1/clients:import",
        content=b"client_id,kind,shoe_size\nC-1,individual,42\n",
        headers=api.auth() | {"Content-Type": "text/csv"},
    )
    assert bad_header.status_code == 422
    assert bad_header.json()["errors"][0]["field"] == "shoe_size"
    assert count(api.url, "client") == 0


def test_an_empty_import_body_is_refused_saying_so(api: Api) -> None:
    csv = {"Content-Type": "text/csv"}
    for body, headers, says in [
        (b"", NDJSON, "body is empty"),
        (b"\n\n", NDJSON, "body is empty"),
        (b"", csv, "body is empty"),
        (b"client_id,kind\n", csv, "header line but no client rows"),
    ]:
        response = api.client.post("/v1/clients:import", content=body, headers=api.auth() | headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert says in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == "body"
        assert response.json()["errors"][0]["rule"] == "not_empty"


EXAMPLE_MISTAKES = {
    "clients.ndjson": ("greater_than_equal", "kind_mismatch", "date_order", "json_invalid"),
    "clients.csv": ("less_than_equal", "kind_mismatch", "date_not_in_future", "unique_items"),
}


def test_the_shipped_example_files_import_with_their_report(api: Api) -> None:
    """The README's import example: a few clients and the mistakes an import reports."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    for name, mistakes in EXAMPLE_MISTAKES.items():
        media_type = "application/x-ndjson" if name.endswith(".ndjson") else "text/csv"
        response = api.client.post(
            "/v1/clients:import",
            content=(examples / name).read_bytes(),
            headers=api.auth() | {"Content-Type": media_type},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["rows"], report["created"], report["rejected"]) == (8, 4, 4)
        assert tuple(e["rule"] for e in report["errors"]) == mistakes
    assert count(api.url, "client") == 8


def test_a_line_over_the_cap_is_rejected_on_its_own(api: Api) -> None:
    huge = orjson.dumps({"client_id": "L-2", "kind": "corporate", "extra": {"a": "x" * 3_000_000}})
    good = [orjson.dumps({"client_id": f"L-{i}", "kind": "corporate"}) for i in (1, 3)]
    body = b"\n".join([good[0], huge, good[1]]) + b"\n"

    def chunks() -> Iterator[bytes]:  # as a client streams it: the long line spans many chunks
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    response = api.client.post("/v1/clients:import", content=chunks(), headers=api.auth() | NDJSON)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["created"], report["rejected"]) == (3, 2, 1)
    [error] = report["errors"]
    assert (error["line"], error["rule"]) == (2, "line_too_long")
    assert str(api.settings.import_max_line_bytes) in error["detail"]


def test_a_csv_record_with_an_unterminated_quote_is_rejected_whole(api: Api) -> None:
    """A quoted field left open swallows the lines up to its closing quote: the record is
    reported once, at its first line, and nothing of it is stored (no row cut short, no
    continuation taken for a record of its own)."""
    body = (
        "client_id,kind,province,extra\n"
        "Q-1,individual,zhejiang,\n"
        'Q-2,individual,"zhejiang,\n'
        "Q-3,individual,jiangsu,\n"
        'Q-4,individual,jiangsu",\n'
        "Q-5,corporate,guangdong,\n"
        'Q-6,individual,"shanghai\n'
    )
    response = api.client.post(
        "/v1/clients:import",
        content=body.encode(),
        headers=api.auth() | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["rejected"]) == (2, 2)
    assert [(e["line"], e["rule"]) for e in report["errors"]] == [
        (3, "csv_unterminated_quote"),
        (7, "csv_unterminated_quote"),
    ]
    assert "lines 3-5" in report["errors"][0]["detail"]
    assert count(api.url, "client") == 2
    for missing in ("Q-2", "Q-3", "Q-4", "Q-6"):
        assert api.client.get(f"/v1/clients/{missing}", headers=api.auth()).status_code == 404
