"""Typed async functions over the diagnostics queries in sql/ops/diagnostics.sql, and the report
GET /admin/diagnostics and `bookshop doctor` share.

Everything runs as the application role, on a plain connection (no transaction): a check that
fails (pg_stat_statements not loaded, yoyo's table not readable) becomes a note in the report,
and the other checks still run.

What counts as a problem, the thing `bookshop doctor` exits 1 for: an unindexed foreign key, a
duplicate or redundant index, a pending migration (or an applied one with no file), and a
session running one statement or idle in a transaction for longer than the threshold. Unused
indexes, bloat estimates, the cache hit ratio and the slowest statements are information: they
depend on the workload since the statistics were reset, which a report cannot judge alone.
"""

from datetime import UTC, datetime
from typing import Literal

import asyncpg
from yoyo import read_migrations

from bookshop.db.pool import Connection
from bookshop.db.queries import queries
from bookshop.ops.schemas import (
    CacheHitRatio,
    Diagnostics,
    DuplicateIndex,
    IndexBloat,
    MigrationStatus,
    Session,
    SlowStatement,
    StatementStatistics,
    TableBloat,
    UnindexedForeignKey,
    UnusedIndex,
)
from bookshop.paths import MIGRATIONS_DIR

q = queries.ops

DEFAULT_THRESHOLD_SECONDS = 5.0  # the service's own statement timeout; see Settings
DEFAULT_LIMIT = 10
StatementOrder = Literal["mean", "total"]

NOT_INSTALLED = (
    "pg_stat_statements is not installed in this database, so there are no statement statistics:"
    " as a superuser, run CREATE EXTENSION pg_stat_statements (`bookshop db bootstrap` does), with"
    " pg_stat_statements in shared_preload_libraries."
)
NOT_LOADED = (
    "pg_stat_statements is installed but its library is not loaded, so there are no statement"
    " statistics: add pg_stat_statements to shared_preload_libraries and restart PostgreSQL. The embedded"
    " server writes that setting when a bookshop command starts it; one that was already running loads it"
    " at its next restart (`bookshop db stop`; the next bookshop command starts it again)."
)
MIGRATIONS_UNREADABLE = (
    "pending migrations unknown: the application role may not read _yoyo_migration. `bookshop migrate apply`"
    " grants it the migration ids after applying (the plain yoyo CLI does not): run it once as the owner."
)


async def unindexed_foreign_keys(conn: Connection) -> list[UnindexedForeignKey]:
    return [UnindexedForeignKey(**row) async for row in q.unindexed_foreign_keys(conn)]


async def unused_indexes(conn: Connection) -> list[UnusedIndex]:
    return [UnusedIndex(**row) async for row in q.unused_indexes(conn)]


async def duplicate_indexes(conn: Connection) -> list[DuplicateIndex]:
    return [DuplicateIndex(**row) async for row in q.duplicate_indexes(conn)]


async def table_bloat(conn: Connection, *, limit: int) -> list[TableBloat]:
    return [TableBloat(**row) async for row in q.table_bloat(conn, limit=limit)]


async def index_bloat(conn: Connection, *, limit: int) -> list[IndexBloat]:
    return [IndexBloat(**row) async for row in q.index_bloat(conn, limit=limit)]


async def database_statistics(conn: Connection) -> tuple[str, CacheHitRatio]:
    row = await q.database_statistics(conn)
    ratio = CacheHitRatio(heap_ratio=row["heap_ratio"], index_ratio=row["index_ratio"], stats_reset=row["stats_reset"])
    return row["database"], ratio


async def slow_sessions(conn: Connection, *, threshold_seconds: float) -> list[Session]:
    return [Session(**row) async for row in q.slow_sessions(conn, threshold_seconds=threshold_seconds)]


