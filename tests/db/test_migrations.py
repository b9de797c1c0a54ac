"""Migrations: every one has a rollback, and apply → roll back → apply leaves the same schema."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psycopg
import pytest
from yoyo import get_backend, read_migrations
from yoyo.migrations import read_sql_migration

from bookshop.db import admin, embedded, migrations
from bookshop.db.admin import APP_ROLE
from bookshop.db.urls import DatabaseUrls, with_user, yoyo_url
from bookshop.paths import MIGRATIONS_DIR, PROJECT_ROOT
from tests.support.accounts import TEST_PEPPER
from tests.support.databases import ROLE_PASSWORD, urls_for

YOYO_TABLES = {"_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock"}


@pytest.fixture
async def empty_database_url(
    admin_conn: asyncpg.Connection, server_url: str, template_urls: DatabaseUrls
) -> AsyncIterator[str]:
    """A bootstrapped database with no migration applied, as its owner sees it."""
    name = f"empty_{uuid.uuid4().hex[:16]}"
    admin.bootstrap(server_url, database=name)
    yield urls_for(server_url, name).owner
    await admin_conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def schema_dump(url: str) -> str:
    """The schema as pg_dump writes it, owners and privileges included, without the per-run
    \\restrict token."""
    pg_dump = embedded.PSQL.with_name("pg_dump")
    dump = subprocess.run(
        [str(pg_dump), "--schema-only", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


async def project_tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows} - YOYO_TABLES


def test_every_migration_has_a_rollback_and_numbers_in_sequence() -> None:
    """Globbed when the test runs, so a migration added later is held to it too."""
    forward = sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert forward, "no migrations found"
    problems = []
    for number, path in enumerate(forward, start=1):
        if not path.name.startswith(f"{number:04d}_"):
            problems.append(f"{path.name} breaks the NNNN_ numbering (expected {number:04d}_)")
        rollback = path.with_name(path.stem + ".rollback.sql")
        if not rollback.exists():
            problems.append(f"{path.name} has no rollback: write {rollback.name}")
        elif not any(
            not statement.lstrip().upper().startswith("SET ") for statement in read_sql_migration(str(rollback))[2]
        ):
            problems.append(f"{rollback.name} undoes nothing: it has no statement besides SET")
    for rollback in MIGRATIONS_DIR.glob("*.rollback.sql"):
        if not rollback.with_name(rollback.name.removesuffix(".rollback.sql") + ".sql").exists():
            problems.append(f"{rollback.name} rolls back a migration that does not exist")
    assert [migration.id for migration in read_migrations(str(MIGRATIONS_DIR))] == [path.stem for path in forward]
    assert not problems, "\n".join(problems)


def migration_ids() -> list[str]:
    """Every migration file's id, globbed now: one added later is in it."""
    return [p.stem for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if not p.name.endswith(".rollback.sql")]


async def test_apply_rollback_apply_leaves_an_identical_schema(empty_database_url: str) -> None:
    applied = migrations.apply(empty_database_url)
    assert applied == migration_ids()
    assert applied == [migration_id for migration_id, _ in migrations.status(empty_database_url)]
    after_first_apply = schema_dump(empty_database_url)
    assert "CREATE TABLE public.users" in after_first_apply

    # One at a time, so each rollback script runs on the schema it was written for.
    for expected in reversed(applied):
        assert migrations.rollback(empty_database_url, count=1) == [expected]
    assert await project_tables(empty_database_url) == set()
    assert all(not is_applied for _, is_applied in migrations.status(empty_database_url))

    assert migrations.apply(empty_database_url) == applied
    assert schema_dump(empty_database_url) == after_first_apply

    assert migrations.rollback(empty_database_url, count=None) == list(reversed(applied))
    assert migrations.apply(empty_database_url) == applied
    assert schema_dump(empty_database_url) == after_first_apply


async def test_apply_twice_applies_nothing_the_second_time(empty_database_url: str) -> None:
    assert migrations.apply(empty_database_url)
    assert migrations.apply(empty_database_url) == []


