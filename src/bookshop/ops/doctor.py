"""The diagnostics report (ops/diagnostics.py) as rich tables in a terminal: `bookshop doctor`'s
output (cli/doctor.py)."""

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bookshop.ops.schemas import Diagnostics

QUERY_WIDTH = 160


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
