"""The report's charts, drawn with matplotlib's Agg backend in one language: every count
beside its premium and CLV, every class in words. Files are `NAME-LANG.png`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.book.figures import DIMENSIONS, FUNNEL, Figures, Rows
from app.book.labels import Titles, action_label, heading, label
from app.i18n.texts import Lang, number, t

PLOTS = ("mix", "pareto", "heatmap", "funnel", "actions")
CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "SimHei")
BLUE, ORANGE, GREEN = "#4c78a8", "#f58518", "#54a24b"


def _figure(rows: int = 1, columns: int = 1, *, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A figure of matplotlib's object API (the Agg canvas, no pyplot and its global figures,
    loaded when a report is drawn: the service serves reports but never draws one) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, columns)


def cjk_font() -> str | None:
    """A font with Chinese glyphs installed here (Debian: fonts-wqy-microhei), or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    # Laid out once: with the placeholder engine tight_layout leaves behind, savefig would lay
    # the figure out again in a dry-run draw before the real one (the same pixels, twice the work).
    fig.set_layout_engine(None)
    fig.savefig(path, dpi=90)


def _short(lang: Lang, amount: float) -> str:
    """Money in a chart's small print: 1.2 M (English), 120 万 (Chinese)."""
    if lang == "zh":
        return (
            f"{number(lang, amount / 10_000)} 万" if abs(amount) >= 10_000 else number(lang, amount)
        )
    return f"{amount / 1e6:,.1f} M" if abs(amount) >= 1e6 else number(lang, amount)


def _shares(rows: Rows, key: str) -> np.ndarray[Any, Any]:
    values = np.array([row[key] or 0.0 for row in rows], dtype=float)
    total = np.abs(values).sum()
    return values / total * 100 if total else values


def _mix(f: Figures, lang: Lang, path: Path) -> None:
    fig, axes = _figure(2, 3, figsize=(13, 7))
    for ax, (dimension, rows) in zip(axes.flat, f.mix.items(), strict=True):
        x = np.arange(len(rows))
        series = (("clients", BLUE), ("premium", ORANGE), ("clv", GREEN))
        for offset, (key, colour) in zip((-0.27, 0, 0.27), series, strict=True):
            ax.bar(x + offset, _shares(rows, key), 0.27, color=colour,
                   label=t(lang, f"book_share_{key}"))  # fmt: skip
        ax.set_xticks(x, [label(lang, dimension, row[dimension]) for row in rows])
        ax.set_title(heading(lang, dimension))
        ax.tick_params(axis="x", rotation=30)
        ax.axhline(0, color="#999", linewidth=0.5)
    axes.flat[0].legend(fontsize=8)
    _save(fig, path)


def _pareto(f: Figures, lang: Lang, path: Path) -> None:
    fig, ax = _figure(figsize=(6, 4.5))
    if f.pareto:
        x, y = zip(*f.pareto, strict=True)
        ax.plot(np.array(x) * 100, np.array(y) * 100, color=BLUE)
    for grade, share in f.abc_cuts.items():
        ax.axvline(share * 100, color="#999", linestyle=":")
        ax.text(share * 100, 5, f" {grade}", color="#555")
    ax.set_xlabel(t(lang, "book_pareto_x"))
    ax.set_ylabel(t(lang, "book_pareto_y"))
    ax.set_title(t(lang, "book_pareto_title", share=f"{f.top20_share:.0%}"))
    _save(fig, path)


def _heatmap(f: Figures, lang: Lang, path: Path) -> None:
    fig, axes = _figure(1, 3, figsize=(14, 4))
    tiers = DIMENSIONS["risk_tier"]
    for ax, measure in zip(axes, ("clients", "premium", "clv"), strict=True):
        grid = np.zeros((3, 3))
        for row in f.heatmap:
            if row["risk_tier"] in tiers and row["value_tier"] in tiers:
                grid[tiers.index(row["risk_tier"]), tiers.index(row["value_tier"])] = row[measure]
        ax.imshow(grid, cmap="Blues")
        for (i, j), value in np.ndenumerate(grid):
            shown = number(lang, value) if measure == "clients" else _short(lang, value)
            ax.text(j, i, shown, ha="center", va="center", fontsize=8)
        value_word, risk_word = heading(lang, "value_tier"), heading(lang, "risk_tier")
        ax.set_xticks(range(3), [f"{value_word}: {label(lang, 'value_tier', v)}" for v in tiers])
        ax.set_yticks(range(3), [f"{risk_word}: {label(lang, 'risk_tier', v)}" for v in tiers])
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(heading(lang, measure))
    _save(fig, path)


def _bars(names: list[str], rows: Rows, lang: Lang, title: str, path: Path) -> None:
    """Clients per row as bars, each with its premium and CLV written beside it."""
    fig, ax = _figure(figsize=(9, max(3.0, 0.4 * len(rows) + 1)))
    clients = [row["clients"] for row in rows][::-1]
    ax.barh(names[::-1], clients, color=BLUE)
    for y, row in enumerate(rows[::-1]):
        money = f"  {number(lang, row['clients'])} · {_short(lang, row['premium'] or 0)} / "
        ax.text(row["clients"], y, money + _short(lang, row["clv"] or 0), va="center", fontsize=7)
    ax.set_xlim(0, max(clients or [1]) * 1.6)
    ax.set_xlabel(t(lang, "book_bars_note"))
    ax.set_title(title)
    _save(fig, path)


def _funnel(f: Figures, lang: Lang, path: Path) -> None:
    stages = {row["lifecycle_stage"]: row for row in f.mix["lifecycle_stage"]}
    empty = {"clients": 0, "premium": 0.0, "clv": 0.0}
    rows = [stages.get(stage, empty) for stage in FUNNEL]
    names = [label(lang, "lifecycle_stage", stage) for stage in FUNNEL]
    _bars(names, rows, lang, t(lang, "lifecycle"), path)


def _actions(f: Figures, lang: Lang, titles: Titles, path: Path) -> None:
    names = [action_label(lang, titles, row["action"]) for row in f.actions]
    _bars(names, f.actions, lang, t(lang, "book_workload"), path)


def draw(f: Figures, lang: Lang, titles: Titles, out: Path) -> dict[str, str]:
    """Every chart in `lang` into `out`; returns chart -> file name. Chinese words need a
    CJK font: without one the charts are drawn in English (and say so in the log)."""
    import matplotlib

    drawn = lang
    font = cjk_font() if lang == "zh" else None
    if lang == "zh" and font is None:
        drawn = "en"
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    charts: dict[str, Callable[[Path], None]] = {
        "mix": lambda p: _mix(f, drawn, p),
        "pareto": lambda p: _pareto(f, drawn, p),
        "heatmap": lambda p: _heatmap(f, drawn, p),
        "funnel": lambda p: _funnel(f, drawn, p),
        "actions": lambda p: _actions(f, drawn, titles, p),
    }
    names = {}
    with matplotlib.rc_context({"font.sans-serif": family, "axes.unicode_minus": False}):
        for name, chart in charts.items():
            names[name] = f"{name}-{lang}.png"
            chart(out / names[name])
    return names
