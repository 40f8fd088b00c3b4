"""Runtime settings of the serving process, from `MLPIN_*` environment variables.

Built by `load_settings()` when the app is created, never at import time, so tests and
tools can build as many differently configured apps as they like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1 << 20


class ServingSettings(BaseSettings):
    """Where the pin comes from, how often it is read, and the service's limits."""

    model_config = SettingsConfigDict(env_prefix="MLPIN_", extra="ignore", frozen=True)

    pin_source: Literal["git", "file", "github"] = Field(
        "git", description="git: a remote repository; file: a local path; github: the contents API"
    )
    pin_uri: str = Field(
        ".", description="git remote URL or path (git), the pin file's path (file), or owner/name (github)"
    )
    branch: str = Field("main", description="the deployed branch whose pin is served (git, github)")
    pin_path: str = Field("models/production.yaml", description="the pin's path inside the repository (git, github)")
    github_token: SecretStr | None = Field(
        None, description="token for the contents API (github; public repositories need none)"
    )
    github_api_url: str = Field(
        "https://api.github.com", description="REST API root (github; GitHub Enterprise differs)"
    )
    poll_interval_s: float = Field(15.0, gt=0, description="seconds between reconcile passes, before jitter")
    poll_jitter: float = Field(0.2, ge=0, lt=1, description="each wait is the interval times 1 ± this fraction")
    webhook_secret: SecretStr | None = Field(
        None, description="HMAC key of X-Hub-Signature-256; unset disables /webhook"
    )
    admin_token: SecretStr | None = Field(None, description="bearer token of POST /reconcile; unset disables it")
    registry_root: Path = Field(
        Path("."), description="repository whose .mlpin/ holds MLflow when MLFLOW_TRACKING_URI is unset"
    )
    cache_dir: Path = Field(Path(".mlpin/serving/cache"), description="verified model folders, one per sha256")
    work_dir: Path = Field(Path(".mlpin/serving/work"), description="scratch: the git mirror of the pin's repository")
    log_dir: Path = Field(Path(".mlpin/predictions"), description="prediction log folder (JSON Lines)")
    log_max_bytes: int = Field(64 * MIB, gt=0, description="start a new log file past this size")
    log_max_age_s: float = Field(3600.0, gt=0, description="start a new log file after this many seconds")
    log_uri: str | None = Field(None, description="fsspec URI closed log files are moved to (e.g. s3://bucket/predictions)")
    log_ship_interval_s: float = Field(60.0, gt=0, description="seconds between shipping rounds (with log_uri)")
    body_limit_bytes: int = Field(8 * MIB, gt=0, description="larger request bodies get 413")
    max_rows: int = Field(10_000, gt=0, description="requests with more records get 413")
    log_format: Literal["text", "json"] = Field(
        "text", description="the process log on stderr: key=value text, or one JSON object per line"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="the least severe of serving's own events shown (debug adds passes that change nothing)"
    )
    access_log: bool = Field(False, description="uvicorn's line per HTTP request, in the same format")
    workers: int = Field(
        1, ge=1, le=64, description="worker processes sharing the port (python -m serving --workers); each reconciles"
    )

    @field_validator("webhook_secret", "admin_token", "github_token", "log_uri", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `VAR=` (as compose writes an unset ${VAR:-}) must not enable a route with an empty key.
        return None if value == "" else value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def load_settings(**overrides: object) -> ServingSettings:
    """Settings from the environment; keyword overrides win (tests, the CLI)."""
    return ServingSettings(**overrides)
