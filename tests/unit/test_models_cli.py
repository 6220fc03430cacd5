"""`clientscore models list|show|promote|rollback` on a registry folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from app.cli.table import table
from app.serving.repository import ModelRepository
from tests.model_versions import corrupt, numeric, service_features, write_version

LAPSE = service_features()["lapse"]


def models(root: Path, *args: str) -> int:
    return main(["models", *args, "--models-dir", str(root)])


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal wide enough for every table here, whatever the test runner's own is (a
    test that wants a narrow one sets its own)."""
    monkeypatch.setenv("COLUMNS", "200")


def test_promote_list_show_and_rollback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = (write_version(tmp_path, "lapse", LAPSE, seed=s) for s in (1, 2))
    assert models(tmp_path, "promote", "lapse", first) == 0
    assert models(tmp_path, "promote", "lapse", second) == 0
    assert f"lapse: champion is now {second} (was {first})" in capsys.readouterr().out

    assert models(tmp_path, "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["model", "champion", "versions", "newest", "headline"]
    assert table[1].split() == ["lapse", second, "2", second, "auc", "0.710", "(baseline", "0.500)"]

    assert models(tmp_path, "show", "lapse") == 0
    shown = capsys.readouterr().out
    assert f"lapse {second} (champion)" in shown
    assert "check      ok" in shown
    assert "auc" in shown
    assert f"features   {len(LAPSE)}: {LAPSE[0].name}, {LAPSE[1].name}" in shown

    assert models(tmp_path, "rollback", "lapse") == 0
    assert f"lapse: rolled back to {first} (was {second})" in capsys.readouterr().out
    assert ModelRepository(tmp_path).pointer("lapse") is not None


def test_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_version(tmp_path, "lapse", LAPSE, seed=1)
    bad = write_version(tmp_path, "lapse", LAPSE, seed=2)
    corrupt(tmp_path, "lapse", bad)
    assert models(tmp_path, "show", "lapse") == 0
    shown = capsys.readouterr().out
    assert f"lapse {bad} (newest; no champion)" in shown
    assert "check      refused: " in shown
    assert models(tmp_path, "rollback", "lapse") == 2
    assert "no earlier champion" in capsys.readouterr().err
    assert models(tmp_path, "promote", "lapse", good) == 0
    assert models(tmp_path, "promote", "lapse", bad) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"clientscore: error: lapse/{bad}: model.txt is corrupt")
    assert error.count("\n") == 1
    assert ModelRepository(tmp_path).champion("lapse") == good
    assert models(tmp_path, "show", "lapse", bad) == 0
    assert "check      refused: " in capsys.readouterr().out
    assert models(tmp_path, "promote", "churn", good) == 2
    assert "no model named 'churn'" in capsys.readouterr().err


def test_promote_refuses_features_the_service_does_not_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = write_version(tmp_path, "lapse", numeric("tenure_years"))
    assert models(tmp_path, "promote", "lapse", version) == 2
    assert "incompatible feature schema" in capsys.readouterr().err


def test_without_a_champion_list_and_show_use_the_newest_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _first, second = (write_version(tmp_path, "lapse", LAPSE, seed=s) for s in (1, 2))

    assert models(tmp_path, "list") == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:4] == ["lapse", "-", "2", second]
    assert row[4:] == ["auc", "0.710", "(baseline", "0.500)", "(newest)"]
    assert models(tmp_path, "show", "lapse") == 0
    assert f"lapse {second} (newest; no champion)" in capsys.readouterr().out


def test_compare_shows_the_versions_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = [write_version(tmp_path, "lapse", LAPSE, seed=s) for s in (1, 2, 3)]
    assert models(tmp_path, "promote", "lapse", versions[1]) == 0
    capsys.readouterr()

    assert models(tmp_path, "compare", "lapse", "--last", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [f"{versions[1]}*", versions[2]]
    assert lines[1].split()[0] == "trees"
    assert any(line.split()[0] == "auc" for line in lines)
    assert lines[-1] == "* champion"
    assert models(tmp_path, "compare", "churn") == 2
    assert "no model named 'churn'" in capsys.readouterr().err


def test_compare_takes_versions_of_several_models_and_fits_the_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = write_version(tmp_path, "lapse", LAPSE, seed=1)
    tuned = [write_version(tmp_path, "lapse-tuned", LAPSE, seed=s) for s in (2, 3)]
    monkeypatch.setenv("COLUMNS", "200")

    assert models(tmp_path, "compare", "lapse", f"lapse-tuned@{tuned[0]}") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["lapse", "lapse-tuned"]
    assert lines[1].split() == ["version", base, tuned[0]]
    assert models(tmp_path, "compare", "lapse", "lapse-tuned@nope") == 2
    assert "nope" in capsys.readouterr().err

    monkeypatch.setenv("COLUMNS", "70")  # the labels and one version column fit, not two
    assert models(tmp_path, "compare", "lapse", "lapse-tuned") == 0
    narrow = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in narrow) <= 70
    assert [line.split() for line in narrow if line.strip() in ("lapse", "lapse-tuned")] == [
        ["lapse"],
        ["lapse-tuned"],
    ]
    second = " ".join(narrow[narrow.index("") :])
    assert tuned[1] in second  # lapse-tuned's newest, no champion
    assert tuned[0] not in second


def test_tables_wrap_their_long_columns_to_the_width() -> None:
    header = ["model", "champion", "headline"]
    rows = [["lapse", "20261124T090000Z-5e6f7a8b", "auc 0.710 (baseline 0.500) (newest) " * 2]]

    lines = table(header, rows, wrap=[2], width=60)

    assert max(len(line) for line in lines) <= 60
    assert lines[0].split() == header
    assert lines[1].startswith("lapse  20261124T090000Z-5e6f7a8b  auc 0.710")
    assert len(lines) > 2
    assert table(header, rows, width=300)[1].split()[:2] == ["lapse", "20261124T090000Z-5e6f7a8b"]
