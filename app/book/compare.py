"""This run against the previous one: who moved from tier to tier, the CLV at risk and the
actions, joined on client id with Arrow's kernels (no Python object per client)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from app.book.figures import DIMENSIONS, Figures, Rows
from app.book.labels import GONE, NEW

MIGRATING = ("value_tier", "risk_tier", "lifecycle_stage")
_KEEP = ("client_id", "annual_premium", "clv", *MIGRATING)


@dataclass
class Comparison:
    results: str  # the previous run's folder
    as_of: str | None
    both: int  # clients in both runs
    new: int  # in this run only
    gone: int  # in the previous run only
    # per dimension: from, to, clients, premium, clv_before, clv_now (every pair, stayers too)
    migration: dict[str, Rows] = field(default_factory=dict)
    at_risk: Rows = field(default_factory=list)  # measure, before, now, change
    actions: Rows = field(default_factory=list)  # every action, whether it moved or not


def _side(table: pa.Table, present: str) -> pa.Table:
    kept = table.select(list(_KEEP))
    return kept.append_column(present, pa.array([True] * kept.num_rows, pa.bool_()))


def _moves(joined: pa.Table, dimension: str) -> Rows:
    """Clients, premium and CLV (before and now) per pair of classes, most clients first."""
    came = pc.is_null(joined["in_before"])
    went = pc.is_null(joined["in_now"])
    text = pa.string()
    moves = pa.table(
        {
            "from": pc.if_else(came, pa.scalar(NEW, text), joined[f"{dimension}_before"]),
            "to": pc.if_else(went, pa.scalar(GONE, text), joined[f"{dimension}_now"]),
            "client_id": joined["client_id"],
            "premium": pc.coalesce(joined["annual_premium_now"], joined["annual_premium_before"]),
            "clv_before": pc.fill_null(joined["clv_before"], 0.0),
            "clv_now": pc.fill_null(joined["clv_now"], 0.0),
        }
    )
    grouped = moves.group_by(["from", "to"]).aggregate(
        [("client_id", "count"), ("premium", "sum"), ("clv_before", "sum"), ("clv_now", "sum")]
    )
    grouped = grouped.rename_columns(
        [n.removesuffix("_sum").replace("client_id_count", "clients") for n in grouped.column_names]
    )
    rows: Rows = grouped.sort_by([("clients", "descending")]).to_pylist()
    return rows


def _at_risk(before: Figures, now: Figures) -> Rows:
    measures = {
        "at_risk_clients": (before.at_risk_clients, now.at_risk_clients),
        "at_risk_premium": (before.at_risk_premium, now.at_risk_premium),
        "at_risk_clv": (before.at_risk_clv, now.at_risk_clv),
        "at_risk_lost": (before.clv_at_risk, now.clv_at_risk),
    }
    return [
        {"measure": name, "before": old, "now": new, "change": new - old}
        for name, (old, new) in measures.items()
    ]


def _actions(before: Figures, now: Figures) -> Rows:
    """Per action: its clients in each run and the change, with the change in their premium
    and CLV; the largest changes first."""
    old = {row["action"]: row for row in before.actions}
    new = {row["action"]: row for row in now.actions}
    empty: dict[str, Any] = {"clients": 0, "premium": 0.0, "clv": 0.0}
    rows = []
    for action in sorted(old.keys() | new.keys()):
        was, is_ = old.get(action, empty), new.get(action, empty)
        rows.append(
            {
                "action": action,
                "clients_before": was["clients"],
                "clients_now": is_["clients"],
                "change": is_["clients"] - was["clients"],
                "premium_change": (is_["premium"] or 0.0) - (was["premium"] or 0.0),
                "clv_change": (is_["clv"] or 0.0) - (was["clv"] or 0.0),
            }
        )
    return sorted(rows, key=lambda row: -abs(row["change"]))


def compare(
    now: pa.Table, before: pa.Table, figures: tuple[Figures, Figures], run: dict[str, Any]
) -> Comparison:
    """This run (`now`, its figures second) against the previous one (`before`, first);
    `run` is what the previous run recorded about itself."""
    joined = _side(now, "in_now").join(
        _side(before, "in_before"),
        keys="client_id",
        join_type="full outer",
        left_suffix="_now",
        right_suffix="_before",
        coalesce_keys=True,
    )
    new = int(pc.sum(pc.is_null(joined["in_before"])).as_py() or 0)
    gone = int(pc.sum(pc.is_null(joined["in_now"])).as_py() or 0)
    old_figures, new_figures = figures
    return Comparison(
        results=str(run.get("results") or ""),
        as_of=run.get("as_of"),
        both=joined.num_rows - new - gone,
        new=new,
        gone=gone,
        migration={dimension: _moves(joined, dimension) for dimension in MIGRATING},
        at_risk=_at_risk(old_figures, new_figures),
        actions=_actions(old_figures, new_figures),
    )


def classes(dimension: str, rows: Sequence[dict[str, Any]], end: str) -> list[Any]:
    """The classes of one side of a migration (`end`: "from" or "to") in the report's
    order: the dimension's classes, then none, then new or gone."""
    seen = {row[end] for row in rows}
    known = [name for name in DIMENSIONS[dimension] if name in seen]
    rest = sorted(
        str(name) for name in seen if name not in (*DIMENSIONS[dimension], None, NEW, GONE)
    )
    return known + rest + [name for name in (None, NEW, GONE) if name in seen]
