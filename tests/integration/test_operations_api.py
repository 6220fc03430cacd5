"""`/metrics` and the request log of an in-process app, after real classification traffic."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.profiles.schemas import profile_example
from tests.integration.conftest import Api, api_for
from tests.service_models import calibrated_rules, champions, models_dir

__all__ = ["calibrated_rules", "champions", "models_dir"]


@pytest.fixture
def api(db_url: str, models_dir: Path, calibrated_rules: Path, tmp_path: Path) -> Iterator[Api]:
    rules = tmp_path / "rules"
    shutil.copytree(calibrated_rules, rules)
    with api_for(db_url, models_dir=models_dir, rules_dir=rules, drift_window_scores=100) as built:
        yield built


def scrape(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def inline() -> dict[str, object]:
    body = profile_example()
    body.pop("personal")
    return body


def test_classifications_are_counted_by_dimension_tier_rule_and_route(api: Api) -> None:
    auth = api.auth("classify")
    one = api.client.post("/v1/classify", json={"profile": inline()}, headers=auth).json()
    batch = {"items": [{"profile": inline()}] * 3 + [{"profile": {"kind": "alien"}}]}
    assert api.client.post("/v1/classify:batch", json=batch, headers=auth).status_code == 200
    assert api.client.get("/v1/no-such-thing").status_code == 404
    samples = scrape(api)

    for dimension, given in (
        ("value_tier", one["value"]["tier"]),
        ("risk_tier", one["risk"]["tier"]),
        ("lifecycle_stage", one["lifecycle"]["stage"]),
    ):
        labels = {"dimension": dimension, "class": given}
        assert value(samples, "clientscore_classifications_total", **labels) == 4
    for action in one["strategy"]:
        assert value(samples, "clientscore_strategy_actions_total", action=action["code"]) == 4
    for rule in one["rules_fired"]:
        fired = {"table": rule["table"], "row": str(rule["row"])}
        assert value(samples, "clientscore_rules_fired_total", **fired) == 4
    claims = one["versions"]["models"]["claims"]
    assert value(samples, "clientscore_model_score_count", model="claims", version=claims) == 4
    route = {"route": "/v1/classify", "method": "POST", "status": "200"}
    assert value(samples, "clientscore_http_requests_total", **route) == 1
    assert value(samples, "clientscore_http_request_duration_seconds_count", **route) == 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(samples, "clientscore_http_requests_total", **unmatched) == 1


def test_versions_drift_and_build_are_exported(api: Api) -> None:
    auth = api.auth("classify")
    served = api.client.post("/v1/classify", json={"profile": inline()}, headers=auth).json()
    samples = scrape(api)
    for model, version in served["versions"]["models"].items():
        assert value(samples, "clientscore_model_info", model=model, version=version) == 1
        assert value(samples, "clientscore_model_loaded", model=model) == 1
    ruleset = served["versions"]["ruleset"]
    assert value(samples, "clientscore_ruleset_info", version=ruleset) == 1
    assert value(samples, "clientscore_ruleset_loaded") == 1
    claims = {"model": "claims", "version": served["versions"]["models"]["claims"]}
    assert value(samples, "clientscore_model_score_psi_window_scores", **claims) == 1
    assert value(samples, "clientscore_model_score_psi", **claims) > 0
    assert any(name == "clientscore_build_info" for name, _ in samples)
    assert ("clientscore_db_pool_connections_in_use", frozenset()) in samples


def test_one_json_line_per_request_with_ids_and_versions(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    auth = api.auth("classify")
    with caplog.at_level(logging.INFO, logger="clientscore.requests"):
        response = api.client.post(
            "/v1/classify",
            json={"profile": inline()},
            headers={**auth, "X-Request-ID": "call-42"},
        )
    assert response.headers["X-Request-ID"] == "call-42"
    (record,) = [r for r in caplog.records if r.name == "clientscore.requests"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["request_id"] == "call-42"
    assert (fields["route"], fields["method"], fields["status"]) == ("/v1/classify", "POST", 200)
    assert fields["key_id"] == auth["Authorization"].split("_")[1]
    assert fields["models"] == response.json()["versions"]["models"]
    assert fields["ruleset"] == response.json()["versions"]["ruleset"]
    assert fields["latency_ms"] > 0
    orjson.dumps(fields)  # JSON-ready as it is
