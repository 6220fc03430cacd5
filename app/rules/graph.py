"""The JDM graphs the engine runs, built from the checked table files.

Two changes to what the editor saved, both made here and nowhere else:

- each table gets one more output column, `_rules.<table>`, holding the matched row's
  `_id`, so the rows that fired come back with the result. zen's trace option gives the
  same, but converting the trace to Python costs 3-5x the evaluation (docs/rules.md);
- besides one graph per table (for the example cases), the engine runs all tables as one
  composite graph: the input feeds every dimension table, and the strategy table reads the
  input and their outputs. One zen call per client instead of seven halves the cost.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import zen

RULES_FIELD = "_rules"  # result key of the matched row ids, by table
INPUT, OUTPUT = "request", "response"


def tag_rows(node: Mapping[str, Any], table: str) -> dict[str, Any]:
    """A copy of a decision table node whose rows also output their `_id`."""
    tagged = copy.deepcopy(dict(node))
    tagged["id"] = table
    content = tagged["content"]
    column_id = f"{RULES_FIELD}_{table}"
    field = f"{RULES_FIELD}.{table}"
    content["outputs"].append({"id": column_id, "name": "Row id", "field": field})
    for row in content["rules"]:
        row[column_id] = json.dumps(row["_id"])
    return tagged


def matched_row(item: Mapping[str, Any], table: str) -> str | None:
    """The row id a tagged table put in one of its result items."""
    rules = item.get(RULES_FIELD)
    return rules.get(table) if isinstance(rules, dict) else None


def _edge(source: str, target: str) -> dict[str, str]:
    return {"id": f"{source}-{target}", "sourceId": source, "targetId": target, "type": "edge"}


def _graph(nodes: list[dict[str, Any]], edges: list[dict[str, str]]) -> zen.ZenDecisionContent:
    ends = [{"id": INPUT, "type": "inputNode", "name": "Request"}]
    ends.append({"id": OUTPUT, "type": "outputNode", "name": "Response"})
    return zen.ZenDecisionContent(json.dumps({"nodes": ends + nodes, "edges": edges}))


def single_graph(node: dict[str, Any]) -> zen.ZenDecisionContent:
    return _graph([node], [_edge(INPUT, node["id"]), _edge(node["id"], OUTPUT)])


def composite_graph(
    dimensions: Sequence[dict[str, Any]], strategy: dict[str, Any]
) -> zen.ZenDecisionContent:
    """All tables in one graph; the strategy's list of actions lands under `strategy`."""
    final = copy.deepcopy(strategy)
    final["content"]["outputPath"] = final["id"]
    edges = [_edge(INPUT, final["id"]), _edge(final["id"], OUTPUT)]
    for node in dimensions:
        edges += [_edge(INPUT, node["id"]), _edge(node["id"], final["id"])]
        edges.append(_edge(node["id"], OUTPUT))
    return _graph([*dimensions, final], edges)
