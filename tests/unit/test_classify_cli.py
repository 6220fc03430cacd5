"""`clientscore classify FILE`: the batch path from the command line, one output line per row."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.cli.main import main
from app.profiles.schemas import profile_example

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTSCORE_MODELS_DIR", str(ROOT / "models"))
    monkeypatch.setenv("CLIENTSCORE_RULES_DIR", str(ROOT / "rules"))


def read(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_an_ndjson_file_gets_a_result_or_the_problems_for_every_line(tmp_path: Path) -> None:
    good = profile_example()
    source = tmp_path / "clients.ndjson"
    source.write_bytes(
        b"\n".join(
            [
                orjson.dumps({"client_id": "C-1", **good}),
                orjson.dumps({"client_id": "C-2", **good, "kind": "alien"}),
                b"{not json",
                orjson.dumps({"kind": "individual", "birth_year": 1990}),
            ]
        )
    )
    out = tmp_path / "results.ndjson"

    assert main(["classify", str(source), "--output", str(out), "--explain"]) == 0

    lines = read(out)
    assert [line["line"] for line in lines] == [1, 2, 3, 4]
    first, second, third, fourth = lines
    assert first["client_id"] == "C-1"
    assert first["value"]["tier"] in {"high", "medium", "low"}  # type: ignore[index]
    assert first["reasons"]
    assert second["problems"][0]["field"] == "kind"  # type: ignore[index]
    assert third["problems"][0]["rule"] == "json_invalid"  # type: ignore[index]
    assert fourth["lifecycle"]["stage"] in {"non_customer", "potential", "target"}  # type: ignore[index]


def test_csv_and_parquet_give_the_results_ndjson_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"client_id": "P-1", "kind": "individual", "birth_year": 1980, "annual_premium": 3000.0},
        {"client_id": "P-2", "kind": "corporate", "employees": 500, "industry": "mining"},
    ]
    ndjson = tmp_path / "in.ndjson"
    ndjson.write_bytes(b"\n".join(orjson.dumps(row) for row in rows))
    csv = tmp_path / "in.csv"
    csv.write_text(
        "client_id,kind,birth_year,annual_premium,employees,industry\n"
        "P-1,individual,1980,3000,,\n"
        "P-2,corporate,,,500,mining\n"
    )
    parquet = tmp_path / "in.parquet"
    names = dict.fromkeys(name for row in rows for name in row)  # every column, null where absent
    pq.write_table(pa.table({name: [row.get(name) for row in rows] for name in names}), parquet)

    outputs = []
    for source in (ndjson, csv, parquet):
        out = tmp_path / f"{source.suffix[1:]}.out"
        assert main(["classify", str(source), "--output", str(out)]) == 0
        outputs.append([{k: v for k, v in line.items() if k != "line"} for line in read(out)])
    assert outputs[0] == outputs[2]
    assert [r["client_id"] for r in outputs[1]] == ["P-1", "P-2"]
    assert [r["value"] for r in outputs[1]] == [r["value"] for r in outputs[0]]
    assert "classified 2 profiles, rejected 0" in capsys.readouterr().err


def test_an_unreadable_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "clients.xlsx"
    source.write_text("x")
    assert main(["classify", str(source)]) == 2
    assert "use a .ndjson, .jsonl, .csv or .parquet file" in capsys.readouterr().err
