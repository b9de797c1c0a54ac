"""Payloads of the operations context: the audit log and the diagnostics."""

from datetime import datetime
from typing import Any, Literal

import msgspec


class Event(msgspec.Struct, kw_only=True):
    id: int
    occurred_at: datetime
    actor: str  # user:<id>, or worker
    kind: str
    subject: str  # order:<id>, invoice:<id>, job:<id>
    payload: dict[str, Any]


# Diagnostics (GET /admin/diagnostics, `bookshop doctor`): sql/ops/diagnostics.sql.

SessionKind = Literal["long_running", "idle_in_transaction"]
DuplicateKind = Literal["duplicate", "redundant"]


class UnindexedForeignKey(msgspec.Struct, kw_only=True):
    table_name: str
    constraint_name: str
    columns: list[str]
    referenced_table: str
    table_bytes: int


class UnusedIndex(msgspec.Struct, kw_only=True):
    table_name: str
    index_name: str
    index_bytes: int
    definition: str


class DuplicateIndex(msgspec.Struct, kw_only=True):
    table_name: str
    index_name: str  # the one that can go
    kind: DuplicateKind
    covered_by: str  # the one that stays and serves its lookups
    index_bytes: int
    definition: str
    covered_by_definition: str


class TableBloat(msgspec.Struct, kw_only=True):
    table_name: str
    table_bytes: int
    bloat_bytes: int  # an estimate from catalog statistics
    bloat_ratio: float
    reliable: bool  # false when a column has no statistics


class IndexBloat(msgspec.Struct, kw_only=True):
    table_name: str
    index_name: str
    index_bytes: int
    bloat_bytes: int
    bloat_ratio: float
    reliable: bool


class SlowStatement(msgspec.Struct, kw_only=True):
    query_id: int
    user_name: str
    query: str  # normalized by PostgreSQL: $1, $2 … in place of constants
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


class StatementStatistics(msgspec.Struct, kw_only=True):
    available: bool
    note: str | None  # why not, and what to do, when not available
    order_by: Literal["mean", "total"]
    statements: list[SlowStatement]


class CacheHitRatio(msgspec.Struct, kw_only=True):
    heap_ratio: float | None  # null before the first block read
    index_ratio: float | None
    stats_reset: datetime | None


class Session(msgspec.Struct, kw_only=True):
    kind: SessionKind
    pid: int
    user_name: str | None
    application_name: str | None
    state: str
    seconds: float  # running the statement, or idle in the transaction
    transaction_seconds: float | None
    wait_event_type: str | None
    wait_event: str | None
    query: str | None  # as sent, truncated to 500 characters


class MigrationStatus(msgspec.Struct, kw_only=True):
    known: bool  # false when the application role cannot read what is applied (see note)
    pending: list[str]  # files in migrations/ not applied, in order
    unknown: list[str]  # applied here but with no file: the code is older than the database
    note: str | None


class Diagnostics(msgspec.Struct, kw_only=True):
    checked_at: datetime
    database: str
    threshold_seconds: float
    problems: list[str]  # one line per finding that needs action; empty when healthy
    notes: list[str]  # what could not be checked, and why
    unindexed_foreign_keys: list[UnindexedForeignKey]
    duplicate_indexes: list[DuplicateIndex]
    unused_indexes: list[UnusedIndex]
    table_bloat: list[TableBloat]
    index_bloat: list[IndexBloat]
    cache_hit_ratio: CacheHitRatio
    sessions: list[Session]
    slowest_statements: StatementStatistics
    migrations: MigrationStatus