async def slowest_statements(conn: Connection, *, order_by: StatementOrder, limit: int) -> StatementStatistics:
    """The slowest statements, or a note saying why there are none to show."""

    def unavailable(note: str) -> StatementStatistics:
        return StatementStatistics(available=False, note=note, order_by=order_by, statements=[])

    if not await q.statement_statistics_installed(conn):
        return unavailable(NOT_INSTALLED)
    try:
        rows = [SlowStatement(**row) async for row in q.slowest_statements(conn, order_by=order_by, limit=limit)]
    except asyncpg.ObjectNotInPrerequisiteStateError:  # "must be loaded via shared_preload_libraries"
        return unavailable(NOT_LOADED)
    except asyncpg.UndefinedTableError:  # created in a schema outside the search path
        return unavailable(NOT_INSTALLED)
    return StatementStatistics(available=True, note=None, order_by=order_by, statements=rows)


def migration_files() -> list[str]:
    """The ids of the migrations in migrations/, in the order yoyo reads them."""
    return [migration.id for migration in read_migrations(str(MIGRATIONS_DIR))]


async def migration_status(conn: Connection) -> MigrationStatus:
    """The files in migrations/ compared with the ids in _yoyo_migration."""
    files = migration_files()
    try:
        applied = [row["migration_id"] async for row in q.applied_migrations(conn)]
    except asyncpg.UndefinedTableError:  # yoyo never ran here
        return MigrationStatus(known=True, pending=files, unknown=[], note=None)
    except asyncpg.InsufficientPrivilegeError:
        return MigrationStatus(known=False, pending=[], unknown=[], note=MIGRATIONS_UNREADABLE)
    done = set(applied)
    on_disk = set(files)
    return MigrationStatus(
        known=True,
        pending=[migration for migration in files if migration not in done],
        unknown=[migration for migration in applied if migration not in on_disk],
        note=None,
    )


def problems_of(report: Diagnostics) -> list[str]:
    """One line per finding that needs action (see the module's docstring)."""
    found = [
        f"foreign key {fk.constraint_name} on {fk.table_name} ({', '.join(fk.columns)}) has no index:"
        f" CREATE INDEX CONCURRENTLY ON {fk.table_name} ({', '.join(fk.columns)})"
        for fk in report.unindexed_foreign_keys
    ]
    found += [
        f"index {index.index_name} on {index.table_name} is {index.kind}: {index.covered_by} serves its lookups"
        for index in report.duplicate_indexes
    ]
    found += [f"migration {migration} is not applied" for migration in report.migrations.pending]
    found += [f"migration {migration} is applied but has no file" for migration in report.migrations.unknown]
    for session in report.sessions:
        doing = "idle in a transaction" if session.kind == "idle_in_transaction" else "running one statement"
        found.append(
            f"session {session.pid} ({session.user_name}, {session.application_name or 'no application name'})"
            f" has been {doing} for {session.seconds:.0f} s"
        )
    return found


async def collect(
    conn: Connection,
    *,
    threshold_seconds: float = DEFAULT_THRESHOLD_SECONDS,
    limit: int = DEFAULT_LIMIT,
    order_by: StatementOrder = "mean",
) -> Diagnostics:
    """Every check, on one connection of the application role."""
    database, cache = await database_statistics(conn)
    statements = await slowest_statements(conn, order_by=order_by, limit=limit)
    migrations = await migration_status(conn)
    report = Diagnostics(
        checked_at=datetime.now(UTC),
        database=database,
        threshold_seconds=threshold_seconds,
        problems=[],
        notes=[note for note in (statements.note, migrations.note) if note],
        unindexed_foreign_keys=await unindexed_foreign_keys(conn),
        duplicate_indexes=await duplicate_indexes(conn),
        unused_indexes=await unused_indexes(conn),
        table_bloat=await table_bloat(conn, limit=limit),
        index_bloat=await index_bloat(conn, limit=limit),
        cache_hit_ratio=cache,
        sessions=await slow_sessions(conn, threshold_seconds=threshold_seconds),
        slowest_statements=statements,
        migrations=migrations,
    )
    report.problems = problems_of(report)
    return report
