"""The plan guard: every named query has an index that serves it at a realistic size.

A database of the module's own is filled once by the project's seed generators (a catalog of
BOOKS books, VENUES venues with their bookings, and a year of ORDERS orders with their invoices,
jobs and events), then every named query's generic plan
(`EXPLAIN (GENERIC_PLAN, FORMAT JSON)`, the plan a prepared statement falls back to) is walked,
InitPlans and SubPlans included. A sequential scan of a table with more than LARGE_TABLE rows
fails the suite, naming the query, the table and the plan node, unless the query's comment
says why it is fine: `-- plan: seq-scan ok, <why>`.

A query that calls one of migration 0021's private-read functions plans as a Function Scan: what
the function runs is planned when it runs. Those queries are run once each, as the application
role, with auto_explain showing the plans of the statements inside (log_nested_statements, sent
back as notices) and generic plans forced, so that the plans hold for any parameter values; the
same rule applies to them.

LARGE_TABLE is 10,000 rows: from about there a sequential scan costs milliseconds and grows with
the table, while below it the planner rightly prefers reading the few pages to an index (tags,
a hundred rows, is read whole by design). The realistic set puts every table the generators
fill (books, book_tags, reviews, authors, users, venues, bookings, orders, order_lines, invoices,
jobs, events, api_keys, user_profiles, user_settings) above it.
"""

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import psycopg
import psycopg.sql
import pytest
from psycopg.conninfo import conninfo_to_dict

from bookshop.bookings import seed as venue_seed
from bookshop.catalog import seed as catalog_seed
from bookshop.db.named_queries import NamedQuery, all_queries, find
from bookshop.db.pool import connect
from bookshop.db.sql_review import DEFAULTS, explain, explainable
from bookshop.db.urls import DatabaseUrls, libpq_url
from bookshop.orders import seed as order_seed
from bookshop.paths import MIGRATIONS_DIR
from bookshop.settings import Settings
from tests.support.databases import cloned_database

LARGE_TABLE = 10_000
BOOKS = 100_000
CUSTOMERS = 20_000  # above LARGE_TABLE, so the queries on users are held to it too
VENUES = 50_000  # with 4 bookings each: 200,000 bookings
# A year of orders with their lines and invoices, an issue_invoice and a complete_booking job for
# each (100,000 jobs), their events (about 150,000), and the customers' keys, profiles, settings.
ORDERS = 50_000
# Queries that read a temporary table another statement of their file creates first.
PREPARED_BY = {
    "catalog.reject_staged_books": "catalog.create_book_import_table",
    "catalog.upsert_staged_books": "catalog.create_book_import_table",
    "orders.seed_orders": "orders.seed_create_order_events_table",
    "orders.seed_write_order_events": "orders.seed_create_order_events_table",
}
SEQ_SCAN = "Seq Scan"
PRIVATE_READS = MIGRATIONS_DIR / "0021_private_reads.sql"
# What the queries calling a private-read function are run with: any values of the right types
# do, since their plans are forced generic; `bookshop sql`'s defaults (the page size); NULL for
# the cursors, as on a first page.
PRIVATE_READ_VALUES = {**DEFAULTS, "caller_role": "customer", "include_voided": "false"}
PRIVATE_READ_NULLS = {"after_id", "after_starts_at"}


class Finding(msgspec.Struct, frozen=True):
    query: str
    table: str
    rows: int
    node: str


@pytest.fixture(scope="module")
async def realistic_urls(
    admin_conn: asyncpg.Connection, template_urls: DatabaseUrls, server_url: str
) -> AsyncIterator[DatabaseUrls]:
    """A database of the module's own, filled by the seed generators once, then vacuumed."""
    async with cloned_database(admin_conn, server_url, "test_plans") as urls:
        started = time.monotonic()
        loading = Settings(statement_timeout_ms=0, command_timeout=600.0)
        conn = await connect(loading, dsn=urls.owner)
        try:
            await catalog_seed.generate(conn, catalog=catalog_seed.plan(books=BOOKS, users=CUSTOMERS))
            await venue_seed.generate(conn, venues=VENUES)
            await order_seed.generate(conn, orders=ORDERS)
            # The steady state autovacuum keeps: statistics for every table, the visibility map set,
            # and the GIN indexes' pending lists merged (a fresh bulk load leaves them full, which
            # makes every GIN scan look dear to the planner until the next vacuum). FREEZE, because
            # the orders' foreign-key checks leave a lock-only xmax on the books they name, and a
            # plain vacuum right after that leaves about a tenth of the books' pages not all-visible,
            # which makes the index-only count of list_books_page look dearer than a seq scan.
            # Statistics from every row, not a random sample of 30,000: each table here is under the
            # 300,000 rows a target of 1,000 samples, so the planner sees the same figures on every
            # run and a query near a plan's tipping point cannot pass on one run and fail the next.
            await conn.execute("SET default_statistics_target = 1000")
            await conn.execute("VACUUM (FREEZE, ANALYZE)")
        finally:
            await conn.close()
        print(
            f"\nplan guard: seeded {BOOKS:,} books, {VENUES:,} venues and {ORDERS:,} orders"
            f" in {time.monotonic() - started:.1f} s"
        )
        yield urls


