"""The service's one typed configuration, read from `CLIENTSCORE_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        description="How long a desk sign-in lasts; then the agent signs in again.",
    )
    desk_session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the desk's session cookies. `clientscore serve` makes one for its "
        "workers when unset (sign-ins then end with a restart); set it when several "
        "servers share the desk.",
    )

    book_report_dir: Path = Field(
        default=Path("var/book/report"),
        description="The portfolio report `/book` shows (`clientscore book report --out`).",
    )

    def database_url_value(self) -> str:
        return self.database_url.get_secret_value()
