"""The portfolio report of a book run: `report.html` and its PNG plots, no internet needed.

Figures come from `figures.compute`; plots are drawn with matplotlib's Agg backend; the
page is one self-contained HTML file beside its images.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from app.book.figures import DIMENSIONS, FUNNEL, READ, Figures, Rows, compute
from app.book.run import DONE_FILE, RUN_FILE
from app.errors import ServiceError

REPORT_FILE = "report.html"
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
    "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
)


def read_results(results: Path) -> tuple[Any, dict[str, Any]]:
    """The columns the report reads, and what the run recorded about itself."""
    if not (results / RUN_FILE).is_file():
        raise ServiceError(f"{results} holds no book run ({RUN_FILE} is missing)")
    run = json.loads((results / RUN_FILE).read_bytes())
    done = results / DONE_FILE
    run["finished"] = json.loads(done.read_bytes()) if done.is_file() else None
    try:
        table = pq.read_table(results, columns=list(READ))
    except Exception as exc:
        raise ServiceError(f"{results}: the results cannot be read: {exc}") from None
    return table, run


def write_report(results: Path, out: Path) -> Path:
    """Write `out/report.html` with its plots for the run in `results`."""
    table, run = read_results(results)
    figures = compute(table)
    out.mkdir(parents=True, exist_ok=True)
    _plots(figures, out)
    page = _page(figures, run, results)
    temp = out / f".{REPORT_FILE}.tmp"
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, out / REPORT_FILE)
    return out / REPORT_FILE


# --- plots ---------------------------------------------------------------------------------


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, loaded when a report is drawn: the service
    serves reports (and names their file) but never draws one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    _pyplot().close(fig)


def _plots(f: Figures, out: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (dimension, rows) in zip(axes.flat, f.mix.items(), strict=True):
        names = [str(row[dimension]) for row in rows]
        ax.bar(names, [row["clients"] for row in rows], color="#4c78a8")
        ax.set_title(dimension.replace("_", " "))
        ax.tick_params(axis="x", rotation=30)
    _save(fig, out / "mix.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    if f.pareto:
        x, y = zip(*f.pareto, strict=True)
        ax.plot(np.array(x) * 100, np.array(y) * 100, color="#4c78a8")
    for grade, share in f.abc_cuts.items():
        ax.axvline(share * 100, color="#999", linestyle=":")
        ax.text(share * 100, 5, f" {grade}", color="#555")
    ax.set_xlabel("top % of clients by CLV")
    ax.set_ylabel("% of positive CLV")
    ax.set_title(f"Pareto: top 20% hold {f.top20_share:.0%}")
    _save(fig, out / "pareto.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    tiers = DIMENSIONS["risk_tier"]
    for ax, measure in zip(axes, ("clients", "premium"), strict=True):
        grid = np.zeros((3, 3))
        for row in f.heatmap:
            if row["risk_tier"] in tiers and row["value_tier"] in tiers:
                grid[tiers.index(row["risk_tier"]), tiers.index(row["value_tier"])] = row[measure]
        ax.imshow(grid, cmap="Blues")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:,.0f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(3), [f"value {t}" for t in tiers])
        ax.set_yticks(range(3), [f"risk {t}" for t in tiers])
        ax.set_title(measure)
    _save(fig, out / "heatmap.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    stages = {row["lifecycle_stage"]: row["clients"] for row in f.mix["lifecycle_stage"]}
    ax.barh(list(FUNNEL)[::-1], [stages.get(s, 0) for s in FUNNEL][::-1], color="#72b7b2")
    ax.set_title("lifecycle funnel (clients)")
    _save(fig, out / "funnel.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh([row["action"] for row in f.actions][::-1], [r["count"] for r in f.actions][::-1])
    ax.set_title("actions the strategy asks for")
    _save(fig, out / "actions.png")


# --- page ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape("—" if value is None else str(value))


def _table(rows: Rows, columns: Sequence[str], limit: int = 40) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows[:limit]
    )
    more = f"<p>{len(rows) - limit:,} more rows not shown.</p>" if len(rows) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _page(f: Figures, run: dict[str, Any], results: Path) -> str:
    versions = run.get("versions") or {}
    models = ", ".join(f"{k} {v}" for k, v in (versions.get("models") or {}).items())
    finished = (run.get("finished") or {}).get("finished_at", "not finished")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Portfolio report</title>"
        f"<style>{STYLE}</style></head><body><h1>Portfolio report</h1>",
        f"<p>{f.clients:,} clients, annual premium {f.premium:,.0f} yuan, CLV "
        f"{f.clv:,.0f} yuan. Classified as of {html.escape(str(run.get('as_of')))} with "
        f"ruleset {html.escape(str(versions.get('ruleset')))} and models "
        f"{html.escape(models)}; run finished {html.escape(str(finished))}; results "
        f"{html.escape(str(results))}; report written "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}.</p>",
        "<h2>Tier mix</h2><img src='mix.png' alt='tier mix'>",
    ]
    for dimension, rows in f.mix.items():
        parts.append(f"<h3>{html.escape(dimension.replace('_', ' '))}</h3>")
        parts.append(_table(rows, [dimension, "clients", "premium", "clv"]))
    parts += [
        "<h2>Value concentration</h2><img src='pareto.png' alt='Pareto curve of CLV'>",
        f"<p>The top 20% of clients hold {f.top20_share:.1%} of the positive CLV. ABC cut "
        "points (share of in-force clients through each grade): "
        + ", ".join(f"{g} {s:.1%}" for g, s in f.abc_cuts.items())
        + f". Clients with a negative CLV: {f.negative_share:.1%}.</p>",
        "<h2>Risk &times; value</h2><img src='heatmap.png' alt='risk by value heatmap'>",
        _table(f.heatmap, ["risk_tier", "value_tier", "clients", "premium", "clv"]),
        "<h2>Lifecycle</h2><img src='funnel.png' alt='lifecycle funnel'>",
        "<h3>Prospects by grade</h3>",
        _table(f.mix["prospect_grade"], ["prospect_grade", "clients", "premium", "clv"]),
        "<h3>Corporate clients by scale, ownership and industry</h3>",
        _table(f.corporate, ["group_scale", "ownership", "industry", "clients", "premium"]),
        "<h2>Workload the strategy asks for</h2><img src='actions.png' alt='actions'>",
        _table(f.actions, ["action", "count"]),
        "<h3>By channel</h3>",
        _table(f.actions_by_channel, ["action", "channel", "count"]),
        "<h3>By province</h3>",
        _table(f.actions_by_province, ["action", "province", "count"]),
        "<h2>CLV at risk</h2>",
        f"<p>Expected CLV lost to lapse among the {f.at_risk_clients:,} at-risk clients "
        f"(CLV &times; 12-month lapse probability): {f.clv_at_risk:,.0f} yuan.</p>",
    ]
    shares = ["clients", "premium", "clv", "high_value_share", "high_risk_share"]
    parts += [
        "<h2>By province</h2>",
        _table(f.provinces, ["province", *shares]),
        "<h2>By channel</h2>",
        _table(f.channels, ["channel", *shares]),
        "</body></html>",
    ]
    return "\n".join(parts)
