"""A model file cut short but carrying its own checksum: LightGBM aborts the process that
loads it, so no serving process may be the first to. Promoting it is refused (CLI and API)
and nothing dies; a server started with it as champion serves the champion before it and
says so; once the file is repaired, every worker takes it up by itself."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.serving.repository import ModelRepository
from tests.e2e.test_server import mint_key, run, serving
from tests.model_versions import point_by_hand
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]
pytestmark = pytest.mark.e2e


def cut_copy(root: Path, name: str, version: str) -> tuple[str, bytes]:
    """A copy of `version` with model.txt cut in half and its sha256 recorded to match."""
    bad = f"{version}-cut"
    shutil.copytree(root / name / version, root / name / bad)
    whole = (root / name / bad / "model.txt").read_bytes()
    write_model(root, name, bad, whole[: len(whole) // 2])
    return bad, whole


def write_model(root: Path, name: str, version: str, model: bytes) -> None:
    folder = root / name / version
    (folder / "model.txt").write_bytes(model)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata |= {"version": version, "model_sha256": hashlib.sha256(model).hexdigest()}
    (folder / "metadata.json").write_text(json.dumps(metadata))


@pytest.fixture
def registry(tmp_path: Path, models_dir: Path, calibrated_rules: Path) -> Path:
    shutil.copytree(models_dir, tmp_path / "models")
    shutil.copytree(calibrated_rules, tmp_path / "rules")
    return tmp_path


def test_a_corrupt_champion_never_takes_the_service_down(registry: Path, sqlite_url: str) -> None:
    root = registry / "models"
    good = ModelRepository(root).champion("lapse")
    assert good is not None
    bad, whole = cut_copy(root, "lapse", good)
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": sqlite_url,
        "CLIENTSCORE_MODELS_DIR": str(root),
        "CLIENTSCORE_RULES_DIR": str(registry / "rules"),
        "CLIENTSCORE_MODEL_RELOAD_SECONDS": "0.3",
    }
    promoted = run(env, "models", "promote", "lapse", bad)
    assert promoted.returncode == 2, (promoted.returncode, promoted.stderr)
    assert "LightGBM cannot load model.txt" in promoted.stderr
    assert ModelRepository(root).champion("lapse") == good
    headers = {"Authorization": f"Bearer {mint_key(sqlite_url, 'admin', name='operator')}"}

    point_by_hand(root, "lapse", bad)  # the champion on disk at start cannot be loaded
    log = registry / "server.log"
    with serving(env, log, workers=2) as base:
        ready = readiness(base, answers=6)
        assert {r["models"]["lapse"] for r in ready} == {good}
        assert all("previous champion" in r["model_errors"]["lapse"] for r in ready)
        assert f"serving {good}" in log.read_text()

        refused = httpx.put(
            f"{base}/v1/models/lapse/champion", json={"version": bad}, headers=headers, timeout=60
        )
        assert refused.status_code == 422, refused.text
        assert "LightGBM cannot load" in refused.json()["detail"]

        write_model(root, "lapse", bad, whole)  # repaired in place
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if {r["models"]["lapse"] for r in readiness(base, answers=6)} == {bad}:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the workers did not take up the repaired version: {readiness(base, 6)}")


def readiness(base: str, answers: int) -> list[dict[str, Any]]:
    """/readyz asked on new connections, so that both workers answer; each must be 200."""
    bodies = []
    for _ in range(answers):
        response = httpx.get(f"{base}/readyz", timeout=10)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    return bodies
