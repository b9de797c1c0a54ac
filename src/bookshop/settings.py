"""Configuration from the environment, validated once at start.

Every field reads the environment variable of the same name in upper case. An invalid value
stops the service with a message that names the variable.
"""

import os
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

# Only for development: keys hashed with it are worthless anywhere else. Production sets its own.
DEVELOPMENT_PEPPER = "bookshop-development-pepper-do-not-use-in-production"

# postgresql+psycopg:// is yoyo's name for the same server; accepted so one DATABASE_URL serves
# the service and the plain yoyo CLI alike.
DATABASE_URL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
RATE_LIMIT_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class SettingsError(Exception):
    """The environment holds a value the service cannot run with."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    database_url: str | None = None
    migrations_database_url: str | None = None
    embedded_pgdata: str = ".pgdata"
    pool_min_size: Annotated[int, msgspec.Meta(ge=0)] = 2
    pool_max_size: Annotated[int, msgspec.Meta(ge=1)] = 10
    pool_acquire_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    statement_timeout_ms: Annotated[int, msgspec.Meta(ge=0)] = 5_000
    idle_in_transaction_session_timeout_ms: Annotated[int, msgspec.Meta(ge=0)] = 10_000
    command_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    # "transaction" when DATABASE_URL leads to a transaction-mode pooler (PgBouncer, Supabase's or
    # Neon's pooler, RDS Proxy): no prepared statement and no session setting outlives a
    # transaction; timeouts other than the role's go with each transaction (docs/operations.md).
    database_pooler: Literal["none", "transaction"] = "none"
    # A direct (unpooled) URL the job worker LISTENs on; unset, it LISTENs on DATABASE_URL, or only
    # polls when DATABASE_POOLER=transaction (a transaction pooler cannot carry LISTEN).
    worker_listen_url: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 8000
    workers: Annotated[int, msgspec.Meta(ge=1)] = 1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    slow_query_ms: Annotated[float, msgspec.Meta(ge=0)] = 200.0  # 0: no slow-query log
    metrics_enabled: bool = True  # GET /metrics
    api_key_pepper: Annotated[str, msgspec.Meta(min_length=16)] = DEVELOPMENT_PEPPER
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1_048_576
    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0  # for a request's whole body
    retry_after_seconds: Annotated[int, msgspec.Meta(ge=1)] = 2
    # Numbered pages count their total exactly up to this many rows, and estimate above it.
    exact_total_limit: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    # A search matching more books than this ranks only the newest this many (catalog/service.py).
    search_rank_limit: Annotated[int, msgspec.Meta(ge=1)] = 1_000
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 600
    # Where the rate limit counts: "memory" (each process its own budgets) or a redis:// URL
    # that every worker and host shares (http/rate_limit.py).
    rate_limit_store: str = "memory"
    cors_allow_origins: str = ""
    # How far ahead a booking may start (sql/bookings/bookings.sql create_booking decides it).
    booking_horizon_days: Annotated[int, msgspec.Meta(ge=1, le=36_500)] = 365
    # A streaming replica for public reads (db/replica.py); unset: every read goes to the primary.
    replica_database_url: str | None = None
    # Public reads go back to the primary while the replica lags more than this, or does not answer.
    replica_max_lag_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    # How often the replica's lag and health are checked (once per interval, never per request).
    replica_check_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1.0

    def __post_init__(self) -> None:
        urls = (
            ("DATABASE_URL", self.database_url),
            ("WORKER_LISTEN_URL", self.worker_listen_url),
            ("REPLICA_DATABASE_URL", self.replica_database_url),
        )
        for name, url in urls:
            if url is not None and urlsplit(url).scheme not in DATABASE_URL_SCHEMES:
                raise ValueError(f"{name} must start with one of {', '.join(s + '://' for s in DATABASE_URL_SCHEMES)}")
        if self.rate_limit_store != "memory" and not self.rate_limit_store.startswith(RATE_LIMIT_REDIS_SCHEMES):
            raise ValueError(
                f"RATE_LIMIT_STORE must be memory or a URL starting with {', '.join(RATE_LIMIT_REDIS_SCHEMES)}"
            )
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("POOL_MIN_SIZE must not exceed POOL_MAX_SIZE")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Reads the variables this struct names; an empty variable counts as unset."""
        environ = os.environ if environ is None else environ
        names = (field.encode_name for field in msgspec.structs.fields(cls))
        values = {name: environ[name] for name in names if environ.get(name)}
        try:
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as error:
            raise SettingsError(f"invalid configuration: {error}") from None
