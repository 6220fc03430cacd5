"""What the lifespan builds once and every request shares, typed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.service import KeyVerifier
from app.book.sandbox import Sandbox
from app.classification.audit import AuditTrail
from app.classification.classifier import Classifier
from app.classification.monitor import Monitor
from app.db.hot import HotPath
from app.rules.store import ActiveRuleset
from app.serving.registry import ModelRegistry
from app.settings import Settings
from app.strategy.learned import LearnedRates


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    hot_path: HotPath  # the hot path's reads and the audit trail's writes
    session_factory: async_sessionmaker[AsyncSession]
    verifier: KeyVerifier
    registry: ModelRegistry
    rules: ActiveRuleset
    monitor: Monitor
    classifier: Classifier
    learned: LearnedRates
    audit: AuditTrail
    simulations: Sandbox  # what-if simulations, in child processes of their own
