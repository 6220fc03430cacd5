"""Evaluation of the decision tables with zen-engine, and the rows that fired.

One `zen.ZenEngine` serves the ruleset; its loader hands out graphs parsed once when the
ruleset was loaded. Measured on zen-engine 2.1.3 (docs/rules.md): `engine.evaluate` with
such a loader costs 10-40 µs per table, while `get_decision(key).evaluate` and
`create_decision(content).evaluate` cost ~200 µs as they build a runtime per call, and the
trace option multiplies the cost by 3-5. So `evaluate` makes one call on the composite graph
(see `graph`), passes only the names the tables read, and reads the matched rows from the
`_rules` column rather than from the trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import zen

from app.rules.errors import RuleEvaluationFailed
from app.rules.facts import ClassificationFacts
from app.rules.graph import composite_graph, matched_row
from app.rules.jdm import TABLE_NAMES, Table, zen_message
from app.rules.outcome import Action, RuleFired, RuleOutcome
from app.rules.parameters import ActionSpec

# The dimension tables read the facts only; the strategy table reads their outputs too.
DIMENSIONS = TABLE_NAMES[:-1]
STRATEGY = TABLE_NAMES[-1]
CLASSIFY = "classify"  # the composite graph's key; table keys are the table names


class RulesEngine:
    def __init__(
        self,
        tables: Mapping[str, Table],
        actions: Sequence[ActionSpec],
        params: Mapping[str, float],
    ) -> None:
        self._tables = dict(tables)
        graphs = {name: table.content for name, table in tables.items()}
        dimensions = [tables[name].node for name in DIMENSIONS]
        graphs[CLASSIFY] = composite_graph(dimensions, tables[STRATEGY].node)
        self._zen = zen.ZenEngine({"loader": graphs.__getitem__})
        self._catalogue = {spec.code: (priority, spec) for priority, spec in enumerate(actions)}
        self._params = dict(params)
        self._reads = _all_reads(tables.values())

    def context(self, facts: ClassificationFacts, **outputs: str | None) -> dict[str, Any]:
        """What the tables see: the facts by name, `params`, and any upstream outputs."""
        context = facts.model_dump(mode="json")
        context["params"] = self._params
        context.update(outputs)
        return context

    def _run(self, key: str, reads: frozenset[str] | None, context: Mapping[str, Any]) -> Any:
        given = dict(context) if reads is None else {k: context[k] for k in reads if k in context}
        try:
            return self._zen.evaluate(key, given)["result"]
        except Exception as exc:  # zen raises plain exceptions
            raise RuleEvaluationFailed(f"rules {key} failed: {zen_message(exc)}") from exc

    def _fired(self, name: str, item: Mapping[str, Any]) -> RuleFired:
        rule_id = matched_row(item, name)
        if rule_id is None:
            raise RuleEvaluationFailed(f"table {name} matched no row for this client")
        return self._tables[name].rows[rule_id]

    def dimension(self, name: str, context: Mapping[str, Any]) -> tuple[str | None, RuleFired]:
        """The one output of a first-hit table alone (null when the matched row says null)."""
        result = self._run(name, self._tables[name].reads, context)
        (field,) = self._tables[name].spec.outputs
        return cast(str | None, result.get(field)), self._fired(name, result)

    def actions(self, context: Mapping[str, Any]) -> tuple[tuple[Action, ...], list[RuleFired]]:
        """The strategy table alone, on a context that holds the dimensions' outputs."""
        items = self._run(STRATEGY, self._tables[STRATEGY].reads, context)
        return self._strategy(items)

    def _strategy(self, items: list[dict[str, Any]]) -> tuple[tuple[Action, ...], list[RuleFired]]:
        """Each recommended action once, in the catalogue's priority order.

        When several rows recommend the same action, the first row's reason is kept; every
        row that matched is still reported as fired.
        """
        chosen: dict[str, Action] = {}
        for item in items:
            code = item["action"]
            if code not in chosen:
                spec = self._catalogue[code][1]
                chosen[code] = Action(code, spec.zh, spec.en, item["reason_zh"], item["reason_en"])
        ordered = sorted(chosen.values(), key=lambda action: self._catalogue[action.code][0])
        return tuple(ordered), [self._fired(STRATEGY, item) for item in items]

    def evaluate(self, facts: ClassificationFacts) -> RuleOutcome:
        """All tables on one client, in one call on the composite graph."""
        result = self._run(CLASSIFY, self._reads, self.context(facts))
        fired = [self._fired(name, result) for name in DIMENSIONS]
        actions, strategy_rows = self._strategy(result.get(STRATEGY, []))
        outputs = {name: result.get(name) for name in DIMENSIONS}
        return RuleOutcome(**outputs, actions=actions, rules_fired=(*fired, *strategy_rows))


def _all_reads(tables: Iterable[Table]) -> frozenset[str] | None:
    names: set[str] = set()
    for table in tables:
        if table.reads is None:
            return None
        names |= table.reads
    return frozenset(names)
