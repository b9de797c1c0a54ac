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
import re
import sys
from collections.abc import Sequence
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from bookshop.db.configured import resolve_database_urls
from bookshop.db.named_queries import NamedQuery, UnknownQuery, all_queries, find, rewrite_parameters
from bookshop.db.urls import libpq_url
from bookshop.settings import Settings

console = Console(stderr=True, soft_wrap=True)

NULL = "NULL"  # `name=NULL` passes SQL NULL
DEFAULTS = {"limit": "20"}  # the page size the routes default to
# Statements EXPLAIN accepts; the others (ANALYZE, CREATE …) have no plan.
EXPLAINABLE = re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|VALUES|TABLE)\b", re.IGNORECASE)


class UsageError(Exception):
    """A mistake in the command line, reported in one line with exit status 2."""


def explainable(query: NamedQuery) -> bool:
    return bool(EXPLAINABLE.match(query.statement))


def parse_values(query: NamedQuery, pairs: list[str]) -> dict[str, str | None]:
    """`name=value` pairs as the query's parameters. A parameter left out is NULL when the query
    gives NULL a meaning (an optional filter, a first page: see NamedQuery.optional), `limit` is
    DEFAULT_LIMIT, and any other is an error; UsageError names the unknown or missing ones."""
    values: dict[str, str | None] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise UsageError(f"expected name=value, got {pair!r}")
        if name not in query.placeholders:
            raise UsageError(f"{query.qualified_name} has no parameter {name!r}; its parameters: {describe(query)}")
        values[name] = None if value == NULL else value
    missing = [name for name in query.placeholders if name not in values]
    required = [name for name in missing if name not in query.optional and name not in DEFAULTS]
    if required:
        raise UsageError(
            f"{query.qualified_name} needs a value for {', '.join(required)}"
            f" (give name=value; name={NULL} for SQL NULL)"
        )
    return {name: values[name] if name in values else DEFAULTS.get(name) for name in query.placeholders}


def defaulted(query: NamedQuery, pairs: list[str]) -> list[str]:
    """The parameters left out of pairs, as `name=value` with the value they were given."""
    given = {pair.partition("=")[0] for pair in pairs}
    return [f"{name}={DEFAULTS.get(name, NULL)}" for name in query.placeholders if name not in given]


def describe(query: NamedQuery) -> str:
    return ", ".join(query.placeholders) or "none"


def psql_quote(value: str) -> str:
    """A `\\set` argument that psql reads back as exactly `value`: single-quoted, with quotes
    doubled and backslashes escaped, and line breaks as \\n (a meta-command ends at one)."""
    escaped = value.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def psql_script(query: NamedQuery, values: dict[str, str | None], defaults: Sequence[str] = ()) -> str:
    """`\\set` lines and the statement in psql's variable syntax: `:'name'` (psql quotes the
    value as a literal) or, for NULL, `:name` set to the bare word NULL."""
    lines = [f"-- {query.qualified_name} ({query.location()}): {query.operation}"]
    lines += [f"-- {line}" if line else "--" for line in query.comment.splitlines()]
    if defaults:
        lines.append(f"-- not given, so: {', '.join(defaults)}")
    lines.append("\\set ON_ERROR_STOP on")
    for name in query.placeholders:
        value = values[name]
        lines.append(f"\\set {name} {NULL if value is None else psql_quote(value)}")
    statement = rewrite_parameters(query.statement, lambda name: f":{name}" if values[name] is None else f":'{name}'")
    lines.append(statement if statement.rstrip().endswith(";") else statement + ";")
    return "\n".join(lines) + "\n"


def explain_statement(query: NamedQuery, *, generic: bool, analyze: bool = False, json: bool = False) -> str:
    """The query's `$n` text wrapped in EXPLAIN with the options asked for."""
    options = ["GENERIC_PLAN"] if generic else []
    if analyze:
        options += ["ANALYZE", "BUFFERS"]
    if json:
        options.append("FORMAT JSON")
    prefix = f"EXPLAIN ({', '.join(options)}) " if options else "EXPLAIN "
    return prefix + query.sql.rstrip().rstrip(";")


def explain(
    conn: psycopg.Connection[Any],
    query: NamedQuery,
    values: dict[str, str | None] | None,
    *,
    analyze: bool = False,
    json: bool = False,
    caller: tuple[str | None, str] | None = None,
) -> Any:
    """The plan of the query, generic when values is None, else with the values bound as
    parameters (and run, with analyze). Always inside a transaction that is rolled back, so an
    analyzed write changes nothing. `caller` (user id, role) names the caller for the policies.
    Returns the text plan's lines, or the JSON plan."""
    if values is None and analyze:
        raise UsageError("--analyze runs the statement: give a value for every parameter")
    if not explainable(query):
        raise UsageError(f"{query.qualified_name} is not a statement EXPLAIN accepts (it has no plan)")
    params = None if values is None else [values[name] for name in query.placeholders]
    with conn.transaction(force_rollback=True), psycopg.RawCursor(conn) as cursor:
        if caller is not None:
            set_caller = find("auth.set_caller")
            named = {"user_id": caller[0], "role": caller[1]}
            cursor.execute(set_caller.sql, [named[name] for name in set_caller.placeholders])
        cursor.execute(explain_statement(query, generic=values is None, analyze=analyze, json=json), params)
        rows = cursor.fetchall()
    if json:
        return rows[0][0]
    return [row[0] for row in rows]


def connect(dsn: str, settings: Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(dsn), options=f"-c statement_timeout={settings.statement_timeout_ms}")


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


def explain_command(settings: Settings, args: argparse.Namespace) -> int:
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


def handle(settings: Settings, args: argparse.Namespace) -> int:
    try:
        status: int = args.sql_handler(settings, args)
    except (UsageError, UnknownQuery) as error:
        console.print(f"[red]{error}[/red]")
        return 2
    return status


def add_command(commands: Any) -> None:
    """Registers `bookshop sql` and its actions on the CLI's subparsers."""
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
    plan.set_defaults(sql_handler=explain_command)
    p.set_defaults(handler=handle)
