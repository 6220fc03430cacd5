"""The report's page in one language: one self-contained HTML file beside its charts and
its tables' downloads, linked by their file names (the service serves them under /book/)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.book.compare import Comparison, classes
from app.book.downloads import FORMATS, Table
from app.book.figures import DIMENSIONS, Figures
from app.book.files import NAV, page_name
from app.book.labels import Titles, action_label, heading, label
from app.i18n.texts import LANGS, Lang, money, number, t

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
    "margin:.5em 0 .3em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    "td.label{text-align:left}figcaption,p.download{color:#555;font-size:.9em}"
    "p.download{margin:0 0 1.5em}nav{float:right}"
)
LIMIT = 40  # rows shown of a table; the rest are in its download
_FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet"}
_CLASS_COLUMNS = {"province", "channel", "industry", "ownership", *DIMENSIONS}


@dataclass(frozen=True)
class Report:
    """What a report shows, in any language."""

    figures: Figures
    run: dict[str, Any]
    results: Path
    tables: dict[str, Table]  # every table, by its download's name
    plots: dict[Lang, dict[str, str]]  # per language: chart -> file name
    titles: Titles
    comparison: Comparison | None


def _cell(lang: Lang, titles: Titles, column: str, value: Any, dimension: str) -> str:
    if column == "action":
        text = action_label(lang, titles, value)
    elif column in ("from", "to"):
        text = label(lang, dimension, value)
    elif column == "measure":
        text = t(lang, f"book_{value}")
    elif column in _CLASS_COLUMNS:
        text = label(lang, column, value)
    elif isinstance(value, float) and column.endswith("_share"):
        return f"<td>{number(lang, value * 100, 1)}%</td>"
    elif isinstance(value, int | float):
        return f"<td>{number(lang, round(value))}</td>"
    else:
        text = "—" if value is None else str(value)
    return f"<td class='label'>{html.escape(text)}</td>"


def _links(name: str) -> str:
    return " · ".join(
        f"<a href='{name}.{suffix}' download>{_FORMAT_NAMES[suffix]}</a>" for suffix in FORMATS
    )


def _table(
    lang: Lang, report: Report, name: str, rows: Sequence[dict[str, Any]] | None = None,
    dimension: str = "",
) -> str:  # fmt: skip
    """The table's first rows in words; below it, its full download (CSV and Parquet)."""
    full, columns = report.tables[name]
    shown = list(full if rows is None else rows)
    head = "".join(f"<th>{html.escape(heading(lang, c))}</th>" for c in columns)
    body = "".join(
        f"<tr>{''.join(_cell(lang, report.titles, c, row.get(c), dimension) for c in columns)}</tr>"
        for row in shown[:LIMIT]
    )
    more = len(shown) - LIMIT
    words = t(lang, "book_more", n=number(lang, more)) if more > 0 else t(lang, "book_download")
    return (
        f"<table id='table-{name}'><tr>{head}</tr>{body}</table>"
        f"<p class='download' id='download-{name}'>{html.escape(words)} {_links(name)}</p>"
    )


