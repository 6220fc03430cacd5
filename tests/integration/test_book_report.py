"""`clientscore book report`: the page in Chinese and English, its charts, its tables as
CSV and Parquet, and the comparison with the previous run, on two real runs of one book."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from app.book.files import REPORT_FILE
from app.book.page import LIMIT
from app.book.plots import PLOTS
from app.book.report import write_report
from app.errors import ServiceError
from tests.book_runs import two_runs
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
CLIENTS = 2000


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, calibrated_rules: Path
) -> tuple[Path, Path]:
    return two_runs(tmp_path_factory.mktemp("runs"), models_dir, calibrated_rules, CLIENTS)


def _cells(page: str) -> list[str]:
    return re.findall(r"<td[^>]*>([^<]*)</td>", page)


def test_the_report_is_in_words_with_money_to_the_yuan_in_both_languages(
    runs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure  # not at collection: a second of every test worker's

    before, _ = runs
    drawn: list[Figure] = []
    draw = Figure.draw

    def counted(figure: Figure, renderer: Any) -> None:
        drawn.append(figure)
        draw(figure, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    page = write_report(before, tmp_path, lang="en")
    assert len(drawn) == 2 * len(PLOTS)  # each chart drawn once, in each language
    assert page == tmp_path / REPORT_FILE
    english = page.read_text()
    assert english == (tmp_path / "report-en.html").read_text()
    chinese = (tmp_path / "report-zh.html").read_text()
    assert f"{CLIENTS:,} clients, annual premium ¥" in english
    assert f"共 {CLIENTS:,} 个客户" in chinese
    for text, lang in ((english, "en"), (chinese, "zh")):
        sources = re.findall(r"src='([^']+)'", text)
        assert sorted(sources) == sorted(f"{plot}-{lang}.png" for plot in PLOTS)
        for src in sources:
            assert (tmp_path / src).read_bytes()[:4] == b"\x89PNG"
        cells = _cells(text)
        assert "None" not in cells
        assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z]+)+", c)]  # no codes
        assert not [c for c in cells if re.fullmatch(r"-?[\d,]+\.\d+", c)]  # no cents
    assert "Not graded (no policy in force)" in english
    assert "<td class='label'>High</td>" in english
    assert "<td class='label'>高</td>" in chinese
    assert "Customised insurance plan" in english  # the catalogue's title, not its code
    assert "定制保险方案" in chinese
    assert "Not compared with a previous run" in english


def test_every_table_downloads_whole_with_its_premium_and_clv(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    before, _ = runs
    text = write_report(before, tmp_path, lang="en").read_text()
    results = pq.read_table(before, columns=["actions", "annual_premium", "clv"])
    flat = pa.table(
        {
            "action": pc.list_flatten(results["actions"]),
            "premium": pc.take(
                results["annual_premium"], pc.list_parent_indices(results["actions"])
            ),
        }
    )
    counted = {row["action"]: row for row in flat.group_by("action").aggregate(
        [("action", "count"), ("premium", "sum")]
    ).to_pylist()}  # fmt: skip
    actions = pacsv.read_csv(tmp_path / "actions.csv").to_pylist()
    assert actions == pq.read_table(tmp_path / "actions.parquet").to_pylist()
    assert list(actions[0]) == ["action", "clients", "premium", "clv"]
    for row in actions:
        assert row["clients"] == counted[row["action"]]["action_count"]
        assert row["premium"] == round(counted[row["action"]]["premium_sum"])
    by_province = pacsv.read_csv(tmp_path / "actions_by_province.csv")
    assert by_province.num_rows > LIMIT
    cut = re.search(r"<p class='download' id='download-actions_by_province'>(.*?)</p>", text)
    assert cut is not None
    assert f"{by_province.num_rows - LIMIT:,} more rows not shown" in cut.group(1)
    assert "href='actions_by_province.csv' download" in cut.group(1)
    assert "href='actions_by_province.parquet' download" in cut.group(1)
    assert sum(pacsv.read_csv(tmp_path / "mix_value_tier.csv")["clients"].to_pylist()) == CLIENTS


def test_the_previous_run_is_compared_client_by_client(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    before, after = runs
    text = write_report(after, tmp_path, previous=before, lang="en").read_text()
    old = pq.read_table(before, columns=["client_id", "value_tier"]).sort_by("client_id")
    new = pq.read_table(after, columns=["client_id", "value_tier"]).sort_by("client_id")
    moved = sum(
        a != b
        for a, b in zip(old["value_tier"].to_pylist(), new["value_tier"].to_pylist(), strict=True)
    )
    assert moved > 0  # a dearer expense ratio lowers CLV
    migration = pacsv.read_csv(tmp_path / "migration_value_tier.csv").to_pylist()
    assert sum(row["clients"] for row in migration) == CLIENTS
    assert sum(row["clients"] for row in migration if row["from"] != row["to"]) == moved
    assert "id='matrix-value_tier'" in text
    assert "Value tier: migration matrix" in text
    assert f"Clients in both runs: {CLIENTS:,}; new in this run: 0" in text
    at_risk = {r["measure"]: r for r in pacsv.read_csv(tmp_path / "at_risk_moved.csv").to_pylist()}
    assert at_risk["at_risk_clv"]["change"] < 0
    actions = pacsv.read_csv(tmp_path / "actions_moved.csv").to_pylist()
    assert any(row["change"] for row in actions)
    for row in actions:
        assert row["change"] == row["clients_now"] - row["clients_before"]


def test_a_report_written_to_the_same_folder_compares_with_the_last_one(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    before, after = runs
    assert "Not compared" in write_report(before, tmp_path, lang="en").read_text()
    assert "Value tier: migration matrix" in write_report(after, tmp_path, lang="en").read_text()
    again = write_report(after, tmp_path, lang="en").read_text()  # made again: still compared
    assert f"The previous run: {before.resolve()} (as of" in again


def test_a_previous_folder_without_a_run_is_refused_by_name(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli.main import main

    before, _ = runs
    with pytest.raises(ServiceError, match="is the run being reported"):
        write_report(before, tmp_path / "same", previous=before)
    args = ["book", "report", str(before), "--out", str(tmp_path / "report")]
    assert main([*args, "--previous", str(tmp_path)]) == 2
    assert f"--previous: {tmp_path} holds no book run" in capsys.readouterr().err
    assert not (tmp_path / "report" / REPORT_FILE).exists()
    assert main([*args, "--lang", "en"]) == 0
    assert "no previous run to compare with" in capsys.readouterr().err
    assert "<html lang='en'>" in (tmp_path / "report" / REPORT_FILE).read_text()
