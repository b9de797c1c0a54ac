"""The review of the named queries behind `bookshop sql` (cli/sql.py): `name=value` pairs as a
query's parameters, a psql script of it, and its plan (EXPLAIN, in a transaction rolled back).
"""

import re
from collections.abc import Sequence
from typing import Any

import psycopg

from bookshop.db.named_queries import NamedQuery, find, rewrite_parameters
from bookshop.db.urls import libpq_url
from bookshop.settings import Settings

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
