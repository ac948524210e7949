"""Settings, read from the environment (prefix ``ASSAY_``) by :func:`load_settings`; no globals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Assay's settings. Every field can be set as ``ASSAY_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="forbid")

    shared_data: Path = Field(
        default=Path("../shared/data"),
        description="Folder of the real datasets used by realdata tests and benchmarks.",
    )
    bootstrap_replicates: int = Field(default=1000, ge=0, description="Bootstrap replicates for intervals.")
    confidence: float = Field(default=0.95, gt=0, lt=1, description="Confidence level of intervals.")
    seed: int = Field(default=0, description="Seed of the bootstrap.")
    min_group_size: int = Field(default=30, ge=0, description="Warn for facet groups smaller than this.")
    ft_max_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="The flip test (FT) uses a seeded random sample of this many rows when the data has more (the "
        "result says so); `assay assess --ft-exact` uses every row.",
    )
    workspace: Path | None = Field(
        default=None,
        description="Workspace folder (the one holding .assay/); default: the current folder or the nearest parent "
        "that has one.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the governance database, e.g. postgresql+psycopg://user@host/db; default: "
        "the workspace's SQLite file.",
    )
    actor: str | None = Field(
        default=None, description="Who is acting, as recorded in the audit ledger; default: the operating-system user."
    )
    evidence_valid_days: int = Field(
        default=365, ge=1, description="How long evidence linked automatically from an assessment stays current."
    )
    checkpoint_every: int = Field(
        default=100, ge=1, description="Sign a ledger checkpoint automatically every this many audit events."
    )
    max_upload_mb: int = Field(
        default=200, ge=1, description="The server refuses an upload (a request body) larger than this many MiB."
    )
    max_body_mb: int = Field(
        default=32, ge=1, description="The server refuses any other request body larger than this many MiB."
    )
    capture_max_records: int = Field(
        default=10_000, ge=1, le=1_000_000, description="The most inference records (or labels) a capture batch holds."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
        "`assay serve` believes (e.g. 127.0.0.1); default none: the client address is the connection's.",
    )
    # background jobs and schedules (see docs/jobs.md)
    workers: int = Field(
        default=1, ge=0, le=64, description="Worker threads inside `assay serve` (0: none; run `assay worker` instead)."
    )
    worker_process: bool = Field(
        default=True,
        description="`assay serve` runs its workers in a child `assay worker` process (false: threads in the server "
        "process, where a computation slows the server's answers).",
    )
    worker_nice: int = Field(
        default=10, ge=0, le=19, description="How much lower the CPU priority of `assay serve`'s worker process is."
    )
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle worker looks for queued jobs and due schedules."
    )
    job_heartbeat_timeout: int = Field(
        default=60,
        ge=5,
        description="Seconds without a heartbeat after which a running job is marked failed (its worker stopped).",
    )
    schedule_grace_seconds: int = Field(
        default=60, ge=1, description="A scheduled run later than this many seconds counts as missed."
    )
    worker_shutdown_grace: float = Field(
        default=10.0, ge=0, description="Seconds a stopping worker waits for its running jobs to stop."
    )
    test_handlers: bool = Field(
        default=False, description="Test hook: register the job kind `test.sleep` (for the restart tests only)."
    )
    # alerts and /metrics (see docs/alerts.md)
    smtp_host: str | None = Field(default=None, description="SMTP server that sends alert e-mail (none: no e-mail).")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Its port (587 submission, 465 TLS, 25 relay).")
    smtp_user: str | None = Field(default=None, description="User to log in to the SMTP server as (none: no login).")
    smtp_password: SecretStr | None = Field(default=None, description="Its password.")
    smtp_from: str = Field(default="assay@localhost", description="The From address of alert e-mail.")
    smtp_starttls: bool = Field(
        default=True,
        description="Upgrade the SMTP connection with STARTTLS (false only for a relay on this host; port 465 "
        "uses TLS from the start whatever this says).",
    )
    # notifications in the app, e-mailed through the SMTP settings above (see docs/web.md)
    notify_domain: str | None = Field(
        default=None,
        description="Mail domain of users who gave no address of their own: NAME@DOMAIN (none: only those who did).",
        pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    )
    notify_email_seconds: int = Field(
        default=300,
        ge=0,
        description="How often a worker e-mails people their new notifications when ASSAY_SMTP_HOST is set (0: never).",
    )
    public_url: str | None = Field(
        default=None, description="The server's address as people open it, for links in e-mail (none: paths only)."
    )
    alert_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds an alert delivery (webhook, SMTP) may take per attempt."
    )
    alert_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per alert channel before its delivery is recorded failed."
    )
    alert_backoff: float = Field(
        default=1.0, ge=0, le=60, description="Seconds before the second attempt of a delivery, doubled each time."
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without a token (only behind a network that limits who reaches it).",
    )
    metrics_max_series: int = Field(
        default=20_000, ge=1, description="At most this many monitored-metric series per /metrics scrape."
    )
    # end users' feedback (see docs/feedback.md)
    feedback_categories: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Reason categories of feedback, as JSON: {"SYSTEM": [...], "*": [...]} ("*": every other '
        "system); default wrong, unclear, unfair, offensive, other.",
    )
    feedback_origins: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Web origins whose pages may submit feedback from a browser (CORS), as JSON: {"SYSTEM": '
        '["https://shop.example.org"], "*": [...]}; default none.',
    )
    feedback_rate_per_client: int = Field(
        default=30, ge=1, description="Feedback submissions a client address may make per minute (429 beyond)."
    )
    feedback_rate_per_token: int = Field(
        default=600, ge=1, description="Feedback submissions one API token may make per minute (429 beyond)."
    )
    contest_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days to decide a contested decision (30: GDPR Art. 12(3)'s one month to answer a request).",
    )
    # bounded work on data (see docs/data-checks.md, "Limits"); refusals name these settings
    max_columns: int = Field(
        default=2000, ge=1, description="Refuse data with more columns than this (read from the header or footer)."
    )
    max_uncompressed_bytes: int = Field(
        default=256 * 2**20,
        ge=1,
        description="Refuse a compressed data file (.csv.gz) that expands to more bytes than this.",
    )


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment, with keyword overrides on top."""
    return Settings(**overrides)
