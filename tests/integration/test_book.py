"""A book run against the API, on a real Dask LocalCluster, from the store, and resumed."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.book.bundle import Bundle
from app.book.run import Cluster, Summary, classify_book
from app.book.sources import DatabaseSource, FileSource
from app.book.synthetic import profile_table
from app.demo.repository import load_book
from app.demo.synthetic import generate_book
from app.errors import ServiceError
from app.rules.ruleset import Ruleset
from app.strategy.rates import NO_ANSWERS, Counts, Rates
from tests.book_runs import InProcess
from tests.integration.conftest import Api, api_for
from tests.service_models import calibrated_rules, champions, models_dir, rules_dir

READ_ONLY = ("client_id", "version", "created_at", "updated_at")

__all__ = ["calibrated_rules", "champions", "models_dir", "rules_dir"]
CLIENTS = 3_000
PARTITION = 1_000
TODAY = date.today()


@pytest.fixture(scope="module")
def book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "profiles.parquet"
    book = generate_book(CLIENTS, 5, as_of=TODAY)
    pq.write_table(profile_table(book.profiles), path, row_group_size=500)
    return path


def run(
    source: Any,
    out: Path,
    models: Path,
    rules: Path,
    *,
    workers: Any = None,
    rates: Rates = NO_ANSWERS,
    **options: Any,
) -> Summary:
    def pin(versions: dict[str, Any] | None) -> Bundle:
        return Bundle.pin(models, rules, versions=versions).with_rates(rates)

    return classify_book(
        source,
        out,
        pin=pin,
        as_of=TODAY,
        partition_rows=PARTITION,
        workers=workers or InProcess,
        progress=False,
        **options,
    )


def rows(out: Path) -> list[dict[str, Any]]:
    table = pq.read_table(out).sort_by("client_id")
    listed: list[dict[str, Any]] = table.drop_columns(
        ["ruleset_version", "model_versions"]
    ).to_pylist()
    return listed


def test_results_equal_the_api_row_by_row(
    book_file: Path, models_dir: Path, rules_dir: Path, sqlite_url: str, tmp_path: Path
) -> None:
    summary = run(FileSource.of([book_file]), tmp_path / "out", models_dir, rules_dir)
    assert (summary.rows, summary.rejected, summary.partitions) == (CLIENTS, 0, 3)
    results = {row["client_id"]: row for row in rows(tmp_path / "out")}
    book = generate_book(CLIENTS, 5, as_of=TODAY)
    sample = list(range(0, CLIENTS, 97))
    with api_for(sqlite_url, models_dir=models_dir, rules_dir=rules_dir) as api:
        for i, record in zip(sample, map(_one(book), sample), strict=True):
            expected = _post(api, record)
            got = results[str(book.profiles["client_id"][i])]
            assert _as_api(got) == expected, str(book.profiles["client_id"][i])
    metadata = pq.read_schema(tmp_path / "out" / "part-00000.parquet").metadata
    assert b"rs-" in metadata[b"clientscore"]


def _one(book: Any) -> Any:
    return lambda i: next(book.records(i, i + 1))


def _post(api: Api, record: dict[str, Any]) -> dict[str, Any]:
    record.pop("personal", None)
    request = json.loads(orjson.dumps({"profile": record}))
    response = api.client.post("/v1/classify", json=request, headers=api.auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    segment = body["segment"] or {}
    return {
        "value": (body["value"]["tier"], body["value"]["grade"], body["value"]["clv"]),
        "percentile": body["value"]["percentile"],
        "risk": (
            body["risk"]["tier"],
            body["risk"]["expected_claim_frequency"],
            body["risk"]["expected_loss_ratio"],
        ),
        "lifecycle": (
            body["lifecycle"]["stage"],
            body["lifecycle"]["lapse_probability_12m"],
            body["lifecycle"]["purchase_probability"],
            body["lifecycle"]["prospect_grade"],
        ),
        "segment": (segment.get("scale"), segment.get("ownership"), segment.get("industry")),
        "actions": [action["code"] for action in body["strategy"]],
    }


def _as_api(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "value": (row["value_tier"], row["abc_grade"], row["clv"]),
        "percentile": row["clv_percentile"],
        "risk": (row["risk_tier"], row["expected_claim_frequency"], row["expected_loss_ratio"]),
        "lifecycle": (
            row["lifecycle_stage"],
            row["lapse_probability_12m"],
            row["purchase_probability"],
            row["prospect_grade"],
        ),
        "segment": (row["group_scale"], row["ownership"], row["industry"]),
        "actions": row["actions"],
    }


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[Any]:
    distributed: Any = importlib.import_module("distributed")  # untyped
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


def test_a_run_ranks_with_the_recorded_answers_it_was_given(
    book_file: Path, models_dir: Path, rules_dir: Path, tmp_path: Path
) -> None:
    ruleset = Ruleset.load(rules_dir)
    segments = {
        f"{value}/{stage}"
        for value in ("high", "medium", "low")
        for stage in ("non_customer", "potential", "target", "active", "at_risk", "churned")
    }
    assert ruleset.document.strategy.segment_by == ["value_tier", "lifecycle_stage"]
    plain = tmp_path / "plain"
    run(FileSource.of([book_file]), plain, models_dir, rules_dir)
    firsts = pq.read_table(plain, columns=["actions"])["actions"].to_pylist()
    # The action most often eligible but seldom first: every offer of it accepted.
    listed = [code for actions in firsts for code in actions[1:]]
    code = max(sorted(set(listed)), key=listed.count)
    accepted = Rates({(code, segment): Counts(5_000, 5_000) for segment in segments})
    learned = tmp_path / "learned"
    run(FileSource.of([book_file]), learned, models_dir, rules_dir, rates=accepted)
    again = pq.read_table(learned, columns=["actions"])["actions"].to_pylist()
    before = sum(bool(actions) and actions[0] == code for actions in firsts)
    after = sum(bool(actions) and actions[0] == code for actions in again)
    assert after > 2 * before + CLIENTS // 100


def test_the_command_reads_the_learned_acceptance_only_with_a_database(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli.book import learned_rates
    from app.settings import Settings
    from app.strategy import repository

    counted = {("retention_offer", "high/at_risk"): Counts(10, 9)}

    async def counts(_session: Any) -> dict[tuple[str, str], Counts]:
        return counted

    monkeypatch.setattr(repository, "counts", counts)
    monkeypatch.delenv("CLIENTSCORE_DATABASE_URL", raising=False)
    assert learned_rates(Settings(), stored=False) is NO_ANSWERS
    monkeypatch.setenv("CLIENTSCORE_DATABASE_URL", sqlite_url)
    assert learned_rates(Settings(), stored=False).counts == counted
    assert learned_rates(Settings(), stored=True).counts == counted


def test_a_local_cluster_of_two_workers_gives_the_embedded_results(
    book_file: Path, models_dir: Path, rules_dir: Path, local_cluster: Any, tmp_path: Path
) -> None:
    source = FileSource.of([book_file])
    run(source, tmp_path / "here", models_dir, rules_dir)
    summary = run(
        source,
        tmp_path / "cluster",
        models_dir,
        rules_dir,
        workers=lambda bundle: Cluster(bundle, local_cluster),
    )
    assert summary.rows == CLIENTS
    assert rows(tmp_path / "cluster") == rows(tmp_path / "here")


def test_a_run_cut_short_keeps_its_finished_partitions(
    book_file: Path, models_dir: Path, rules_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(FileSource.of([book_file]), out, models_dir, rules_dir)
    before = rows(out)
    (out / "part-00001.parquet").unlink()
    (out / "_SUCCESS.json").unlink()
    stamp = (out / "part-00000.parquet").stat().st_mtime_ns
    summary = run(FileSource.of([book_file]), out, models_dir, rules_dir)
    assert (summary.kept, summary.partitions, summary.rows) == (2, 3, CLIENTS)
    assert (out / "part-00000.parquet").stat().st_mtime_ns == stamp
    assert rows(out) == before
    with pytest.raises(ServiceError, match="partition_rows"):
        classify_book(
            FileSource.of([book_file]),
            out,
            pin=lambda v: Bundle.pin(models_dir, rules_dir, versions=v),
            as_of=TODAY,
            partition_rows=2 * PARTITION,
            progress=False,
        )


def test_the_stored_book_is_classified_as_its_file(
    db_url: str, book_file: Path, models_dir: Path, rules_dir: Path, tmp_path: Path
) -> None:
    load_book(db_url, generate_book(CLIENTS, 5, as_of=TODAY), observed_at=TODAY)
    run(DatabaseSource(db_url), tmp_path / "stored", models_dir, rules_dir)
    run(FileSource.of([book_file]), tmp_path / "file", models_dir, rules_dir)
    stored = rows(tmp_path / "stored")
    assert stored == rows(tmp_path / "file")
    # A stored client's strategy and control group are the API's (no contact history yet).
    held = [row for row in stored if row["held_out_actions"]][:4]
    assert held, "5% of clients per action are held out"
    with api_for(db_url, models_dir=models_dir, rules_dir=rules_dir) as api:
        for row in [*held, *stored[:4]]:
            response = api.client.get(
                f"/v1/clients/{row['client_id']}/classification", headers=api.auth()
            )
            assert response.status_code == 200, response.text
            strategy = response.json()["strategy"]
            assert [a["code"] for a in strategy] == row["actions"]
            assert [a["code"] for a in strategy if a["held_out"]] == row["held_out_actions"]


def test_rows_that_break_a_rule_are_set_aside_with_their_problems(
    models_dir: Path, rules_dir: Path, tmp_path: Path
) -> None:
    book = generate_book(50, 3, as_of=TODAY)
    table = profile_table(book.profiles)
    kinds = table["kind"].to_pylist()
    kinds[0] = "alien"
    premium = table["annual_premium"].to_pylist()
    premium[1] = -5.0
    table = table.set_column(1, "kind", pa.array(kinds)).set_column(
        table.schema.get_field_index("annual_premium"), "annual_premium", pa.array(premium)
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    summary = run(FileSource.of([path]), tmp_path / "out", models_dir, rules_dir)
    assert (summary.rows, summary.rejected) == (48, 2)
    problems = pq.read_table(tmp_path / "out" / "_rejected").to_pylist()
    ids = table["client_id"].to_pylist()
    assert {"client_id": ids[0], "field": "kind", "rule": "enum"} in problems
    assert {"client_id": ids[1], "field": "annual_premium", "rule": "range"} in problems
    wrong = table.set_column(
        table.schema.get_field_index("renewals"), "renewals", pa.array(["many"] * 50)
    )
    pq.write_table(wrong, path)
    with pytest.raises(ServiceError, match="column renewals"):
        run(FileSource.of([path]), tmp_path / "wrong", models_dir, rules_dir)


def test_the_commands_classify_report_and_simulate_a_book(
    book_file: Path,
    models_dir: Path,
    rules_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli.main import main
    from app.rules.ruleset import Ruleset

    active = Ruleset.load(rules_dir).version

    monkeypatch.setenv("CLIENTSCORE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("CLIENTSCORE_RULES_DIR", str(rules_dir))
    out, report = tmp_path / "results", tmp_path / "report"
    args = ["book", "classify", str(book_file), "--out", str(out), "--workers", "2"]
    assert main([*args, "--partition-rows", "1000", "--explain"]) == 0
    assert f"classified {CLIENTS:,} clients in 3 partitions" in capsys.readouterr().err
    explained = pq.read_table(out, columns=["risk_reason_en", "risk_reason_feature"])
    assert explained["risk_reason_en"].null_count == 0
    assert main([*args, "--partition-rows", "2000"]) == 2
    assert "partition_rows" in capsys.readouterr().err
    assert main(["book", "report", str(out), "--out", str(report)]) == 0
    assert (report / "report.html").is_file()
    assert main(["rules", "whatif", str(rules_dir), "--book", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{CLIENTS:,} clients: active" in printed
    assert f"{CLIENTS:,} clients: active {active} -> candidate {active}; 0 moved" in printed
    assert "no action's count changes" in printed
    candidate = tmp_path / "candidate"
    shutil.copytree(rules_dir, candidate)
    ruleset = candidate / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace("expense_ratio: 0.25", "expense_ratio: 0.40"))
    assert main(["rules", "whatif", str(candidate), "--book", str(out)]) == 0
    printed = capsys.readouterr().out
    moves = [line for line in printed.splitlines() if " -> " in line and "clients," in line]
    assert moves  # each with its premium and its CLV before and after
    assert all(", CLV " in line for line in moves)
    counts = printed.split("actions whose count changes")[1].splitlines()[1:]
    assert counts
    for line in counts:
        before, after = line.split(": ")[1].split(" -> ")
        assert before != after  # only the actions that change are listed


def test_a_book_run_never_offers_on_a_channel_the_client_refused(
    db_url: str, models_dir: Path, rules_dir: Path, tmp_path: Path
) -> None:
    load_book(db_url, generate_book(CLIENTS, 5, as_of=TODAY), observed_at=TODAY)
    with api_for(db_url, models_dir=models_dir, rules_dir=rules_dir) as api:
        ids = [f"S{i:07d}" for i in range(1, 41)]
        channels = {
            a["code"]: a["channel"]
            for a in api.client.get("/v1/strategy/actions", headers=api.auth()).json()["actions"]
        }
        before = {
            channels[a["code"]]
            for client_id in ids
            for a in api.client.post(
                "/v1/classify", json={"client_id": client_id}, headers=api.auth()
            ).json()["strategy"]
        }
        assert {"call", "visit"} <= before  # what the consent below must take away
        for client_id in ids:
            read = api.client.get(f"/v1/clients/{client_id}", headers=api.auth()).json()
            body = {k: v for k, v in read.items() if k not in READ_ONLY}
            body["contact_consent"] = {"call": "refused", "visit": "refused", "sms": "granted"}
            stored = api.client.put(f"/v1/clients/{client_id}", json=body, headers=api.auth())
            assert stored.status_code == 200, stored.text
        run(DatabaseSource(db_url), tmp_path / "stored", models_dir, rules_dir)
        results = {row["client_id"]: row for row in rows(tmp_path / "stored")}
        for client_id in ids:
            actions = results[client_id]["actions"]
            assert not {channels[code] for code in actions} & {"call", "visit"}, client_id
            api_strategy = api.client.get(
                f"/v1/clients/{client_id}/classification", headers=api.auth()
            ).json()["strategy"]
            assert [a["code"] for a in api_strategy] == actions, client_id
    book = generate_book(20, 3, as_of=TODAY)
    table = profile_table(book.profiles)
    consent = ["call:refused"] * 20
    consent[0], consent[1] = "call:maybe", "fax:refused"
    table = table.set_column(
        table.schema.get_field_index("contact_consent"), "contact_consent", pa.array(consent)
    )
    path = tmp_path / "consent.parquet"
    pq.write_table(table, path)
    summary = run(FileSource.of([path]), tmp_path / "file", models_dir, rules_dir)
    assert (summary.rows, summary.rejected) == (18, 2)
    problems = pq.read_table(tmp_path / "file" / "_rejected").to_pylist()
    assert {p["rule"] for p in problems} == {"consent_format"}
    for row in rows(tmp_path / "file"):
        assert "call" not in {channels[code] for code in row["actions"]}
