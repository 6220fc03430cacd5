"""The names of a report folder's files that the service serves.

The report's writer (app.book.report, app.book.page, app.book.downloads) and the book routes
(app.api.book) both name them; the routes import them from here, so a serving worker does
not load the writer and its libraries (Parquet, CSV, the progress bar) until a report is
written.
"""

from __future__ import annotations

import re

from app.i18n.texts import Lang

REPORT_FILE = "report.html"
NAV = "<!-- nav -->"  # where the service puts its links (the what-if, sign out)
# What `/book/{name}` serves from the report's folder, and nothing else.
DOWNLOAD = re.compile(r"^[a-z][a-z0-9_]{0,39}(?:-(?:zh|en))?\.(?:png|csv|parquet)$")


def page_name(lang: Lang) -> str:
    """The report's page in one language."""
    return f"report-{lang}.html"
