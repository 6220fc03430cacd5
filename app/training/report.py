"""A version's training report: PNG plots and one plain `report.html` beside model.txt.

Everything is drawn from `metadata.json` alone, so a report can be rebuilt from any version.
Figures are made with matplotlib's object API (no pyplot): the Agg canvas, no global state.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.serving.metadata import ModelMetadata

if TYPE_CHECKING:  # matplotlib is imported when a report is drawn
    from matplotlib.axes import Axes

REPORT_FILE = "report.html"
MODEL_COLOUR, BASELINE_COLOUR, OBSERVED_COLOUR = "#1f6fb4", "#9a9a9a", "#d9711c"
TOP_FEATURES = 20
Plot = Callable[["Axes", ModelMetadata], None]


def write_html(folder: Path, metadata: ModelMetadata, plots: list[str]) -> None:
    (folder / REPORT_FILE).write_text(render_html(metadata, plots), encoding="utf-8")


def write_plots(folder: Path, metadata: ModelMetadata) -> list[str]:
    """Draw the version's plots as PNG files into `folder`; returns their file names."""
    from matplotlib.figure import Figure

    plots = _binary_plots() if metadata.task == "binary" else _poisson_plots()
    plots.update({"importance.png": _importance, "score_histogram.png": _histogram})
    if metadata.search:
        plots["search.png"] = _search
    for file_name, draw in plots.items():
        figure = Figure(figsize=(6.4, 4.4), layout="constrained")
        draw(figure.add_subplot(), metadata)
        figure.savefig(folder / file_name, dpi=100)
    return list(plots)


def _binary_plots() -> dict[str, Plot]:
    return {"roc.png": _roc, "calibration.png": _calibration, "gain.png": _gain}


def _poisson_plots() -> dict[str, Plot]:
    return {"lorenz.png": _lorenz, "calibration.png": _calibration}


def _curves(metadata: ModelMetadata) -> dict[str, Any]:
    return metadata.metrics.get("curves", {})


def _roc(ax: Axes, metadata: ModelMetadata) -> None:
    roc = _curves(metadata)["roc"]
    auc = metadata.metrics["model"]["auc"]
    ax.plot(roc["fpr"], roc["tpr"], color=MODEL_COLOUR, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color=BASELINE_COLOUR, linestyle="--", label="mean model (AUC 0.5)")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test rows")
    ax.legend(loc="lower right")


def _gain(ax: Axes, metadata: ModelMetadata) -> None:
    gain = _curves(metadata)["gain"]
    share = np.asarray(gain["share"])
    ax.plot(share, gain["captured"], color=MODEL_COLOUR, label="model")
    ax.plot([0, 1], [0, 1], color=BASELINE_COLOUR, linestyle="--", label="mean model")
    lift = metadata.metrics["model"]["top10_lift"]
    ax.axvline(0.1, color=OBSERVED_COLOUR, linewidth=0.8, label=f"top 10%: lift {lift:.2f}")
    ax.set(
        xlabel="share of clients, highest score first",
        ylabel=f"share of {metadata.target} captured",
        title="Cumulative gain, test rows",
    )
    ax.legend(loc="lower right")


def _lorenz(ax: Axes, metadata: ModelMetadata) -> None:
    lorenz = _curves(metadata)["lorenz"]
    gini = metadata.metrics["model"]["gini"]
    ax.plot(
        lorenz["exposure"], lorenz["claims"], color=MODEL_COLOUR, label=f"model (Gini {gini:.3f})"
    )
    ax.plot([0, 1], [0, 1], color=BASELINE_COLOUR, linestyle="--", label="mean model (Gini 0)")
    ax.set(
        xlabel="share of exposure, lowest predicted rate first",
        ylabel="share of claims",
        title="Lorenz curve, test rows",
    )
    ax.legend(loc="upper left")


def _calibration(ax: Axes, metadata: ModelMetadata) -> None:
    calibration = _curves(metadata)["calibration"]
    deciles = np.arange(1, len(calibration["count"]) + 1)
    weight = np.asarray(calibration["weight"])
    for key, colour, label in (
        ("predicted", MODEL_COLOUR, "model"),
        ("baseline", BASELINE_COLOUR, "mean model"),
        ("observed", OBSERVED_COLOUR, "observed"),
    ):
        ax.plot(
            deciles, np.asarray(calibration[key]) / weight, marker="o", color=colour, label=label
        )
    per = "rate" if metadata.task == "binary" else "claims per exposure year"
    ax.set(
        xlabel="decile of the model's score (1 = lowest)",
        ylabel=f"{metadata.target} {per}",
        title="Calibration by decile, test rows",
        xticks=deciles,
    )
    ax.legend(loc="upper left")


def _importance(ax: Axes, metadata: ModelMetadata) -> None:
    ranked = list((metadata.importance or {}).items())[:TOP_FEATURES][::-1]
    ax.barh([name for name, _ in ranked], [share for _, share in ranked], color=MODEL_COLOUR)
    ax.set(xlabel="share of total split gain", title=f"Feature importance (top {len(ranked)})")
    ax.tick_params(axis="y", labelsize=8)


