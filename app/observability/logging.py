"""Logs as JSON lines: one object per record, fields by name, nothing about the person.

Request logs carry ids, routes, statuses, timings and versions only; bodies, paths with
their values, and SQL parameters are never logged (the engine hides them), so names, phone
numbers and national id numbers cannot reach a log line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

FIELDS = "fields"  # the `extra` key holding a record's structured fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the service and uvicorn, each worker alike."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # Uvicorn's own handlers would print plain text next to the JSON lines.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # Its DEBUG lines quote each statement's values: personal data, call notes.
            "aiosqlite": {"handlers": [], "level": "INFO", "propagate": True},
            # The pools warn once per connection they lose or fail to make; an outage is
            # said once, by the service (`app.db.outage`), when it goes and when it is back.
            "psycopg.pool": {"handlers": [], "level": "ERROR", "propagate": True},
        },
    }
