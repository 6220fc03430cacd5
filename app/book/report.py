"""The portfolio report of a book run, no internet needed: `report-zh.html` and
`report-en.html` (and `report.html`, a copy of the one in the chosen language), their PNG
charts, and every table as CSV and Parquet, all in one folder.

Figures come from `figures.compute`; the comparison with the previous run (`compare`) joins
the two runs' results on client id. Without `previous`, the run the folder's last report was
made from is the previous run, if it is another run and still there: a report written to
the same folder every month compares each month with the one before.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from app.book.compare import MIGRATING, Comparison, compare
from app.book.downloads import Table, write_tables
from app.book.figures import READ, Figures, compute
from app.book.files import REPORT_FILE, page_name
from app.book.labels import Titles, catalogue_titles
from app.book.page import Report, render
from app.book.plots import draw
from app.book.run import DONE_FILE, RUN_FILE
from app.errors import ServiceError
from app.i18n.texts import LANGS, Lang
from app.rules.ruleset import DEFAULT_RULESET_DIR
from app.rules.store import VERSIONS_DIR

MADE_FROM = "_report.json"  # which run the folder's report was made from


def read_results(results: Path) -> tuple[Any, dict[str, Any]]:
    """The columns the report reads, and what the run recorded about itself."""
    if not (results / RUN_FILE).is_file():
        raise ServiceError(f"{results} holds no book run ({RUN_FILE} is missing)")
    run = json.loads((results / RUN_FILE).read_bytes())
    done = results / DONE_FILE
    run["finished"] = json.loads(done.read_bytes()) if done.is_file() else None
    run["results"] = str(results)
    try:
        table = pq.read_table(results, columns=list(READ))
    except Exception as exc:
        raise ServiceError(f"{results}: the results cannot be read: {exc}") from None
    return table, run


def last_made_from(out: Path, results: Path) -> Path | None:
    """The previous run for a report of `results` in `out`: the run the folder's last report
    was made from, or, when that was `results` itself (the report made again), the run that
    report was compared with; None if it is gone."""
    try:
        made = json.loads((out / MADE_FROM).read_bytes())
        last = Path(made["results"])
        if last.resolve() == results.resolve():
            last = Path(made["previous"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if last.resolve() == results.resolve() or not (last / RUN_FILE).is_file():
        return None
    return last


def _titles(run: dict[str, Any], rules_dir: Path | None) -> Titles:
    """The actions' titles from the run's ruleset version, else the active or shipped one."""
    version = str((run.get("versions") or {}).get("ruleset") or "")
    folders = [rules_dir / VERSIONS_DIR / version, rules_dir] if rules_dir and version else []
    return catalogue_titles([*folders, DEFAULT_RULESET_DIR])


def _tables(f: Figures, c: Comparison | None) -> dict[str, Table]:
    money = ["clients", "premium", "clv"]
    shares = [*money, "high_value_share", "high_risk_share"]
    tables: dict[str, Table] = {f"mix_{d}": (rows, [d, *money]) for d, rows in f.mix.items()}
    tables |= {
        "heatmap": (f.heatmap, ["risk_tier", "value_tier", *money]),
        "corporate": (f.corporate, ["group_scale", "ownership", "industry", *money]),
        "actions": (f.actions, ["action", *money]),
        "actions_by_channel": (f.actions_by_channel, ["action", "channel", *money]),
        "actions_by_province": (f.actions_by_province, ["action", "province", *money]),
        "provinces": (f.provinces, ["province", *shares]),
        "channels": (f.channels, ["channel", *shares]),
    }
    if c is not None:
        moves = ["from", "to", "clients", "premium", "clv_before", "clv_now"]
        tables |= {f"migration_{d}": (c.migration[d], moves) for d in MIGRATING}
        tables["at_risk_moved"] = (c.at_risk, ["measure", "before", "now", "change"])
        tables["actions_moved"] = (
            c.actions,
            ["action", "clients_before", "clients_now", "change", "premium_change", "clv_change"],
        )
    return tables


def _write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def write_report(
    results: Path,
    out: Path,
    *,
    lang: Lang = "zh",
    previous: Path | None = None,
    rules_dir: Path | None = None,
) -> Path:
    """Write the report of the run in `results` into `out`, compared with the run in
    `previous` (or the folder's last one); returns `out/report.html`, in `lang`."""
    table, run = read_results(results)
    comparison = None
    if previous is not None and previous.resolve() == results.resolve():
        raise ServiceError(f"--previous {previous} is the run being reported")
    previous = previous or last_made_from(out, results)
    figures = compute(table)
    if previous is not None:
        try:
            before, before_run = read_results(previous)
        except ServiceError as exc:
            raise ServiceError(f"--previous: {exc.detail}") from None
        comparison = compare(table, before, (compute(before), figures), before_run)
    out.mkdir(parents=True, exist_ok=True)
    titles = _titles(run, rules_dir)
    tables = _tables(figures, comparison)
    write_tables(tables, out)
    plots = {code: draw(figures, code, titles, out) for code in LANGS}
    report = Report(figures, run, results, tables, plots, titles, comparison)
    for code in LANGS:
        _write(out / page_name(code), render(report, code))
    shutil.copyfile(out / page_name(lang), out / f".{REPORT_FILE}.tmp")
    os.replace(out / f".{REPORT_FILE}.tmp", out / REPORT_FILE)
    made = {
        "results": str(results.resolve()),
        "previous": str(previous.resolve()) if previous else None,
    }
    _write(out / MADE_FROM, json.dumps(made))
    return out / REPORT_FILE
