"""Imports every table module so `Base.metadata` is complete (for Alembic and tests)."""

from app.auth.tables import ApiKey
from app.classification.tables import ClassificationAudit
from app.db.base import Base
from app.profiles.tables import Client, ClientOutcome, ClientPersonal

__all__ = ["ApiKey", "Base", "ClassificationAudit", "Client", "ClientOutcome", "ClientPersonal"]
