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

import msgspec
from rich.console import Console

from bookshop.cli.common import Commands, console, run_with_connection
from bookshop.db.configured import resolve_database_urls
from bookshop.ops import diagnostics
from bookshop.ops.doctor import render
from bookshop.settings import Settings


def register(commands: Commands) -> None:
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
        console.print("--threshold must be above 0 and --limit at least 1")
        return 2
    report = run_with_connection(
        settings,
        resolve_database_urls(settings).app,
        lambda conn: diagnostics.collect(
            conn, threshold_seconds=args.threshold, limit=args.limit, order_by=args.order_by
        ),
    )
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        render(report, Console())
    return 1 if report.problems else 0
