"""The bootstrap's roles: the application role owns nothing and cannot change the schema."""

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import psycopg
import pytest
from psycopg.rows import dict_row

from bookshop.db import admin
from bookshop.db.admin import APP_ROLE, OWNER_ROLE
from bookshop.db.urls import DatabaseUrls, with_database, with_user
from bookshop.paths import MIGRATIONS_DIR
from tests.support.databases import ROLE_PASSWORD, TEMPLATE_DATABASE

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


def bootstrapped(server_url: str, database: str) -> dict[str, Any]:
    """What the bootstrap sets up and the migrations grant, as the server holds it: both roles
    (attributes, password hashes, settings, memberships), the database's owner and privileges,
    the extensions, and who may do what in the schema."""
    roles = [OWNER_ROLE, APP_ROLE]
    with admin.admin_connection(server_url) as conn, conn.cursor(row_factory=dict_row) as by_name:
        attributes = by_name.execute(
            """SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                      r.rolreplication, r.rolbypassrls, a.rolpassword, r.rolconfig
               FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid
               WHERE r.rolname = ANY(%s) ORDER BY r.rolname""",
            [roles],
        ).fetchall()
        memberships = conn.execute(
            """SELECT r.rolname, m.rolname FROM pg_auth_members a
               JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
               WHERE m.rolname = ANY(%s) ORDER BY 1, 2""",
            [roles],
        ).fetchall()
        owner_and_privileges = conn.execute(
            "SELECT pg_get_userbyid(datdba), datacl::text FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
    with admin.admin_connection(with_database(server_url, database)) as conn:
        extensions = conn.execute("SELECT extname, extversion FROM pg_extension ORDER BY 1").fetchall()
        schema_privileges = conn.execute(
            """SELECT c.relname, pg_get_userbyid(c.relowner), c.relacl::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"""
        ).fetchall()
        schema_privileges += conn.execute(
            "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace WHERE nspname = 'public'"
        ).fetchall()
    return {
        "roles": attributes,
        "memberships": memberships,
        "database": owner_and_privileges,
        "extensions": extensions,
        "schema privileges": schema_privileges,
    }


def test_bootstrap_runs_again_without_harm(server_url: str, template_urls: DatabaseUrls) -> None:
    """A second bootstrap (without passwords, as an operator reruns it) leaves all as it was."""
    before = bootstrapped(server_url, TEMPLATE_DATABASE)
    admin.bootstrap(server_url, database=TEMPLATE_DATABASE)
    after = bootstrapped(server_url, TEMPLATE_DATABASE)

    assert after == before
    least_privilege = {
        "rolsuper": False,
        "rolinherit": True,
        "rolcreaterole": False,
        "rolcreatedb": False,
        "rolcanlogin": True,
        "rolreplication": False,
        "rolbypassrls": False,
    }
    roles = {role["rolname"]: role for role in after["roles"]}
    assert set(roles) == {OWNER_ROLE, APP_ROLE}
    for name, role in roles.items():
        assert {key: role[key] for key in least_privilege} == least_privilege, name
        # And the same password hash as before (one set again gets a new salt): so the password
        # still works, even on a server that trusts every login, where the connections below
        # could not tell.
        assert role["rolpassword"] is not None, f"{name} lost its password"
    expected_settings = {f"{key}={value}" for key, value in admin.APP_ROLE_SETTINGS.items()}
    assert set(roles[APP_ROLE]["rolconfig"]) == expected_settings
    assert {tuple(row) for row in after["memberships"]} == {
        (membership, APP_ROLE) for membership in admin.APP_ROLE_MEMBERSHIPS
    }
    assert after["database"][0] == OWNER_ROLE
    assert set(admin.EXTENSIONS) <= {name for name, _ in after["extensions"]}
    # Each role still logs in with its password and does its part: the owner owns the tables,
    # the application role reads and writes them.
    with psycopg.connect(template_urls.owner) as owner:
        users_owner = owner.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'users'")
        assert users_owner.fetchone() == (OWNER_ROLE,)
    with psycopg.connect(template_urls.app) as app:  # nothing it writes stays in the template
        assert app.execute("SELECT current_user").fetchone() == (APP_ROLE,)
        user_id = app.execute(
            "INSERT INTO users (email, name) VALUES ('again@example.com', 'A') RETURNING id"
        ).fetchone()
        assert app.execute("SELECT count(*) FROM users WHERE id = %s", user_id).fetchone() == (1,)
        app.rollback()


def test_the_bootstrap_creates_the_extensions_migration_0001_declares() -> None:
    declared = re.findall(
        r"CREATE EXTENSION IF NOT EXISTS (\w+)", (MIGRATIONS_DIR / "0001_extensions_and_functions.sql").read_text()
    )
    assert tuple(declared) == admin.EXTENSIONS
