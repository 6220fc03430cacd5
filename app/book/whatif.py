"""What-if: the book classified with the active ruleset and with a candidate, compared.

Partition by partition (memory bounded), each client is classified twice with the same
models, and the two result columns are compared: per dimension the transition matrix
(from class -> to class, clients, premium, and CLV under each ruleset), how many clients
moved, the action counts before and after, and the first clients that moved with the rows
that fired each time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.book.columns import profile_columns, result_table
from app.book.figures import DIMENSIONS
from app.book.validation import conform, split_valid
from app.classification.batch import classify_to_columns
from app.classification.results import Classified
from app.rules.ruleset import Ruleset
from app.serving.predictor import Champions
from app.strategy.arbitrate import Arbiter

EXAMPLES = 20


@dataclass
class Simulation:
    active: str
    candidate: str
    clients: int = 0
    moved: int = 0  # clients whose class changed in any dimension
    transitions: dict[str, dict[tuple[Any, Any], list[float]]] = field(default_factory=dict)
    actions_before: Counter[str] = field(default_factory=Counter)
    actions_after: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: per dimension its moves and transition matrix, the actions, examples."""
        dimensions = {}
        for dimension, cells in self.transitions.items():
            moved = sum(int(v[0]) for (a, b), v in cells.items() if a != b)
            matrix = [
                {
                    "from": a,
                    "to": b,
                    "clients": int(v[0]),
                    "premium": round(v[1], 2),
                    "clv_before": round(v[2], 2),
                    "clv_after": round(v[3], 2),
                }
                for (a, b), v in sorted(cells.items(), key=lambda kv: -kv[1][0])
            ]
            dimensions[dimension] = {"moved": moved, "transitions": matrix}
        codes = sorted(set(self.actions_before) | set(self.actions_after))
        return {
            "active": self.active,
            "candidate": self.candidate,
            "clients": self.clients,
            "moved": self.moved,
            "dimensions": dimensions,
            "actions": [
                {
                    "code": code,
                    "before": self.actions_before[code],
                    "after": self.actions_after[code],
                    "cost": None,  # the action catalogue gives no cost
                }
                for code in codes
            ],
            "examples": self.examples,
        }


def _fired(outcome: Any) -> list[dict[str, Any]]:
    return [{"table": r.table, "rule_id": r.rule_id, "row": r.row} for r in outcome.rules_fired]


def _compare(
    sim: Simulation,
    ids: pa.ChunkedArray,
    premium: pa.ChunkedArray,
    tables: tuple[pa.Table, pa.Table],
    classified: tuple[Classified, Classified],
) -> None:
    before, after = tables
    changed = np.zeros(before.num_rows, dtype=bool)
    for dimension in DIMENSIONS:
        pairs = (
            pa.table(
                {
                    "a": before[dimension],
                    "b": after[dimension],
                    "premium": premium,
                    "clv_a": before["clv"],
                    "clv_b": after["clv"],
                }
            )
            .group_by(["a", "b"])
            .aggregate(
                [("premium", "count"), ("premium", "sum"), ("clv_a", "sum"), ("clv_b", "sum")]
            )
        )
        cells = sim.transitions.setdefault(dimension, {})
        for row in pairs.to_pylist():
            cell = cells.setdefault((row["a"], row["b"]), [0.0, 0.0, 0.0, 0.0])
            cell[0] += row["premium_count"]
            cell[1] += row["premium_sum"] or 0.0
            cell[2] += row["clv_a_sum"] or 0.0
            cell[3] += row["clv_b_sum"] or 0.0
        same = pc.fill_null(pc.equal(before[dimension], after[dimension]), True)
        both_null = pc.and_(pc.is_null(before[dimension]), pc.is_null(after[dimension]))
        moved = pc.invert(pc.or_(same, both_null)).to_numpy(zero_copy_only=False)
        changed |= moved.astype(bool)
    sim.moved += int(changed.sum())
    for counter, table in ((sim.actions_before, before), (sim.actions_after, after)):
        for item in pc.list_flatten(table["actions"]).value_counts().to_pylist():
            counter[item["values"]] += item["counts"]
    for i in np.flatnonzero(changed)[: EXAMPLES - len(sim.examples)].tolist():
        first, second = (c.outcomes[int(c.codes[i])] for c in classified)
        sim.examples.append(
            {
                "client_id": ids[i].as_py(),
                "before": {d: before[d][i].as_py() for d in DIMENSIONS},
                "after": {d: after[d][i].as_py() for d in DIMENSIONS},
                "rules_fired_before": _fired(first),
                "rules_fired_after": _fired(second),
            }
        )


def simulate(
    champions: Champions,
    active: Ruleset,
    candidate: Ruleset,
    partitions: Iterable[pa.Table],
    *,
    as_of: date,
) -> Simulation:
    """Every partition's profiles classified with `active` and with `candidate`."""
    sim = Simulation(active.version, candidate.version)
    versions = {"models": champions.versions()}
    for raw in partitions:
        profiles, _ = split_valid(conform(raw, "the book"), date.today())
        if profiles.num_rows == 0:
            continue
        columns = profile_columns(profiles)
        tables, classified = [], []
        predictions = None  # the models' outputs do not depend on the ruleset: predicted once
        for ruleset in (active, candidate):
            scored, result = classify_to_columns(
                columns,
                champions=champions,
                ruleset=ruleset,
                as_of=as_of,
                explain=False,
                predictions=predictions,
            )
            predictions = scored.predictions
            classified.append(result)
            tables.append(
                result_table(
                    profiles,
                    result,
                    versions={**versions, "ruleset": ruleset.version},
                    arbiter=Arbiter.of(ruleset, as_of),
                )
            )
        sim.clients += profiles.num_rows
        _compare(
            sim,
            profiles["client_id"],
            profiles["annual_premium"],
            (tables[0], tables[1]),
            (classified[0], classified[1]),
        )
    return sim


def sample_partitions(clients: int, seed: int, rows: int = 100_000) -> Iterable[pa.Table]:
    """A seeded synthetic book of `clients`, in partitions of `rows`."""
    from app.book.synthetic import profile_table
    from app.demo.synthetic import generate_book

    table = profile_table(generate_book(clients, seed, as_of=date.today()).profiles)
    for start in range(0, table.num_rows, rows):
        yield table.slice(start, rows)
