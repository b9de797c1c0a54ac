"""`bookshop sql …`: review the named queries: list them, show one, run one in psql, explain it.

    bookshop sql list
    bookshop sql show catalog.search_books
    bookshop sql psql catalog.search_books q=tolkien | psql "$DATABASE_URL"
    bookshop sql explain catalog.search_books                      # the generic plan
    bookshop sql explain catalog.search_books q=tolkien --analyze  # run, then rolled back

Values are `name=value`, as text that PostgreSQL converts to the parameter's type (arrays as
`{a,b}`); `name=NULL` passes SQL NULL. `explain` binds them as parameters, never into the text.
It connects as the application role, as the service does: private tables (row-level security)
then show only the rows of the caller named with `--caller ID --caller-role ROLE`, and none
without one. `--as-owner` connects as the owner, which the policies do not apply to.
"""

import argparse
import sys

from rich.console import Console
from rich.table import Table

from bookshop.cli.common import Commands, console
from bookshop.db.configured import resolve_database_urls
from bookshop.db.named_queries import UnknownQuery, all_queries, find
from bookshop.db.sql_review import NULL, UsageError, connect, defaulted, explain, parse_values, psql_script
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "sql",
        help="review the named queries: list, show, a psql script, explain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every named query: file, line, operation, parameters")
    listing.add_argument("--wide", action="store_true", help="do not fold the table to the terminal's width")
    listing.set_defaults(sql_handler=list_queries)
    shown = actions.add_parser("show", help="a query as written in its file")
    shown.add_argument("name", help="context.query, or the bare name when unique")
    shown.set_defaults(sql_handler=show)
    script = actions.add_parser("psql", help="a psql script: \\set lines and the query in psql's variable syntax")
    script.add_argument("name", help="context.query, or the bare name when unique")
    script.add_argument("values", nargs="*", metavar="name=value", help=f"every parameter (name={NULL} for NULL)")
    script.set_defaults(sql_handler=psql)
    plan = actions.add_parser(
        "explain", help="the generic plan, or with values the plan for them (--analyze: run, then rolled back)"
    )
    plan.add_argument("name", help="context.query, or the bare name when unique")
    plan.add_argument("values", nargs="*", metavar="name=value", help="all parameters, or none for the generic plan")
    plan.add_argument(
        "--analyze", action="store_true", help="run the statement (in a transaction rolled back) for actual times"
    )
    plan.add_argument("--as-owner", action="store_true", help="as the owner: row-level security does not apply")
    plan.add_argument("--caller", metavar="USER_ID", help="the caller the policies see (with --caller-role)")
    plan.add_argument(
        "--caller-role", choices=["customer", "staff", "admin"], help="the caller's role for the policies"
    )
    plan.set_defaults(sql_handler=explain_query)
    p.set_defaults(handler=handle)


def handle(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the action, reporting a mistake in the command line in one line with exit status 2."""
    try:
        status: int = args.sql_handler(settings, args)
    except (UsageError, UnknownQuery) as error:
        console.print(f"[red]{error}[/red]")
        return 2
    return status


def list_queries(settings: Settings, args: argparse.Namespace) -> int:
    table = Table("query", "file", "operation", "parameters", "plan note")
    for query in all_queries():
        note = f"seq scan ok: {query.seq_scan_ok}" if query.seq_scan_ok else ""
        table.add_row(query.qualified_name, query.location(), query.operation, ", ".join(query.params), note)
    Console(soft_wrap=args.wide).print(table)
    return 0


def show(settings: Settings, args: argparse.Namespace) -> int:
    query = find(args.name)
    console.print(f"[dim]{query.location()}[/dim]")
    print(query.text)
    return 0


def psql(settings: Settings, args: argparse.Namespace) -> int:
    query = find(args.name)
    sys.stdout.write(psql_script(query, parse_values(query, args.values), defaulted(query, args.values)))
    return 0


def explain_query(settings: Settings, args: argparse.Namespace) -> int:
    query = find(args.name)
    values = parse_values(query, args.values) if args.values or not query.placeholders else None
    if args.analyze and values is None:
        raise UsageError("--analyze runs the statement: give a value for every parameter")
    urls = resolve_database_urls(settings)
    if args.caller and not args.caller_role:
        raise UsageError("--caller needs --caller-role (customer, staff or admin)")
    caller = (args.caller or None, args.caller_role) if args.caller_role else None
    with connect(urls.owner if args.as_owner else urls.app, settings) as conn:
        plan = explain(conn, query, values, analyze=args.analyze, caller=caller)
    role = "the owner (no row-level security)" if args.as_owner else "the application role"
    kind = "generic plan (no values)" if values is None else "plan for the values given"
    if values is not None and (left_out := defaulted(query, args.values)):
        kind += f" (not given, so: {', '.join(left_out)})"
    if args.analyze:
        kind = "actual plan: the statement ran inside a transaction that was rolled back"
    console.print(f"[dim]{query.qualified_name} ({query.location()}), {kind}, as {role}[/dim]")
    print("\n".join(plan))
    return 0
