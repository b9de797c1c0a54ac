"""`bookshop doctor`: the diagnostics of GET /admin/diagnostics, as tables in a terminal.

It connects as the application role (DATABASE_URL, or the embedded server's), as the service
does, so it reports what the endpoint reports and needs no owner's password; that role reads
every session and statement through pg_read_all_stats, which the bootstrap grants it.

Exit status: 0 when it found no problem, 1 when it found one (an unindexed foreign key, a
duplicate or redundant index, a pending migration, a session over the threshold; see
ops/diagnostics.py) or could not reach the database. What it could not check (no
pg_stat_statements, say) is a note, not a problem.
"""

import argparse
import asyncio
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bookshop.db.configured import resolve_database_urls
from bookshop.db.pool import connect
from bookshop.ops import diagnostics
from bookshop.ops.schemas import Diagnostics
from bookshop.settings import Settings

QUERY_WIDTH = 160


def add_command(commands: Any) -> None:
    """Registers `bookshop doctor` on the CLI's subparsers."""
    p = commands.add_parser(
        "doctor",
        help="check the database: unindexed foreign keys, duplicate and unused indexes, bloat, slow statements,"
        " long or idle-in-transaction sessions, pending migrations (exit 1 on a problem)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=diagnostics.DEFAULT_THRESHOLD_SECONDS,
        help="seconds a session may run one statement or idle in a transaction before it is reported"
        f" ({diagnostics.DEFAULT_THRESHOLD_SECONDS:g})",
    )
    p.add_argument(
        "--limit", type=int, default=diagnostics.DEFAULT_LIMIT, help="rows of slow statements and of each bloat list"
    )
    p.add_argument("--order-by", choices=["mean", "total"], default="mean", help="slowest statements by (mean)")
    p.add_argument("--json", action="store_true", help="print the report as GET /admin/diagnostics answers it")
    p.set_defaults(handler=doctor)


def doctor(settings: Settings, args: argparse.Namespace) -> int:
    if not args.threshold > 0 or args.limit < 1:
        Console(stderr=True).print("--threshold must be above 0 and --limit at least 1")
        return 2
    dsn = resolve_database_urls(settings).app

    async def main() -> Diagnostics:
        conn = await connect(settings, dsn=dsn)
        try:
            return await diagnostics.collect(
                conn, threshold_seconds=args.threshold, limit=args.limit, order_by=args.order_by
            )
        finally:
            await conn.close()

    report = asyncio.run(main())
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        render(report, Console())
    return 1 if report.problems else 0


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def ratio(value: float | None) -> str:
    return "no reads yet" if value is None else f"{value:.2%}"


def one_line(text: str | None, width: int = QUERY_WIDTH) -> str:
    flat = " ".join((text or "").split())
    return escape(flat if len(flat) <= width else flat[: width - 1] + "…")


def render(report: Diagnostics, out: Console) -> None:
    """The report as rich tables: problems first, then what informs them."""
    out.print(
        f"[bold]bookshop doctor[/bold]: database {escape(report.database)},"
        f" {report.checked_at:%Y-%m-%d %H:%M:%S} UTC, session threshold {report.threshold_seconds:g} s"
    )
    if report.problems:
        out.print(f"[red]{len(report.problems)} problem(s):[/red]")
        for problem in report.problems:
            out.print(f"  [red]•[/red] {escape(problem)}")
    else:
        out.print("[green]no problems found[/green]")
    for note in report.notes:
        out.print(f"[yellow]note:[/yellow] {escape(note)}")

    if report.unindexed_foreign_keys:
        table = Table("table", "foreign key", "columns", "references", "table size", title="Unindexed foreign keys")
        for fk in report.unindexed_foreign_keys:
            table.add_row(
                escape(fk.table_name),
                escape(fk.constraint_name),
                escape(", ".join(fk.columns)),
                escape(fk.referenced_table),
                size(fk.table_bytes),
            )
        out.print(table)
    else:
        out.print("foreign keys: every one has an index that serves it")

    if report.duplicate_indexes:
        table = Table("table", "index", "kind", "covered by", "size", "definition", title="Duplicate indexes")
        for index in report.duplicate_indexes:
            table.add_row(
                escape(index.table_name),
                escape(index.index_name),
                index.kind,
                escape(index.covered_by),
                size(index.index_bytes),
                one_line(index.definition),
            )
        out.print(table)
    else:
        out.print("indexes: no duplicate or redundant index")

    migrations = report.migrations
    if migrations.known:
        if migrations.pending or migrations.unknown:
            table = Table("migration", "state", title="Migrations")
            for migration in migrations.pending:
                table.add_row(escape(migration), "[yellow]pending[/yellow]")
            for migration in migrations.unknown:
                table.add_row(escape(migration), "[yellow]applied, no file[/yellow]")
            out.print(table)
        else:
            out.print("migrations: every one is applied")

    if report.sessions:
        table = Table("kind", "pid", "user", "application", "seconds", "waiting on", "query", title="Sessions")
        for session in report.sessions:
            waiting = f"{session.wait_event_type}: {session.wait_event}" if session.wait_event else ""
            table.add_row(
                session.kind.replace("_", " "),
                str(session.pid),
                escape(session.user_name or ""),
                escape(session.application_name or ""),
                f"{session.seconds:.1f}",
                escape(waiting),
                one_line(session.query, 80),
            )
        out.print(table)
    else:
        out.print(f"sessions: none running one statement or idle in a transaction over {report.threshold_seconds:g} s")

    cache = report.cache_hit_ratio
    since = f"{cache.stats_reset:%Y-%m-%d %H:%M} UTC" if cache.stats_reset else "the database was made"
    out.print(f"cache hit ratio since {since}: heap {ratio(cache.heap_ratio)}, indexes {ratio(cache.index_ratio)}")

    if report.unused_indexes:
        table = Table("table", "index", "size", "definition", title=f"Unused indexes (no scan since {since})")
        for unused in report.unused_indexes:
            table.add_row(
                escape(unused.table_name),
                escape(unused.index_name),
                size(unused.index_bytes),
                one_line(unused.definition),
            )
        out.print(table)
    else:
        out.print("unused indexes: none")

    table = Table("table", "size", "bloat (estimate)", "ratio", "reliable", title="Table bloat (catalog estimate)")
    for bloat in report.table_bloat:
        table.add_row(
            escape(bloat.table_name),
            size(bloat.table_bytes),
            size(bloat.bloat_bytes),
            f"{bloat.bloat_ratio:.0%}",
            "yes" if bloat.reliable else "no",
        )
    out.print(table)
    table = Table(
        "table", "index", "size", "bloat (estimate)", "ratio", "reliable", title="Btree index bloat (catalog estimate)"
    )
    for index_bloat in report.index_bloat:
        table.add_row(
            escape(index_bloat.table_name),
            escape(index_bloat.index_name),
            size(index_bloat.index_bytes),
            size(index_bloat.bloat_bytes),
            f"{index_bloat.bloat_ratio:.0%}",
            "yes" if index_bloat.reliable else "no",
        )
    out.print(table)

    statements = report.slowest_statements
    if statements.available:
        table = Table(
            "mean ms",
            "total ms",
            "calls",
            "rows",
            "user",
            "query (normalized)",
            title=f"Slowest statements by {statements.order_by} time (pg_stat_statements)",
        )
        for statement in statements.statements:
            table.add_row(
                f"{statement.mean_ms:.2f}",
                f"{statement.total_ms:.1f}",
                str(statement.calls),
                str(statement.rows),
                escape(statement.user_name),
                one_line(statement.query),
            )
        out.print(table)