def _figure(lang: Lang, report: Report, chart: str, caption: str) -> str:
    src = report.plots[lang][chart]
    return (
        f"<figure><img src='{src}' alt='{html.escape(caption)}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _matrix(lang: Lang, dimension: str, rows: Sequence[dict[str, Any]]) -> str:
    """Rows: the previous run's class; columns: this run's; cells: clients."""
    froms, tos = classes(dimension, rows, "from"), classes(dimension, rows, "to")
    cells = {(row["from"], row["to"]): row["clients"] for row in rows}
    corner = f"{t(lang, 'book_col_from')} \\ {t(lang, 'book_col_to')}"
    head = f"<th>{html.escape(corner)}</th>" + "".join(
        f"<th>{html.escape(label(lang, dimension, to))}</th>" for to in tos
    )
    body = "".join(
        f"<tr><td class='label'>{html.escape(label(lang, dimension, old))}</td>"
        + "".join(f"<td>{number(lang, cells.get((old, to), 0))}</td>" for to in tos)
        + "</tr>"
        for old in froms
    )
    return f"<table class='matrix' id='matrix-{dimension}'><tr>{head}</tr>{body}</table>"


def _comparison(lang: Lang, report: Report) -> list[str]:
    c = report.comparison
    if c is None:
        return [
            f"<h2>{t(lang, 'book_compare')}</h2><p>{html.escape(t(lang, 'book_no_previous'))}</p>"
        ]
    intro = t(
        lang, "book_compare_intro", results=c.results, as_of=c.as_of or "—",
        both=number(lang, c.both), new=number(lang, c.new), gone=number(lang, c.gone),
    )  # fmt: skip
    parts = [f"<h2 id='compare'>{t(lang, 'book_compare')}</h2><p>{html.escape(intro)}</p>"]
    for dimension, rows in c.migration.items():
        moved = [row for row in rows if row["from"] != row["to"]]
        title = t(lang, "book_migration", dimension=heading(lang, dimension))
        parts += [
            f"<h3>{html.escape(title)}</h3>",
            f"<p class='download'>{html.escape(t(lang, 'book_migration_caption'))}</p>",
            _matrix(lang, dimension, rows),
            _table(lang, report, f"migration_{dimension}", moved, dimension)
            if moved
            else f"<p>{t(lang, 'book_nobody_moved')}</p>",
        ]
    changed = [row for row in c.actions if row["change"]]
    parts += [
        f"<h3>{t(lang, 'book_at_risk_moved')}</h3>",
        _table(lang, report, "at_risk_moved"),
        f"<h3>{t(lang, 'book_actions_moved')}</h3>",
        _table(lang, report, "actions_moved", changed)
        if changed
        else f"<p>{t(lang, 'book_no_action_moved')}</p>",
    ]
    return parts


def _header(lang: Lang, report: Report) -> list[str]:
    f, run = report.figures, report.run
    versions = run.get("versions") or {}
    models = ", ".join(f"{k} {v}" for k, v in (versions.get("models") or {}).items())
    finished = (run.get("finished") or {}).get("finished_at") or t(lang, "book_not_finished")
    summary = t(
        lang, "book_summary", clients=number(lang, f.clients), premium=money(lang, f.premium),
        clv=money(lang, f.clv),
    )  # fmt: skip
    about = t(
        lang, "book_run", as_of=run.get("as_of"), ruleset=versions.get("ruleset"), models=models,
        finished=finished, results=report.results,
        written=datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    other = next(code for code in LANGS if code != lang)
    return [
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{t(lang, 'book_title')}</title><style>{STYLE}</style></head><body>",
        f"<nav>{NAV} <a id='lang-switch' href='{page_name(other)}' hreflang='{other}'>"
        f"{t(lang, 'lang_switch')}</a></nav><h1>{t(lang, 'book_title')}</h1>",
        f"<p id='summary'>{html.escape(summary)}</p><p>{html.escape(about)}</p>",
    ]


def render(report: Report, lang: Lang) -> str:
    f = report.figures
    percent = {g: f"{s:.1%}" for g, s in f.abc_cuts.items()}
    pareto = t(
        lang, "book_pareto_text", share=f"{f.top20_share:.1%}", negative=f"{f.negative_share:.1%}",
        cuts=t(lang, "list_separator").join(f"{g} {s}" for g, s in percent.items()),
    )  # fmt: skip
    at_risk = t(
        lang, "book_at_risk_text", clients=number(lang, f.at_risk_clients),
        premium=money(lang, f.at_risk_premium), clv=money(lang, f.at_risk_clv),
        lost=money(lang, f.clv_at_risk),
    )  # fmt: skip
    parts = _header(lang, report)
    parts += [
        f"<h2>{t(lang, 'book_mix')}</h2>",
        _figure(lang, report, "mix", t(lang, "book_mix_caption")),
    ]
    for dimension in f.mix:
        parts += [f"<h3>{heading(lang, dimension)}</h3>", _table(lang, report, f"mix_{dimension}")]
    parts += [
        f"<h2>{t(lang, 'book_concentration')}</h2>",
        _figure(lang, report, "pareto", t(lang, "book_pareto_title", share=f"{f.top20_share:.0%}")),
        f"<p>{html.escape(pareto)}</p>",
        f"<h2>{t(lang, 'book_risk_value')}</h2>",
        _figure(lang, report, "heatmap", t(lang, "book_heatmap_caption")),
        _table(lang, report, "heatmap"),
        f"<h2>{t(lang, 'lifecycle')}</h2>",
        _figure(lang, report, "funnel", t(lang, "book_funnel_caption")),
        f"<h3>{t(lang, 'book_prospects')}</h3>",
        _table(lang, report, "mix_prospect_grade"),
        f"<h3>{t(lang, 'book_corporate')}</h3>",
        _table(lang, report, "corporate"),
        f"<h2>{t(lang, 'book_workload')}</h2>",
        _figure(lang, report, "actions", t(lang, "book_actions_caption")),
        _table(lang, report, "actions"),
        f"<h3>{t(lang, 'book_by_channel')}</h3>",
        _table(lang, report, "actions_by_channel"),
        f"<h3>{t(lang, 'book_by_province')}</h3>",
        _table(lang, report, "actions_by_province"),
        f"<h2>{t(lang, 'book_at_risk')}</h2><p id='at-risk'>{html.escape(at_risk)}</p>",
        f"<h2>{t(lang, 'book_by_province_region')}</h2>",
        _table(lang, report, "provinces"),
        f"<h2>{t(lang, 'book_by_channel_region')}</h2>",
        _table(lang, report, "channels"),
        *_comparison(lang, report),
        "</body></html>",
    ]
    return "\n".join(parts)