async def test_the_plain_yoyo_cli_applies_and_rolls_back_with_the_projects_yoyo_ini(empty_database_url: str) -> None:
    yoyo = [sys.executable, "-c", "from yoyo.scripts.main import main; main()"]
    env = {**os.environ, "DATABASE_URL": yoyo_url(empty_database_url)}

    def run(*args: str) -> str:
        result = subprocess.run([*yoyo, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("apply")
    assert {"users", "user_profiles", "user_settings", "api_keys"} <= await project_tables(empty_database_url)
    assert statuses(run("list")) == {migration_id: "A" for migration_id, _ in migrations.status(empty_database_url)}
    run("rollback", "--all")
    assert await project_tables(empty_database_url) == set()
    assert set(statuses(run("list")).values()) == {"U"}


def statuses(listing: str) -> dict[str, str]:
    """yoyo list's table as migration id → A (applied) or U (unapplied)."""
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return {row[1]: row[0] for row in rows}


async def test_uuid_v7_is_version_7_and_leads_with_the_clock(conn: asyncpg.Connection) -> None:
    before = datetime.now(UTC)
    ids: list[uuid.UUID] = [row["id"] for row in await conn.fetch("SELECT uuid_v7() AS id FROM generate_series(1, 50)")]
    after = datetime.now(UTC)
    assert len(set(ids)) == 50
    for value in ids:
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        millis = int.from_bytes(value.bytes[:6], "big")
        sub_millis = (int.from_bytes(value.bytes[6:8], "big") & 0x0FFF) / 4096
        stamp = datetime.fromtimestamp((millis + sub_millis) / 1000, UTC)
        assert before - timedelta(milliseconds=1) <= stamp <= after + timedelta(milliseconds=1)


async def test_uuid_v7_ids_sort_in_creation_order(conn: asyncpg.Connection) -> None:
    """Ids made one after another, well within one millisecond, still sort in that order."""
    ids = [await conn.fetchval("SELECT uuid_v7()") for _ in range(200)]
    assert sorted(ids) == ids


async def test_updated_at_moves_on_a_real_change_only(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow("INSERT INTO users (email, name) VALUES ('t@example.com', 'T') RETURNING id, updated_at")
    # now() is the transaction's start, so each statement below runs in its own transaction.
    await conn.execute("UPDATE users SET name = name WHERE id = $1", row["id"])
    unchanged = await conn.fetchval("SELECT updated_at FROM users WHERE id = $1", row["id"])
    await conn.execute("UPDATE users SET name = 'T2' WHERE id = $1", row["id"])
    changed = await conn.fetchval("SELECT updated_at FROM users WHERE id = $1", row["id"])
    assert unchanged == row["updated_at"]
    assert changed > row["updated_at"]


@pytest.mark.parametrize(
    ("fragment", "pattern"),
    [("abc", "%abc%"), ("50%", "%50\\%%"), ("a_b", "%a\\_b%"), ("back\\slash", "%back\\\\slash%")],
)
async def test_like_contains_matches_user_input_literally(
    conn: asyncpg.Connection, fragment: str, pattern: str
) -> None:
    assert await conn.fetchval("SELECT like_contains($1)", fragment) == pattern
    assert await conn.fetchval("SELECT $1 || 'x' ILIKE like_contains($2)", f"--{fragment}--", fragment)


BIN = Path(sys.executable).parent


def cli_env(owner_url: str) -> dict[str, str]:
    """`bookshop migrate` pointed at this database, as an operator would run it."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": with_user(owner_url, APP_ROLE, ROLE_PASSWORD),
        "MIGRATIONS_DATABASE_URL": owner_url,
        "API_KEY_PEPPER": TEST_PEPPER,
    }


def make_yoyo_lock_table(owner_url: str) -> None:
    """yoyo creates yoyo_lock (and its other tables) on first connect; do that before holding it."""
    with get_backend(yoyo_url(owner_url)):
        pass


def counts(url: str, sql: str) -> dict[str, int]:
    """A two-column query (key, count) as a dict."""
    with psycopg.connect(url) as conn:
        return {str(key): int(value) for key, value in conn.execute(sql).fetchall()}


def test_two_processes_applying_at_once_apply_each_migration_exactly_once(
    empty_database_url: str, server_url: str, template_urls: DatabaseUrls
) -> None:
    """Two real `bookshop migrate apply` processes on one empty database. A third connection holds
    yoyo's lock (its row in yoyo_lock, inserted in a transaction left open) until the server
    shows both processes blocked on that row; then it lets go, and they race for the lock. The
    winner applies everything; the loser waits for it (up to its 60 s lock timeout), finds
    nothing pending, and says so. Both exit 0."""
    url = empty_database_url
    make_yoyo_lock_table(url)
    holder = psycopg.connect(url)  # not autocommit: the INSERT's transaction stays open
    try:
        holder.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now() AT TIME ZONE 'UTC', 0)")
        blocked_on_yoyo_lock = f"""SELECT 'blocked', count(*) FROM pg_stat_activity
            WHERE {holder.info.backend_pid} = ANY(pg_blocking_pids(pid)) AND query LIKE '%yoyo_lock%'"""
        command = [str(BIN / "bookshop"), "migrate", "apply"]
        env = cli_env(url)
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 30
            while counts(server_url, blocked_on_yoyo_lock)["blocked"] < 2:
                exited = [process.returncode for process in processes if process.poll() is not None]
                assert not exited, f"a process exited before both reached the lock: {exited}"
                assert time.monotonic() < deadline, "the two processes never both waited on yoyo's lock"
                time.sleep(0.05)
        finally:
            holder.rollback()  # let go: the two now contend for the lock with each other
        outputs = [process.communicate(timeout=90) for process in processes]
    finally:
        holder.close()

    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    messages = sorted(stderr.strip().splitlines()[-1] for _, stderr in outputs)
    assert messages == [f"applied: {', '.join(migration_ids())}", "nothing to apply"]

    applied = counts(url, "SELECT migration_id, count(*) FROM _yoyo_migration GROUP BY 1")
    assert applied == dict.fromkeys(migration_ids(), 1)
    logged = counts(url, "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply' GROUP BY 1")
    assert logged == dict.fromkeys(migration_ids(), 1)
    assert counts(url, "SELECT 'rows', count(*) FROM yoyo_lock") == {"rows": 0}
    assert schema_dump(url) == schema_dump(template_urls.owner)


def test_a_lock_held_past_the_timeout_fails_naming_the_lock_and_the_way_out(empty_database_url: str) -> None:
    """A process that died mid-migration leaves yoyo's lock row behind. The next apply waits
    --lock-timeout seconds, then exits 1 with a message (no traceback) naming the lock, its
    holder and `yoyo break-lock`; doing what it says unblocks the next apply."""
    url = empty_database_url
    make_yoyo_lock_table(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now() AT TIME ZONE 'UTC', 4242)")
    env = cli_env(url)

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)

    started = time.monotonic()
    refused = run([str(BIN / "bookshop"), "migrate", "apply", "--lock-timeout", "1"])
    waited = time.monotonic() - started
    assert refused.returncode == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    for phrase in ("after 1 s", "migration lock", "yoyo_lock", "process 4242", "yoyo break-lock"):
        assert phrase in refused.stderr, refused.stderr
    assert 1 <= waited < 30
    tables = "SELECT 'tables', count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '%yoyo%'"
    assert counts(url, tables) == {"tables": 0}

    # The way out the message gives, word for word, from the project folder.
    advice = 'DATABASE_URL="$(bookshop db url --yoyo)" yoyo break-lock'
    assert advice in refused.stderr
    broken = run(["sh", "-c", advice])
    assert broken.returncode == 0, broken.stderr
    assert migrations.apply(url, lock_timeout=1) == migration_ids()
