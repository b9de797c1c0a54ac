"""Migrations: every one has a rollback, and apply → roll back → apply leaves the same schema."""

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bookshop.db import admin, embedded, migrations
from bookshop.db.urls import DatabaseUrls, yoyo_url
from bookshop.paths import MIGRATIONS_DIR, PROJECT_ROOT
from tests.conftest import urls_for

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
    forward = sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert forward, "no migrations found"
    for number, path in enumerate(forward, start=1):
        assert path.name.startswith(f"{number:04d}_"), f"{path.name} breaks the NNNN_ numbering"
        assert path.with_name(path.stem + ".rollback.sql").exists(), f"{path.name} has no rollback"


async def test_apply_rollback_apply_leaves_an_identical_schema(empty_database_url: str) -> None:
    applied = migrations.apply(empty_database_url)
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