@pytest.fixture(scope="module")
def table_rows(realistic_urls: DatabaseUrls) -> dict[str, int]:
    """Rows per table of the public schema, as the planner knows them after ANALYZE."""
    with psycopg.connect(realistic_urls.owner) as conn:
        rows = conn.execute(
            """SELECT c.relname, greatest(c.reltuples, 0)::bigint
               FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm')"""
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def connections(realistic_urls: DatabaseUrls) -> Iterator[dict[str, psycopg.Connection[Any]]]:
    """The application role's connection, as the service plans its queries, and the owner's
    for the owner's work (the seed generators): EXPLAIN needs the statement's privileges."""
    app, owner = psycopg.connect(realistic_urls.app), psycopg.connect(realistic_urls.owner)
    yield {"app": app, "owner": owner}
    app.close()
    owner.close()


def plan_nodes(node: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every node of a JSON plan with the path to it: children, InitPlans and SubPlans alike."""
    label = node["Node Type"]
    if (relationship := node.get("Parent Relationship")) and relationship in ("InitPlan", "SubPlan"):
        label = f"{node.get('Subplan Name', relationship)}: {label}"
    here = (*path, label)
    yield here, node
    for child in node.get("Plans", []):
        yield from plan_nodes(child, here)


def generic_plan(connections: dict[str, psycopg.Connection[Any]], query: NamedQuery) -> dict[str, Any]:
    """The JSON generic plan, as the application role, else (no privilege) as the owner."""
    for role in ("app", "owner"):
        conn = connections[role]
        try:
            with conn.transaction(force_rollback=True):
                if prepared_by := PREPARED_BY.get(query.qualified_name):
                    conn.execute(find(prepared_by).statement)
                plan: dict[str, Any] = explain(conn, query, None, json=True)[0]["Plan"]
                return plan
        except psycopg.errors.InsufficientPrivilege:
            if role == "owner":
                raise
    raise AssertionError("unreachable")


def seq_scans(query: NamedQuery, plan: dict[str, Any], table_rows: dict[str, int]) -> list[Finding]:
    found = []
    for path, node in plan_nodes(plan):
        if node["Node Type"] == SEQ_SCAN and table_rows.get(node["Relation Name"], 0) > LARGE_TABLE:
            table = node["Relation Name"]
            described = " -> ".join(path)
            if node.get("Filter"):
                described += f" (Filter: {node['Filter']})"
            found.append(Finding(query.qualified_name, table, table_rows[table], described))
    return found


def functions_of(migration: Path) -> set[str]:
    return set(re.findall(r"^CREATE FUNCTION (read_\w+)\(", migration.read_text(), flags=re.MULTILINE))


def calls_of(query: NamedQuery, functions: set[str]) -> set[str]:
    return {name for name in functions if re.search(rf"\b{name}\(", query.statement)}


def values_for(query: NamedQuery) -> dict[str, str | None]:
    """Values of the right types for a private read's parameters: ids are random uuids."""
    values: dict[str, str | None] = {}
    for name in query.placeholders:
        if name in PRIVATE_READ_VALUES:
            values[name] = PRIVATE_READ_VALUES[name]
        elif name in PRIVATE_READ_NULLS:
            values[name] = None
        elif name == "id" or name.endswith("_id"):
            values[name] = str(uuid.uuid4())
        else:
            raise AssertionError(f"{query.qualified_name}: no value for its parameter {name!r}; add one here")
    return values


@pytest.fixture(scope="module")
def nested_plans(server_url: str, realistic_urls: DatabaseUrls) -> Iterator[psycopg.Connection[Any]]:
    """A superuser's connection (LOAD needs one) acting as the application role, with auto_explain
    sending the generic plan of every statement, nested ones included, as a notice."""
    app = conninfo_to_dict(libpq_url(realistic_urls.app))
    with psycopg.connect(libpq_url(server_url), dbname=app["dbname"], autocommit=True) as conn:
        conn.execute("LOAD 'auto_explain'")
        for setting, value in {
            "auto_explain.log_min_duration": "0",
            "auto_explain.log_nested_statements": "on",
            "auto_explain.log_format": "json",
            "auto_explain.log_level": "notice",
            "plan_cache_mode": "force_generic_plan",
        }.items():
            conn.execute("SELECT set_config(%s, %s, false)", [setting, value])
        conn.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(app["user"])))
        yield conn