def _histogram(ax: Axes, metadata: ModelMetadata) -> None:
    # Quantile bins hold about equal counts, so the density (share / width) shows the shape.
    # Rates span orders of magnitude: on a log axis the width is measured in log10 units.
    edges = np.asarray(metadata.score_histogram.edges)
    counts = np.asarray(metadata.score_histogram.counts, dtype=np.float64)
    log_axis = metadata.task == "poisson" and edges[0] > 0
    widths = np.diff(np.log10(edges)) if log_axis else np.diff(edges)
    ax.stairs(counts / counts.sum() / widths, edges, fill=True, color=MODEL_COLOUR)
    if log_axis:
        ax.set_xscale("log")
    unit = "probability" if metadata.task == "binary" else "annual claim rate"
    ax.set(
        xlabel=f"score ({unit})",
        ylabel="density of test rows" + (" per log10 unit" if log_axis else ""),
        title=f"Scores on the test rows ({len(counts)} quantile bins)",
    )


def _search(ax: Axes, metadata: ModelMetadata) -> None:
    search = metadata.search or {}
    trials = search.get("trials", [])
    numbers = [t["number"] for t in trials]
    ax.plot(numbers, [t["score"] for t in trials], "o", color=BASELINE_COLOUR, label="trial")
    ax.step(
        numbers, [t["best_so_far"] for t in trials], where="post", color=MODEL_COLOUR, label="best"
    )
    ax.set(
        xlabel="trial",
        ylabel=f"{search.get('metric')} ({search.get('direction')})",
        title=f"Parameter search: {search.get('judged_by')}",
    )
    ax.legend(loc="upper right")


def _search_tables(m: ModelMetadata) -> str:
    if not m.search:
        return ""
    search = m.search
    keys = ("sampler", "judged_by", "metric", "direction", "trials_asked", "timeout_seconds")
    summary = [(k, search.get(k)) for k in keys]
    summary += [(k, search.get(k)) for k in ("trials_run", "stopped_by", "seconds", "best_trial")]
    summary += [("best score", search.get("best_score")), ("rounds", search.get("best_rounds"))]
    summary += [(f"chosen {k}", v) for k, v in search.get("best_params", {}).items()]
    names = list(search.get("best_params", {}))
    head = "".join(f"<th>{_e(h)}</th>" for h in ("trial", "score", "best so far", "rounds"))
    head += "".join(f"<th>{_e(n)}</th>" for n in names)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_e(_number(v))}</td>"
            for v in (t["number"], t["score"], t["best_so_far"], t["rounds"])
        )
        + "".join(f"<td>{_e(_number(t['params'].get(n)))}</td>" for n in names)
        + "</tr>"
        for t in search.get("trials", [])
    )
    return (
        _table("Parameter search", summary) + f"<h2>Trials</h2><table><tr>{head}</tr>{body}</table>"
    )


def render_html(metadata: ModelMetadata, plots: list[str]) -> str:
    """One self-contained page: figures, rows, parameters, hashes, and the plots by file name."""
    title = f"{metadata.name} {metadata.version}"
    sections = [
        f"<h1>{_e(title)}</h1>",
        _warnings(metadata),
        _table("Model", _summary(metadata)),
        _metrics_table(metadata),
        _table("Observed on the test rows", list(metadata.metrics.get("observed", {}).items())),
        _table("Rows", _rows(metadata)),
        _table("Number of trees", list((metadata.rounds_found or {}).items())),
        _search_tables(metadata),
        "<h2>Plots</h2>",
        *(f'<p><img src="{_e(p)}" alt="{_e(p)}"></p>' for p in plots),
        _table("Parameters", [(k, v) for k, v in sorted(metadata.params.items())]),
        _table("Features", [(f.name, _feature_kind(f.type, f.levels)) for f in metadata.features]),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _warnings(m: ModelMetadata) -> str:
    if not m.warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in m.warnings)
    return f'<h2>Warnings</h2><ul class="warnings">{items}</ul>'


def _summary(m: ModelMetadata) -> list[tuple[str, Any]]:
    return [
        ("task", f"{m.task} (objective {m.objective})"),
        ("dataset", m.dataset),
        ("target", m.target if m.exposure is None else f"{m.target}, exposure {m.exposure}"),
        ("trees (best iteration)", m.num_trees),
        ("created at", m.created_at.isoformat(timespec="seconds")),
        ("training time", f"{m.training_seconds} s" if m.training_seconds is not None else "-"),
        ("training data sha256", m.training_data_sha256),
        ("model.txt sha256", m.model_sha256),
        ("LightGBM", m.lightgbm_version),
    ]


def _rows(m: ModelMetadata) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("train", m.rows.train),
        ("validation (early stopping)", m.rows.validation),
        ("test (all figures)", m.rows.test),
    ]
    rows += [
        (f"left out: {cause.replace('_', ' ')}", n) for cause, n in (m.dropped_rows or {}).items()
    ]
    return rows


def _metrics_table(m: ModelMetadata) -> str:
    model, baseline = m.metrics["model"], m.metrics["baseline"]
    body = "".join(
        f"<tr><th>{_e(key)}</th><td>{_number(model[key])}</td><td>{_number(baseline.get(key))}</td></tr>"
        for key in model
    )
    return (
        "<h2>Held-out figures</h2><table><tr><th></th><th>model</th><th>mean model</th></tr>"
        f"{body}</table>"
    )


def _table(heading: str, rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_number(v))}</td></tr>" for k, v in rows)
    return f"<h2>{_e(heading)}</h2><table>{body}</table>"


def _feature_kind(kind: str, levels: list[str] | None) -> str:
    return kind if levels is None else f"{kind}, {len(levels)} levels"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return "-" if value is None else str(value)


def _e(value: Any) -> str:
    return html.escape(str(value))


_STYLE = (
    "body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1em}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}"
    "td{font-variant-numeric:tabular-nums}img{max-width:100%}"
)
