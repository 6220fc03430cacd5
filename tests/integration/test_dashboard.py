"""The Grafana dashboard asks only for series the service exports, with their labels."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.monitoring import Query, dashboard_queries, exported_series, unknown_names
from tests.traffic import book_clients, inline_profile


def scrape_after_traffic(api: Api) -> str:
    """/metrics after every kind of client has been classified, so each class, score and
    route label the dashboard groups by has a series."""
    profiles = [inline_profile(body) for _, body in book_clients(80, seed=5)]
    headers = api.auth("classify")
    batch = api.client.post(
        "/v1/classify:batch", json={"items": [{"profile": p} for p in profiles]}, headers=headers
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["classified"] == len(profiles)
    single = api.client.post("/v1/classify", json={"profile": profiles[0]}, headers=headers)
    assert single.status_code == 200, single.text
    assert api.client.post("/v1/classify", json={}, headers=headers).status_code == 422
    scrape = api.client.get("/metrics")
    assert scrape.status_code == 200
    return scrape.text


def test_every_dashboard_query_names_exported_series_and_labels(api: Api) -> None:
    exported = exported_series(scrape_after_traffic(api))
    queries = dashboard_queries()
    assert len(queries) > 20
    problems = [problem for query in queries for problem in unknown_names(query, exported)]
    assert problems == []


def test_the_check_reports_what_a_scrape_does_not_have() -> None:
    exported = exported_series(
        "# TYPE clientscore_model_score histogram\n"
        'clientscore_model_score_bucket{model="lapse",version="v1",le="+Inf"} 1\n'
        'clientscore_model_score_sum{model="lapse",version="v1"} 0.1\n'
        'clientscore_model_score_count{model="lapse",version="v1"} 1\n'
        "# TYPE clientscore_classifications counter\n"
        'clientscore_classifications_total{dimension="risk_tier",class="low"} 1\n'
    )
    fine = [
        Query("p", 'sum by (le) (rate(clientscore_model_score_bucket{model="$model"}[5m]))'),
        Query("p", "sum by (class) (clientscore_classifications_total)", "{{class}} {{instance}}"),
        Query("v", "label_values(clientscore_classifications_total, dimension)"),
        Query("p", 'sum(up{job="clientscore"})'),
    ]
    assert [problem for query in fine for problem in unknown_names(query, exported)] == []
    wrong = {
        # A histogram is stored as _bucket, _sum and _count; its bare name selects nothing.
        "rate(clientscore_model_score[5m])": "no series clientscore_model_score",
        "clientscore_classifications": "no series clientscore_classifications",
        'clientscore_model_score_sum{le="1"}': "clientscore_model_score_sum has no label le",
        "sum by (route) (clientscore_classifications_total)": "has the label route",
        "label_values(clientscore_model_score_count, tier)": "has no label tier",
    }
    for expr, problem in wrong.items():
        found = unknown_names(Query("p", expr), exported)
        assert len(found) == 1, (expr, found)
        assert problem in found[0]
    legend = unknown_names(Query("p", "clientscore_model_score_count", "{{pid}}"), exported)
    assert legend == ["p: no series of clientscore_model_score_count has the label pid"]
