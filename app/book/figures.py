"""The portfolio's figures, computed from the result columns with Arrow's kernels.

Every figure is a small table (or a few numbers) whatever the size of the book: the
aggregation runs over the columns, never over a Python object per client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIMENSIONS = {
    "value_tier": ("high", "medium", "low"),
    "abc_grade": ("A", "B", "C"),
    "risk_tier": ("high", "medium", "low"),
    "lifecycle_stage": ("non_customer", "potential", "target", "active", "at_risk", "churned"),
    "prospect_grade": ("A", "B", "C", "D", "E"),
    "group_scale": ("large", "medium", "small", "micro"),
}
FUNNEL = DIMENSIONS["lifecycle_stage"]
READ = (
    "client_id", "kind", "province", "channel", "annual_premium", "value_tier", "abc_grade",
    "clv", "risk_tier", "lifecycle_stage", "lapse_probability_12m", "prospect_grade",
    "group_scale", "ownership", "industry", "actions",
)  # fmt: skip
PARETO_POINTS = 200

Rows = list[dict[str, Any]]


@dataclass
class Figures:
    clients: int
    premium: float
    clv: float
    mix: dict[str, Rows] = field(default_factory=dict)  # per dimension: class, clients, ...
    pareto: list[tuple[float, float]] = field(default_factory=list)  # (client share, CLV share)
    top20_share: float = 0.0
    abc_cuts: dict[str, float] = field(default_factory=dict)  # grade -> client share through it
    negative_share: float = 0.0
    heatmap: Rows = field(default_factory=list)  # risk_tier, value_tier, clients, premium
    corporate: Rows = field(default_factory=list)
    actions: Rows = field(default_factory=list)
    actions_by_channel: Rows = field(default_factory=list)
    actions_by_province: Rows = field(default_factory=list)
    clv_at_risk: float = 0.0
    at_risk_clients: int = 0
    at_risk_premium: float = 0.0
    at_risk_clv: float = 0.0
    provinces: Rows = field(default_factory=list)
    channels: Rows = field(default_factory=list)


NAMES = {
    "client_id_count": "clients",
    "annual_premium_sum": "premium",
    "clv_sum": "clv",
    "high_value_mean": "high_value_share",
    "high_risk_mean": "high_risk_share",
}


def _sorted(grouped: pa.Table, by: str) -> Rows:
    grouped = grouped.rename_columns([NAMES.get(n, n) for n in grouped.column_names])
    rows: Rows = grouped.sort_by([(by, "descending")]).to_pylist()
    return rows


def _grouped(table: pa.Table, keys: list[str]) -> Rows:
    """Clients, premium and CLV per combination of `keys`, most clients first."""
    grouped = table.group_by(keys).aggregate(
        [("client_id", "count"), ("annual_premium", "sum"), ("clv", "sum")]
    )
    return _sorted(grouped, "clients")


def _mix(table: pa.Table, dimension: str) -> Rows:
    found = {row[dimension]: row for row in _grouped(table, [dimension])}
    return [
        found.get(name, {dimension: name, "clients": 0, "premium": 0.0, "clv": 0.0})
        for name in (*DIMENSIONS[dimension], None)
        if name is not None or None in found
    ]


def _pareto(clv: np.ndarray[Any, Any]) -> tuple[list[tuple[float, float]], float]:
    """Share of the total positive CLV held by the top x% of clients, largest first."""
    values = np.sort(np.nan_to_num(clv))[::-1]
    if values.size == 0 or values.clip(0).sum() <= 0:
        return [], 0.0
    cumulative = np.cumsum(values.clip(0)) / values.clip(0).sum()
    at = np.unique(np.linspace(0, values.size - 1, min(PARETO_POINTS, values.size)).astype(int))
    points = [(0.0, 0.0), *(((i + 1) / values.size, float(cumulative[i])) for i in at)]
    top20 = float(cumulative[max(0, int(np.ceil(0.2 * values.size)) - 1)])
    return points, top20


def asked(table: pa.Table) -> pa.Table:
    """One row per action the strategy asks for and client it is asked for."""
    actions = table["actions"].combine_chunks()
    parents = pc.list_parent_indices(actions)
    columns = ("client_id", "channel", "province", "annual_premium", "clv")
    return pa.table(
        {"action": pc.list_flatten(actions)}
        | {name: pc.take(table[name], parents) for name in columns if name in table.column_names}
    )


def _actions(table: pa.Table) -> tuple[Rows, Rows, Rows]:
    """The clients each action is asked for, with their premium and CLV: in all, by
    channel, by province."""
    flat = asked(table)
    return (
        _grouped(flat, ["action"]),
        _grouped(flat, ["action", "channel"]),
        _grouped(flat, ["action", "province"]),
    )


def compute(table: pa.Table) -> Figures:
    """Every figure of the report from the result columns (`READ`)."""
    premium = float(pc.sum(table["annual_premium"]).as_py() or 0.0)
    clv = table["clv"].to_numpy(zero_copy_only=False)
    figures = Figures(clients=table.num_rows, premium=premium, clv=float(np.nansum(clv)))
    for dimension in DIMENSIONS:
        figures.mix[dimension] = _mix(table, dimension)
    figures.pareto, figures.top20_share = _pareto(clv)
    in_book = table.filter(pc.is_valid(table["abc_grade"]))
    grades = {row["abc_grade"]: row["clients"] for row in _grouped(in_book, ["abc_grade"])}
    through = 0
    for grade in DIMENSIONS["abc_grade"]:
        through += grades.get(grade, 0)
        figures.abc_cuts[grade] = through / max(1, in_book.num_rows)
    figures.negative_share = float(np.mean(np.nan_to_num(clv) < 0)) if clv.size else 0.0
    figures.heatmap = _grouped(table, ["risk_tier", "value_tier"])
    corporate = table.filter(pc.equal(table["kind"], "corporate"))
    figures.corporate = _grouped(corporate, ["group_scale", "ownership", "industry"])
    figures.actions, figures.actions_by_channel, figures.actions_by_province = _actions(table)
    at_risk = table.filter(pc.equal(table["lifecycle_stage"], "at_risk"))
    lost = pc.multiply(at_risk["clv"], at_risk["lapse_probability_12m"])
    figures.clv_at_risk = float(pc.sum(lost).as_py() or 0.0)
    figures.at_risk_clients = at_risk.num_rows
    figures.at_risk_premium = float(pc.sum(at_risk["annual_premium"]).as_py() or 0.0)
    figures.at_risk_clv = float(pc.sum(at_risk["clv"]).as_py() or 0.0)
    figures.provinces = _breakdown(table, "province")
    figures.channels = _breakdown(table, "channel")
    return figures


def _breakdown(table: pa.Table, key: str) -> Rows:
    """Clients, premium, CLV, and the shares of high value and high risk, per `key`."""
    marked = (
        table.select([key, "client_id", "annual_premium", "clv"])
        .append_column("high_value", pc.cast(pc.equal(table["value_tier"], "high"), pa.int64()))
        .append_column("high_risk", pc.cast(pc.equal(table["risk_tier"], "high"), pa.int64()))
    )
    grouped = marked.group_by([key]).aggregate(
        [
            ("client_id", "count"),
            ("annual_premium", "sum"),
            ("clv", "sum"),
            ("high_value", "mean"),
            ("high_risk", "mean"),
        ]
    )
    return _sorted(grouped, "clients")
