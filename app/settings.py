"""The service's one typed configuration, read from `CLIENTSCORE_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# clientscore's roles (app.signin.roles): what a person signed in through the provider may do.
RoleName = Literal["agent", "team_lead", "analyst", "admin"]


class Settings(BaseSettings):
    """Every knob has a default that works on a laptop; production overrides by environment."""

    model_config = SettingsConfigDict(env_prefix="CLIENTSCORE_", extra="ignore")

    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///./var/clientscore.db"),
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pass@host/db",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_timeout_seconds: float = Field(default=5.0, gt=0)
    auth_disabled: bool = Field(
        default=False, description="Serve without API keys. Only for local experiments."
    )
    auth_cache_seconds: float = Field(
        default=10.0, ge=0, description="How long a verified key is trusted before re-checking."
    )
    auth_outage_grace_seconds: float = Field(
        default=300.0,
        ge=0,
        description="While the database cannot be reached, a key verified this recently is "
        "still trusted (what needs no database, inline classification, keeps answering).",
    )
    auth_failures_allowed: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Failed authentications allowed per client address, and per key id, "
        "within `auth_failure_window_seconds`; past them 429 until the window moves on.",
    )
    auth_failure_window_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # The requests a worker holds share its one event loop and its pool of read connections:
    # at 64 a request admitted under overload waited seconds behind the others (the soak at
    # twice the peak, README), at 32 half that, and 32 is still twice what a worker holds
    # at its peak (32 connections over 2 workers).
    max_requests_in_flight: int = Field(
        default=32,
        ge=0,
        le=100_000,
        description="Requests one worker holds at once; past it 503 `overloaded` with "
        "Retry-After at once (0: no bound). Health, readiness and metrics are never shed.",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_import_bytes: int = Field(default=4 * 1024**3, ge=1024)
    import_batch_rows: int = Field(default=5000, ge=1, le=50_000)
    import_max_reported_errors: int = Field(default=1000, ge=0)
    import_max_line_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="A bulk import line (one record) longer than this is rejected on its own.",
    )
    models_dir: Path = Field(
        default=Path("models"), description="The model registry folder: <model>/<version>/."
    )
    model_reload_seconds: float = Field(
        default=2.0, gt=0, description="How often each worker checks for a newly promoted champion."
    )
    rules_dir: Path = Field(
        default=Path("rules"),
        description="The rules folder: the shipped ruleset, activated versions under "
        "versions/ and the active.json pointer (docs/rules.md).",
    )
    rules_reload_seconds: float = Field(
        default=2.0, gt=0, description="How often each worker checks for a newly activated ruleset."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="INFO logs one JSON line per request; WARNING only problems."
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Where `clientscore serve` keeps the workers' metric files (emptied at "
        "start); a fresh temporary folder when unset.",
    )
    strategy_top_n: int = Field(
        default=3, ge=1, le=25, description="How many actions a classification's strategy lists."
    )
    strategy_refresh_seconds: float = Field(
        default=2.0, gt=0, description="How often each worker reads the learned acceptance counts."
    )
    drift_window_scores: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Each worker's PSI is computed on the last this many scores of each model.",
    )
    desk_session_minutes: int = Field(
        default=480,
        ge=1,
        le=7 * 24 * 60,
        description="How long a browser sign-in lasts at most; then the person signs in again.",
    )
    session_idle_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="A browser session with no page for this long ends.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer URL (OpenID Connect discovery is read "
        "from <issuer>/.well-known/openid-configuration). Unset: no single sign-on.",
    )
    oidc_client_id: str | None = Field(default=None, description="This service's client id.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="This service's client secret at the provider."
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback URL registered at the provider, "
        "https://<this service>/desk/sign-in/callback.",
    )
    oidc_scopes: str = Field(
        default="openid profile email", description="The scopes asked for, space-separated."
    )
    oidc_roles_claim: str = Field(
        default="groups",
        description="The ID token claim holding the person's groups or roles (a dotted path "
        "for a nested one, e.g. realm_access.roles).",
    )
    oidc_team_claim: str = Field(
        default="team",
        min_length=1,
        max_length=100,
        description="The token's claim naming the person's team: a team lead sees the "
        "callbacks and call outcomes recorded by that team.",
    )
    oidc_role_map: dict[str, RoleName] = Field(
        default_factory=dict,
        description="JSON: the provider's group or role -> clientscore role, e.g. "
        '{"cc-agents": "agent", "cc-leads": "team_lead", "risk-analysts": "analyst"}.',
    )
    oidc_recheck_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="After this long a session goes back through the provider (silently "
        "while the person's provider session lasts), so changed groups take effect.",
    )
    oidc_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Each request to the identity provider."
    )
    desk_key_sign_in: bool | None = Field(
        default=None,
        description="Sign in to the desk with a desk-scope API key (the demo). Unset: on "
        "without an OIDC issuer, off with one.",
    )

    simulation_concurrency: int = Field(
        default=1,
        ge=1,
        le=16,
        description="What-if simulations (`POST /v1/rules:simulate`) one worker runs at once, "
        "each in a child process; past it 429.",
    )
    simulation_timeout_seconds: float = Field(default=300.0, gt=0, le=86_400)
    simulation_memory_mb: int = Field(default=2048, ge=64, le=1_000_000)
    analysts_activate_rules: bool = Field(
        default=False,
        description="Analysts may activate a ruleset from the what-if page (`/book/whatif`); "
        "off: only an admin.",
    )
    book_report_dir: Path = Field(
        default=Path("var/book/report"),
        description="The portfolio report `/book` shows (`clientscore book report --out`).",
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer:
            missing = [
                f"CLIENTSCORE_OIDC_{name.upper()}"
                for name in ("client_id", "redirect_url")
                if not getattr(self, f"oidc_{name}")
            ]
            if missing:
                raise ValueError(f"with CLIENTSCORE_OIDC_ISSUER set, set {' and '.join(missing)}")
        return self

    @property
    def key_sign_in(self) -> bool:
        """Whether the desk takes an API key at sign-in."""
        if self.desk_key_sign_in is None:
            return not self.oidc_issuer
        return self.desk_key_sign_in

    def database_url_value(self) -> str:
        return self.database_url.get_secret_value()