def plans_inside(conn: psycopg.Connection[Any], query: NamedQuery) -> list[dict[str, Any]]:
    """The plans auto_explain reported while the query ran: the statements inside its functions."""
    notices: list[str] = []

    def keep(notice: psycopg.errors.Diagnostic) -> None:
        notices.append(notice.message_primary or "")

    conn.add_notice_handler(keep)
    try:
        values = values_for(query)
        with conn.transaction(force_rollback=True), psycopg.RawCursor(conn) as cursor:
            cursor.execute(query.sql, [values[name] for name in query.placeholders])
    finally:
        conn.remove_notice_handler(keep)
    plans = [json.loads(text.partition("plan:\n")[2])["Plan"] for text in notices if "plan:\n" in text]
    return [plan for plan in plans if plan.get("Node Type") != "Function Scan"]  # the query's own


def test_the_realistic_set_is_large_where_it_counts(table_rows: dict[str, int]) -> None:
    large = {name for name, rows in table_rows.items() if rows > LARGE_TABLE}
    assert {
        *("books", "book_tags", "reviews", "authors", "users", "venues", "bookings"),
        *("orders", "order_lines", "invoices", "jobs", "events", "api_keys", "user_profiles", "user_settings"),
    } <= large, table_rows


def test_no_query_scans_a_large_table_without_saying_why(
    connections: dict[str, psycopg.Connection[Any]], table_rows: dict[str, int]
) -> None:
    unexplained: list[Finding] = []
    for query in all_queries():
        if not explainable(query):
            continue
        findings = seq_scans(query, generic_plan(connections, query), table_rows)
        unexplained += [f for f in findings if not query.seq_scan_ok_on(f.table)]
    assert unexplained == [], (
        "sequential scans of large tables, without a `-- plan: seq-scan ok, <why>`:\n"
        + "\n".join(f"  {f.query}: Seq Scan on {f.table} ({f.rows:,} rows) at {f.node}" for f in unexplained)
    )


def test_no_private_read_function_scans_a_large_table(
    nested_plans: psycopg.Connection[Any], table_rows: dict[str, int]
) -> None:
    functions = functions_of(PRIVATE_READS)
    callers = {query.qualified_name: query for query in all_queries() if calls_of(query, functions)}
    called = set().union(*(calls_of(query, functions) for query in callers.values()))
    assert called == functions, f"functions of {PRIVATE_READS.name} no named query calls: {functions - called}"
    findings: list[Finding] = []
    for query in callers.values():
        inside = plans_inside(nested_plans, query)
        assert inside, f"{query.qualified_name}: auto_explain reported no statement inside its function"
        for plan in inside:
            findings += seq_scans(query, plan, table_rows)
    assert findings == [], "sequential scans of large tables inside private-read functions:\n" + "\n".join(
        f"  {f.query}: Seq Scan on {f.table} ({f.rows:,} rows) at {f.node}" for f in findings
    )


def test_annotations_are_not_left_behind(connections: dict[str, psycopg.Connection[Any]]) -> None:
    """An annotated query must still scan what its annotation names (a table of any size; any
    table for a bare `seq-scan ok`): a stale reason would hide the next scan."""
    stale = []
    for query in all_queries():
        if not (query.seq_scan_ok and explainable(query)):
            continue
        plan = generic_plan(connections, query)
        scanned = {node["Relation Name"] for _, node in plan_nodes(plan) if node["Node Type"] == SEQ_SCAN}
        for note in query.annotations:
            table = note.seq_scan_table
            if table and not (scanned if table == "*" else scanned & {table}):
                stale.append(f"{query.qualified_name} ({query.location()}): {note.what}")
    assert stale == [], f"`-- plan: seq-scan ok` on queries whose plan scans no such table: {stale}"


def test_a_query_without_an_index_fails_naming_query_table_and_node(
    connections: dict[str, psycopg.Connection[Any]], table_rows: dict[str, int]
) -> None:
    """The guard catches what it is for: a new query on an unindexed column."""
    unindexed = NamedQuery(
        context="catalog",
        name="books_by_subtitle",
        file=find("catalog.get_book_detail").file,
        line=1,
        operation="select",
        suffix="",
        params=("subtitle",),
        comment="A query added without its index.",
        text="",
        statement="SELECT id FROM books WHERE subtitle = :subtitle AND deleted_at IS NULL;",
        placeholders=("subtitle",),
    )
    findings = seq_scans(unindexed, generic_plan(connections, unindexed), table_rows)
    assert [(f.query, f.table) for f in findings] == [("catalog.books_by_subtitle", "books")]
    assert "Seq Scan" in findings[0].node
    assert "subtitle" in findings[0].node


def test_the_walk_reaches_into_subplans() -> None:
    plan = {
        "Node Type": "Result",
        "Plans": [
            {
                "Node Type": "Seq Scan",
                "Parent Relationship": "InitPlan",
                "Subplan Name": "InitPlan 1",
                "Relation Name": "books",
            }
        ],
    }
    query = find("catalog.get_book_detail")
    assert seq_scans(query, plan, {"books": LARGE_TABLE + 1}) == [
        Finding("catalog.get_book_detail", "books", LARGE_TABLE + 1, "Result -> InitPlan 1: Seq Scan")
    ]
