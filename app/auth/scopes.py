"""What an API key may do; a module of its own so the command line can name the scopes
without loading the database layer."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    classify = "classify"
    profiles_read = "profiles:read"
    profiles_write = "profiles:write"
    admin = "admin"
    desk = "desk"
    analyst = "analyst"  # the portfolio report
