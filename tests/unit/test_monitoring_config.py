"""deploy/: the Prometheus config and alert rules pass promtool's checks and unit tests, the
dashboard's queries are valid PromQL, and compose mounts what Prometheus and Grafana read."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.monitoring import DASHBOARD, PROMETHEUS_DIR, ROOT, dashboard_queries, promtool

DEPLOY = ROOT / "deploy"


def findings(*args: str) -> str:
    """promtool's complaints: its whole output when it fails, its warnings when it passes."""
    done = promtool(*args)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        return output
    return "\n".join(line for line in output.splitlines() if "WARN" in line.upper())


def test_the_scrape_config_and_the_rules_it_loads_are_valid() -> None:
    config = PROMETHEUS_DIR / "prometheus.yml"
    assert findings("check", "config", "--lint=all", "--lint-fatal", str(config)) == ""


def test_the_alert_rules_are_valid() -> None:
    rules = PROMETHEUS_DIR / "alerts.yml"
    assert findings("check", "rules", "--lint=all", "--lint-fatal", str(rules)) == ""


def test_each_alert_fires_on_its_series_and_not_on_healthy_ones() -> None:
    assert findings("test", "rules", str(PROMETHEUS_DIR / "alerts.test.yml")) == ""


def test_every_alert_is_unit_tested_and_tells_what_to_do() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts.test.yml").read_text())["tests"]
    checked = [case for test in tests for case in test.get("alert_rule_test", [])]
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        assert {"summary", "description"} <= set(alert["annotations"]), name
        # Both a case where it fires and one where it stays silent.
        cases = [case for case in checked if case["alertname"] == name]
        assert any(case["exp_alerts"] for case in cases), f"{name} never fires in a test"
        assert any(not case["exp_alerts"] for case in cases), f"{name} never stays silent"


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool has no command to parse an expression: recording rules are parsed in full.
    queries = [query for query in dashboard_queries() if not query.where.startswith("variable")]
    assert len(queries) > 20
    rules = [
        {"record": f"dashboard:query_{number}", "expr": query.promql()}
        for number, query in enumerate(queries)
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert findings("check", "rules", str(path)) == ""


def test_compose_mounts_the_rules_the_dashboard_and_the_provisioning() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for service in ("prometheus", "grafana"):
        for mount in services[service]["volumes"]:
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{service} mounts missing {source}"
    prometheus = {m.split(":")[1] for m in services["prometheus"]["volumes"]}
    rule_files = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["rule_files"]
    assert {f"/etc/prometheus/{name}" for name in rule_files} <= prometheus
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "clientscore.yaml").read_text()
    )["providers"][0]
    grafana = {m.split(":")[1] for m in services["grafana"]["volumes"]}
    assert f"{provider['options']['path']}/{DASHBOARD.name}" in grafana
    # Promotions and ruleset activations are written into these folders.
    kept = {m.split(":")[1] for m in services["clientscore"]["volumes"]}
    assert {"/srv/clientscore/models", "/srv/clientscore/rules"} <= kept
