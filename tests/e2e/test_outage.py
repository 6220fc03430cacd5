"""A real server on real Postgres, the database cut while requests flow, then restored.

A TCP proxy the test controls sits between the server and Postgres. During the cut, inline
classification (which needs no database) answers 200 on the key verified before, reads of
stored clients answer 503 `database_unavailable` with `Retry-After` and `X-Request-ID`, and
no request gets a 500; the log says once that the database went and once that it came
back, without tracebacks; after the restore everything answers 200 again by itself.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.profiles.schemas import profile_example
from tests.e2e.test_server import run, serving
from tests.faults import CuttableProxy, cuttable_proxy
from tests.service_models import calibrated_rules, champions, models_dir
from tests.traffic import inline_profile

__all__ = ["calibrated_rules", "champions", "models_dir"]
pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
CUT_SECONDS = 4.0  # four times the key cache: the key must come from the grace period


@pytest.fixture(scope="module")
def outage_server(
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    models_dir: Path,
    calibrated_rules: Path,
) -> Iterator[tuple[str, str, CuttableProxy, Path]]:
    folder = tmp_path_factory.mktemp("outage")
    shutil.copytree(calibrated_rules, folder / "rules")
    direct = make_url(postgres_url)
    made = run(
        {**os.environ, "CLIENTSCORE_DATABASE_URL": postgres_url},
        "keys",
        "create",
        "--name",
        "outage",
        "--scopes",
        "admin",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    with cuttable_proxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        proxied = direct.set(host="127.0.0.1", port=proxy.port)
        env = {
            **os.environ,
            "CLIENTSCORE_DATABASE_URL": proxied.render_as_string(hide_password=False),
            "CLIENTSCORE_MODELS_DIR": str(models_dir),
            "CLIENTSCORE_RULES_DIR": str(folder / "rules"),
            "CLIENTSCORE_AUTH_CACHE_SECONDS": "1",
            "CLIENTSCORE_AUTH_OUTAGE_GRACE_SECONDS": "60",
            "CLIENTSCORE_DATABASE_TIMEOUT_SECONDS": "1",
        }
        log = folder / "server.log"
        with serving(env, log, workers=1) as base:
            yield base, token, proxy, log


def test_a_database_outage_costs_only_what_needs_the_database(
    outage_server: tuple[str, str, CuttableProxy, Path],
) -> None:
    base, token, proxy, log = outage_server
    inline = {"profile": inline_profile(profile_example())}
    statuses: Counter[tuple[str, str, int]] = Counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:

        def ask(phase: str) -> tuple[httpx.Response, httpx.Response]:
            classified = http.post("/v1/classify", json=inline, timeout=10)
            read = http.get("/v1/clients/O-1", timeout=10)
            statuses[(phase, "inline", classified.status_code)] += 1
            statuses[(phase, "by id", read.status_code)] += 1
            return classified, read

        assert http.put("/v1/clients/O-1", json=profile_example()).status_code in (200, 201)
        ask("before")
        proxy.cut()
        cut_at = time.monotonic()
        while time.monotonic() - cut_at < CUT_SECONDS:
            _, read = ask("during")
            if read.status_code == 503:
                assert read.headers["content-type"] == "application/problem+json"
                assert read.json()["code"] == "database_unavailable"
                assert int(read.headers["retry-after"]) > 0
                assert read.headers["x-request-id"]
        proxy.restore()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and http.get("/v1/clients/O-1").status_code != 200:
            time.sleep(0.2)
        for _ in range(5):
            ask("after")
    assert not [key for key in statuses if key[2] >= 500 and key[2] != 503], statuses
    assert {key for key in statuses if key[0] == "during"} == {
        ("during", "inline", 200),
        ("during", "by id", 503),
    }, statuses
    assert {key for key in statuses if key[0] == "after"} == {
        ("after", "inline", 200),
        ("after", "by id", 200),
    }, statuses
    text = log.read_text()
    assert text.count("the database is unavailable") == 1, text[-3000:]
    assert text.count("the database is available again") == 1, text[-3000:]
    assert "Traceback" not in text
