"""Property-based fuzzing of the whole served OpenAPI document against a real server.

Every operation gets generated requests, valid and not; every answer must be no server
error and must be documented: its status code, its content type and its body's schema.
The server runs on PostgreSQL, whose refusals (a NUL byte in text, an integer out of range)
are the stricter ones.
The server runs on copies of a model registry and the rules folder, since admin operations
(uploading a ruleset, promoting a champion) are fuzzed too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.result import Err
from schemathesis.openapi import from_url

from tests.conftest import ON_POSTGRES
from tests.e2e.test_server import mint_key, serving
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]

pytestmark = pytest.mark.e2e
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module", params=[ON_POSTGRES])
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    models_dir: Path,
    calibrated_rules: Path,
) -> Iterator[tuple[str, str]]:
    url: str = request.getfixturevalue(f"{request.param}_url")
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(models_dir, folder / "models")
    shutil.copytree(calibrated_rules, folder / "rules")
    env = {
        **os.environ,
        "CLIENTSCORE_DATABASE_URL": url,
        "CLIENTSCORE_MODELS_DIR": str(folder / "models"),
        "CLIENTSCORE_RULES_DIR": str(folder / "rules"),
        "CLIENTSCORE_LOG_LEVEL": "WARNING",
    }
    token = mint_key(url, "admin", name="fuzz")
    with serving(env, folder / "server.log", workers=1) as base:
        yield base, token


FUZZ = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def test_every_operation_answers_as_documented(served: tuple[str, str]) -> None:
    base, token = served
    schema = from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures[f"operation {operations}"] = f"not a valid operation: {result.err()}"
            continue
        operation = result.ok()
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=30)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
            failures[operation.label] = str(exc)[:3000]
    assert operations >= 18
    assert not failures, "\n\n".join(f"{label}: {why}" for label, why in failures.items())
