"""Shared by the monitoring tests: the Prometheus tools, the dashboard's queries, a scrape.

The dashboard's PromQL is read with a small tokenizer rather than a PromQL parser (there is
none for Python): it finds the metric names, the labels each selector matches on and the
labels the query groups by or shows in its legend. promtool checks the syntax separately.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REQUIRE_POSTGRES

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "clientscore.json"
# Labels Prometheus adds to every series it scrapes, and the series it makes itself.
TARGET_LABELS = frozenset({"job", "instance"})
PROMETHEUS_SERIES: dict[str, frozenset[str]] = {"up": frozenset()}
# Grafana's range macros, replaced by a duration so the query is plain PromQL.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)(?![\w:])
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_:][\w:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^])
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)
_MATCHER_OPS = frozenset({"=", "!=", "=~", "!~"})
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_LABEL_VALUES = re.compile(r"^label_values\(\s*([A-Za-z_:][\w:]*)\s*,\s*(\w+)\s*\)$")
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def tool(name: str) -> str:
    """The path of `promtool` or `prometheus`. Missing: a failure in CI, else a skip."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (Debian package `prometheus`; .ci/run installs it)"
        if REQUIRE_POSTGRES:  # set in CI, where every check must run
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class Selector:
    metric: str
    labels: frozenset[str]


@dataclass(frozen=True)
class Query:
    """One PromQL expression of the dashboard, and where it is."""

    where: str
    expr: str
    legend: str = ""

    def promql(self) -> str:
        """The expression with Grafana's range macros replaced: plain PromQL."""
        text = self.expr
        for macro, duration in GRAFANA_RANGES.items():
            text = text.replace(macro, duration)
        return text

    def selectors(self) -> list[Selector]:
        found = _LABEL_VALUES.match(self.expr)
        if found:  # a variable's `label_values(metric, label)`
            return [Selector(found.group(1), frozenset({found.group(2)}))]
        return _walk(_tokens(self.promql()))[0]

    def grouping(self) -> frozenset[str]:
        """Labels named by by/without/on/ignoring/group_left/group_right and the legend."""
        named = set(_LEGEND_LABEL.findall(self.legend))
        if not _LABEL_VALUES.match(self.expr):
            named |= _walk(_tokens(self.promql()))[1]
        return frozenset(named)


def _tokens(promql: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    while position < len(promql):
        found = _TOKEN.match(promql, position)
        if found is None:
            raise ValueError(f"cannot read {promql[position:]!r} in {promql!r}")
        kind = found.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append((kind, found.group()))
        position = found.end()
    return tokens


def _closing(tokens: list[tuple[str, str]], start: int, pair: tuple[str, str]) -> int:
    """Index of the token that closes the bracket at `start`."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += {pair[0]: 1, pair[1]: -1}.get(tokens[index][1], 0)
        if depth == 0:
            return index
    raise ValueError(f"unbalanced {pair[0]} in {' '.join(t for _, t in tokens)}")


def _walk(tokens: list[tuple[str, str]]) -> tuple[list[Selector], set[str]]:
    selectors: list[Selector] = []
    grouping: set[str] = set()
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if text == "{":
            raise ValueError("a selector without a metric name; name the metric")
        if kind != "name" or text.lower() in _KEYWORDS:
            index += 1
        elif text.lower() in _GROUPING:
            if following != "(":  # group_left with no labels
                index += 1
                continue
            end = _closing(tokens, index + 1, ("(", ")"))
            grouping |= {t for k, t in tokens[index + 2 : end] if k == "name"}
            index = end + 1
        elif following == "(" or following in {"by", "without"}:  # a function, an aggregation
            index += 1
        elif following == "{":
            end = _closing(tokens, index + 1, ("{", "}"))
            inside = tokens[index + 2 : end]
            labels = {
                t for (k, t), (_, op) in pairwise(inside) if k == "name" and op in _MATCHER_OPS
            }
            selectors.append(Selector(text, frozenset(labels)))
            index = end + 1
        else:
            selectors.append(Selector(text, frozenset()))
            index += 1
    return selectors, grouping


def dashboard_queries(dashboard: Path = DASHBOARD) -> list[Query]:
    """Every PromQL expression of the dashboard: panel targets and query variables."""
    document = json.loads(dashboard.read_text())
    queries = list(_targets(document, "dashboard"))
    for variable in document.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            queries.append(Query(f"variable {variable['name']}", variable["definition"]))
    return queries


def _targets(node: Any, where: str) -> Iterator[Query]:
    # Recursive, so panels in rows and panel types not known here are covered too.
    if isinstance(node, dict):
        where = node.get("title", where) if "type" in node else where
        if isinstance(node.get("expr"), str):
            yield Query(where, node["expr"], node.get("legendFormat", ""))
        for value in node.values():
            yield from _targets(value, where)
    elif isinstance(node, list):
        for value in node:
            yield from _targets(value, where)


def exported_series(exposition: str) -> dict[str, frozenset[str]]:
    """Series names of a scrape (`_bucket`, `_total` ... as Prometheus stores them) and the
    label names each one carries."""
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return {name: frozenset(names) for name, names in labels.items()}


def unknown_names(query: Query, exported: dict[str, frozenset[str]]) -> list[str]:
    """What `query` names that the scrape has not: metrics, and labels of those metrics."""
    known = exported | PROMETHEUS_SERIES
    problems = []
    selectors = query.selectors()
    for selector in selectors:
        if selector.metric not in known:
            problems.append(f"{query.where}: no series {selector.metric} in {query.expr}")
            continue
        for label in sorted(selector.labels - known[selector.metric] - TARGET_LABELS):
            problems.append(f"{query.where}: {selector.metric} has no label {label}")
    available = TARGET_LABELS.union(*(known.get(s.metric, frozenset()) for s in selectors))
    for label in sorted(query.grouping() - available):
        problems.append(f"{query.where}: no series of {query.expr} has the label {label}")
    return problems
