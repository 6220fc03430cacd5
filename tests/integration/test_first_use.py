"""What the command says and refuses on first use: a new database, a taken port, a second book."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.cli import demo_folders as scratch
from app.cli.main import main
from tests.conftest import TABLES, scratch_postgres
from tests.integration.test_book_loader import scalar


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("CLIENTSCORE_DATABASE_URL", url)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migrate_says_what_it_created_then_that_all_is_up_to_date(
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def check(url: str) -> None:
        code, out, _ = run(capsys, monkeypatch, url, "migrate")
        assert code == 0
        assert out.startswith("created the schema (revision ")
        assert set(out.rstrip().split(": tables ", 1)[1].split(", ")) == set(TABLES)
        code, out, _ = run(capsys, monkeypatch, url, "migrate")
        assert code == 0
        assert "is up to date (revision " in out

    if backend == "sqlite":
        check(f"sqlite:///{tmp_path / 'new.db'}")
    else:
        with scratch_postgres("clientscore_first_use") as url:
            check(url)


def test_a_missing_embedded_database_is_named_not_made_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLIENTSCORE_DATABASE_URL", raising=False)
    code = main(["keys", "list"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"there is no database at {tmp_path / 'var' / 'clientscore.db'}" in err
    assert "clientscore migrate" in err
    assert "CLIENTSCORE_DATABASE_URL" in err
    assert not (tmp_path / "var").exists()

    assert main(["migrate"]) == 0
    err = capsys.readouterr().err
    assert f"creating the embedded database {tmp_path / 'var' / 'clientscore.db'}" in err
    assert main(["keys", "list"]) == 0
    assert capsys.readouterr().err == ""


def test_a_taken_port_is_reported_before_anything_is_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLIENTSCORE_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("demo", "serve"):
            assert main([command, "--port", str(port)]) == 2
            out, err = capsys.readouterr()
            assert out == ""
            assert err.count("\n") == 1
            assert f"cannot listen on 127.0.0.1:{port}" in err
            assert "--port" in err
    assert list(tmp_path.iterdir()) == []


def test_a_second_book_with_the_same_ids_is_explained_and_a_prefix_stores_it(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    book = ("demo-data", "--clients", "40", "--as-of", "2026-06-30")
    assert run(capsys, monkeypatch, db_url, *book, "--seed", "7")[0] == 0
    code, out, _ = run(capsys, monkeypatch, db_url, *book, "--seed", "8")
    assert code == 0
    assert "stored 0 new clients" in out
    assert "40 of the book's ids were stored already" in out
    assert "--id-prefix B8-" in out
    code, out, _ = run(capsys, monkeypatch, db_url, *book, "--seed", "8", "--id-prefix", "B8-")
    assert code == 0
    assert "B8-0000001 ... B8-0000040" in out
    assert "stored 40 new clients" in out
    assert "already" not in out
    assert scalar(db_url, "SELECT count(*) FROM client WHERE client_id LIKE 'B8-%'") == 40
    assert scalar(db_url, "SELECT count(*) FROM client_outcome") == 80
    code, _, err = run(capsys, monkeypatch, db_url, *book, "--id-prefix", "no spaces")
    assert code == 2
    assert "--id-prefix" in err


def test_the_demo_registry_is_a_fresh_copy_without_run_time_files(tmp_path: Path) -> None:
    models, rules = tmp_path / "models", tmp_path / "rules"
    (models / "lapse").mkdir(parents=True)
    (models / "lapse" / "champion.json").write_text("{}")
    (rules / "versions" / "rs-1").mkdir(parents=True)
    (rules / "ruleset.yaml").write_text("a: 1\n")
    (rules / "active.json").write_text("{}")
    root = tmp_path / "var" / "demo"
    (root / "models" / "stale").mkdir(parents=True)

    folders = scratch.prepare(models, rules, root)

    assert sorted(p.name for p in folders.models.iterdir()) == ["lapse"]
    assert sorted(p.name for p in folders.rules.iterdir()) == ["ruleset.yaml"]
    (folders.models / "lapse" / "champion.json").write_text('{"changed": true}')
    assert (models / "lapse" / "champion.json").read_text() == "{}"
    # Serving from the copies themselves keeps them as they are.
    again = scratch.prepare(folders.models, folders.rules, root)
    assert (again.models / "lapse" / "champion.json").read_text() == '{"changed": true}'
    scratch.write_key(again.key, "cs_x")
    assert again.key.read_text() == "cs_x\n"
    assert again.key.stat().st_mode & 0o777 == 0o600


def test_keys_are_revoked_by_name_as_the_readme_shows(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        assert (
            run(
                capsys,
                monkeypatch,
                db_url,
                "keys",
                "create",
                "--name",
                "crm",
                "--scopes",
                "classify",
            )[0]
            == 0
        )
    code, out, _ = run(capsys, monkeypatch, db_url, "keys", "revoke", "--name", "crm")
    assert (code, out) == (0, "2 keys named crm revoked\n")
    code, _, err = run(capsys, monkeypatch, db_url, "keys", "revoke", "--name", "crm")
    assert code == 2
    assert "no active key named 'crm'" in err
    assert run(capsys, monkeypatch, db_url, "keys", "revoke")[0] == 2
    assert scalar(db_url, "SELECT count(*) FROM api_key WHERE revoked_at IS NULL") == 0
