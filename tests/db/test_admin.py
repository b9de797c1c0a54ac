"""The bootstrap's roles: the application role owns nothing and cannot change the schema."""

import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bookshop.db import admin
from bookshop.db.urls import DatabaseUrls, with_user
from bookshop.paths import MIGRATIONS_DIR
from tests.support.databases import ROLE_PASSWORD

SCHEMA_CHANGES = [
    "CREATE TABLE intruder (id int)",
    "DROP TABLE user_settings",
    "ALTER TABLE users ADD COLUMN intruder int",
    "TRUNCATE users CASCADE",
    "CREATE INDEX intruder ON users (name)",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql RETURN 1",
    "ALTER TABLE api_keys DISABLE ROW LEVEL SECURITY",
    "DROP FUNCTION uuid_v7()",
]


@pytest.mark.parametrize("statement", SCHEMA_CHANGES)
async def test_the_application_role_cannot_change_the_schema(app_conn: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute(statement)


async def test_the_application_role_has_no_special_powers_and_owns_nothing(app_conn: asyncpg.Connection) -> None:
    role = await app_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
    )
    assert dict(role) == {"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False, "rolcreatedb": False}
    owned = await app_conn.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    )
    assert owned == 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.fetch("SELECT * FROM _yoyo_migration")


async def test_the_application_role_reads_and_writes_its_tables(app_conn: asyncpg.Connection) -> None:
    user_id = await app_conn.fetchval("INSERT INTO users (email, name) VALUES ('app@example.com', 'App') RETURNING id")
    await app_conn.execute("UPDATE users SET name = 'Renamed' WHERE id = $1", user_id)  # fires set_updated_at
    assert await app_conn.fetchval("SELECT like_contains('x')") == "%x%"
    assert await app_conn.fetchval("DELETE FROM users WHERE id = $1 RETURNING name", user_id) == "Renamed"


async def test_role_level_timeouts_bound_every_session_of_the_application_role(database_urls: DatabaseUrls) -> None:
    plain = await asyncpg.connect(database_urls.app)  # no server settings of the service's own
    try:
        assert await plain.fetchval("SHOW lock_timeout") == "2s"
        assert await plain.fetchval("SHOW statement_timeout") == "5s"
        assert await plain.fetchval("SHOW idle_in_transaction_session_timeout") == "10s"
        assert await plain.fetchval("SHOW pg_trgm.word_similarity_threshold") == "0.4"
    finally:
        await plain.close()


@pytest.fixture
async def outsider_url(admin_conn: asyncpg.Connection, database_urls: DatabaseUrls) -> AsyncIterator[str]:
    """Some other login role on the same server."""
    name = f"outsider_{uuid.uuid4().hex[:8]}"
    await admin_conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{ROLE_PASSWORD}'")
    yield with_user(database_urls.app, name, ROLE_PASSWORD)
    await admin_conn.execute(f"DROP ROLE {name}")


async def test_no_other_role_may_use_the_schema(outsider_url: str) -> None:
    conn = await asyncpg.connect(outsider_url)
    try:
        for statement in [
            "SELECT * FROM public.users",
            "CREATE TABLE public.intruder (id int)",
            "SELECT public.uuid_v7()",
        ]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


def test_bootstrap_runs_again_without_harm(server_url: str, template_urls: DatabaseUrls) -> None:
    admin.bootstrap(server_url, database="bookshop_test_template")


def test_the_bootstrap_creates_the_extensions_migration_0001_declares() -> None:
    declared = re.findall(
        r"CREATE EXTENSION IF NOT EXISTS (\w+)", (MIGRATIONS_DIR / "0001_extensions_and_functions.sql").read_text()
    )
    assert tuple(declared) == admin.EXTENSIONS
