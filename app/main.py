"""The application factory: `create_app()` builds the FastAPI app and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import __version__
from app.api import book as book_router
from app.api import classification as classification
from app.api import health, outage, problems, swagger
from app.api import metrics as metrics_router
from app.api import models as models
from app.api import outcomes as outcomes
from app.api import profiles as profiles
from app.api import rules as rules_router
from app.api import strategy as strategy_router
from app.api.docs import document_security
from app.api.edge import Edge
from app.api.limits import BodyLimit
from app.api.request_only import document_inputs
from app.api.state import AppState
from app.auth.service import KeyVerifier
from app.auth.throttle import Throttle
from app.background import (
    Background,
    acceptance_loop,
    metrics_loop,
    models_loop,
    rules_loop,
    versions_loop,
)
from app.book.sandbox import Sandbox
from app.classification.audit import AuditTrail
from app.classification.classifier import Classifier
from app.classification.monitor import FLUSH_SECONDS, Monitor
from app.db.engine import create_engine_for, create_sessionmaker
from app.db.hot import HotPath
from app.db.outage import OutageLog
from app.desk import router as desk
from app.observability.http import RequestTelemetry
from app.observability.metrics import ServiceMetrics
from app.rules.store import ActiveRuleset, RulesetStore
from app.serving.registry import ModelRegistry, service_registry
from app.settings import Settings
from app.strategy.learned import LearnedRates

DESCRIPTION = """
Classifies an insurer's clients on value, risk and lifecycle stage, and says what to do about it.

Authenticate with `Authorization: Bearer <key>` (create keys with `clientscore keys create`).
Errors are RFC 9457 problem details (`application/problem+json`) naming each bad field and rule.
"""


def _count_connections(engine: AsyncEngine, metrics: ServiceMetrics) -> None:
    gauge = metrics.db_connections
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: gauge.inc())
    event.listen(engine.sync_engine.pool, "checkin", lambda *_: gauge.dec())


async def _load_models_and_rules(settings: Settings) -> tuple[ModelRegistry, ActiveRuleset]:
    """The champions and the active ruleset, loaded before the first request."""
    registry = service_registry(settings.models_dir)
    await registry.start()
    rules = ActiveRuleset(RulesetStore(settings.rules_dir))
    await rules.refresh()
    return registry, rules


async def _open_database(
    settings: Settings, metrics: ServiceMetrics, outages: OutageLog
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession], HotPath]:
    """The engine (its connections counted, its outages watched), sessions' factory, hot path."""
    engine = create_engine_for(settings)
    _count_connections(engine, metrics)
    outages.watch(engine)
    session_factory = create_sessionmaker(engine)
    hot_path = HotPath(settings, engine, on_connect=outages.up)
    await hot_path.open()
    return engine, session_factory, hot_path


def _key_verifier(settings: Settings, metrics: ServiceMetrics) -> KeyVerifier:
    return KeyVerifier(
        cache_seconds=settings.auth_cache_seconds,
        grace_seconds=settings.auth_outage_grace_seconds,
        throttle=Throttle(
            settings.auth_failures_allowed,
            settings.auth_failure_window_seconds,
            on_refused=metrics.auth_refused,
        ),
    )


async def _start_services(
    settings: Settings, metrics: ServiceMetrics, outages: OutageLog
) -> AppState:
    """Everything the requests share, built in order; the audit trail's writer started."""
    registry, rules = await _load_models_and_rules(settings)
    engine, session_factory, hot_path = await _open_database(settings, metrics, outages)
    monitor = Monitor(metrics, drift_window=settings.drift_window_scores)
    monitor.sync_versions(registry, rules)
    learned = LearnedRates()
    audit = AuditTrail(hot_path)
    audit.start()
    services = AppState(
        settings=settings,
        engine=engine,
        hot_path=hot_path,
        session_factory=session_factory,
        verifier=_key_verifier(settings, metrics),
        registry=registry,
        rules=rules,
        monitor=monitor,
        classifier=Classifier.serving(registry, rules, monitor, learned, settings.strategy_top_n),
        learned=learned,
        audit=audit,
        simulations=Sandbox(
            settings.simulation_concurrency,
            settings.simulation_timeout_seconds,
            settings.simulation_memory_mb,
        ),
    )
    await learned.first_read(session_factory)
    return services


def _background(services: AppState, outages: OutageLog) -> Background:
    """The worker's five loops (app.background), at the intervals the settings give."""
    settings, registry, rules = services.settings, services.registry, services.rules
    return Background(
        [
            models_loop(registry.refresh, settings.model_reload_seconds),
            rules_loop(rules.refresh, settings.rules_reload_seconds),
            versions_loop(
                partial(services.monitor.sync_versions, registry, rules),
                min(settings.model_reload_seconds, settings.rules_reload_seconds),
            ),
            metrics_loop(services.monitor.flush, FLUSH_SECONDS),
            acceptance_loop(
                partial(services.learned.refresh, services.session_factory),
                outages,
                settings.strategy_refresh_seconds,
            ),
        ]
    )


def _collect_less() -> None:
    # Startup objects never become garbage: keep the collector from rescanning them, and
    # collect less often, since bulk imports allocate millions of short-lived objects.
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


async def _stop_services(services: AppState) -> None:
    await services.audit.stop()
    await services.hot_path.close()
    await services.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = ServiceMetrics()
    outages = OutageLog()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await _start_services(settings, metrics, outages)
        app.state.services = services
        background = _background(services, outages)
        background.start()
        _collect_less()
        try:
            yield
        finally:
            await background.stop()
            await _stop_services(services)

    app = FastAPI(
        title="clientscore",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by app.api.swagger from local assets
        redoc_url=None,
        # Starlette would answer `/path/` with an absolute redirect built from the request's
        # Host header; the desk redirects `/desk/` itself, relatively.
        redirect_slashes=False,
        # The service's telemetry is its Prometheus metrics and JSON logs. FastAPI's own
        # OpenTelemetry would otherwise ask the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.metrics = metrics
    problems.install(app)
    swagger.install(app)
    desk.install(app, settings)
    outage.install(app, outages)
    # Routes are matched in order: the hot path, classification, is tried first.
    app.include_router(classification.router)
    app.include_router(health.router)
    app.include_router(profiles.router)
    app.include_router(outcomes.router)
    app.include_router(models.router)
    app.include_router(rules_router.router)
    app.include_router(strategy_router.router)
    app.include_router(metrics_router.router)
    app.include_router(book_router.router)
    document_inputs(app, classification.described)
    document_security(app)
    limit = BodyLimit(
        default=settings.max_body_bytes,
        # A full batch of 1,000 inline profiles is about 1 MB of JSON.
        per_path={
            profiles.IMPORT_PATH: settings.max_import_bytes,
            classification.BATCH_PATH: 8 * settings.max_body_bytes,
        },
    )
    app.add_middleware(
        Edge,  # the one middleware: it sees every final status
        fastapi=app,
        telemetry=RequestTelemetry(metrics),
        limit=limit,
        hot=classification.HOT,
        max_in_flight=settings.max_requests_in_flight,
    )
    return app
