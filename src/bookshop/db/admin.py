"""Server-level set-up that needs a superuser: roles, the database, untrusted extensions, and
the library preloads (pg_stat_statements).

These are utility statements whose names and passwords PostgreSQL cannot take as bind
parameters, so they are composed here with psycopg.sql (identifiers and literals quoted by the
driver), the one place outside sql/ and migrations/ that writes SQL. Everything inside the
database — tables, grants, policies — is a migration, run as the owner role.
"""

import contextlib

import psycopg
from psycopg import sql

from bookshop.db.urls import with_database

# The owner runs migrations and owns every object. The application role, which the service
# connects as, owns nothing, is no superuser and cannot bypass row-level security. Migrations
# grant it what it needs by this name.
OWNER_ROLE = "bookshop_owner"
APP_ROLE = "bookshop_app"
_LEAST_PRIVILEGE = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

# Defaults for every session of the application role, psql included; the service also sends
# its own statement and idle timeouts when it connects (behind a transaction pooler, where the
# server sessions log in with these, each transaction sets them); lock_timeout is set here
# alone. Name search (`fragment <% name`) matches at word similarity 0.4, which lets a
# one-letter typo through ("Tolkein" → "Tolkien": 0.5); pg_trgm's default of 0.6 would not, and
# a session-level SET is not allowed on pooled connections.
APP_ROLE_SETTINGS = {
    "statement_timeout": "5s",
    "idle_in_transaction_session_timeout": "10s",
    "lock_timeout": "2s",
    "pg_trgm.word_similarity_threshold": "0.4",
}

# Only a superuser may create earthdistance (it is not a trusted extension), so the bootstrap
# creates them all; migration 0001 then finds them in place.
EXTENSIONS = ("pg_trgm", "btree_gist", "cube", "earthdistance")

# The diagnostics' slow statements (GET /admin/diagnostics, `bookshop doctor`) come from
# pg_stat_statements. It is optional: a server without it still bootstraps, and the diagnostics
# say it is missing. Its statistics exist only once the library is in shared_preload_libraries
# (a server restart), which the embedded server sees to (db/embedded.py).
OPTIONAL_EXTENSIONS = ("pg_stat_statements",)
STATEMENT_STATISTICS_LIBRARY = "pg_stat_statements"

# pg_read_all_stats, a predefined read-only role, lets the application role read every session
# in pg_stat_activity and every statement in pg_stat_statements, not only its own: what the
# diagnostics report. It grants no right to change anything or to read any table's rows.
APP_ROLE_MEMBERSHIPS = ("pg_read_all_stats",)


def admin_connection(admin_url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection for statements that cannot run in a transaction."""
    return psycopg.connect(admin_url, autocommit=True)


def create_database(admin_url: str, name: str, *, owner: str, template: str | None = None) -> bool:
    """Creates database `name` unless it exists; says whether it did. Asking the server to
    create it and taking "already exists" as an answer leaves no race between check and create."""
    statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin_connection(admin_url) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.DuplicateDatabase:
            return False
    return True


def _ensure_role(conn: psycopg.Connection[tuple[object, ...]], role: str, password: str | None) -> None:
    """Creates the role if missing, and (re)states its attributes either way."""
    name = sql.Identifier(role)
    with contextlib.suppress(psycopg.errors.DuplicateObject):
        conn.execute(sql.SQL("CREATE ROLE {}").format(name))
    conn.execute(sql.SQL("ALTER ROLE {} " + _LEAST_PRIVILEGE).format(name))
    if password is not None:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))


def bootstrap(
    admin_url: str, *, database: str, owner_password: str | None = None, app_password: str | None = None
) -> None:
    """As a superuser: both roles, the database owned by the owner role, and the extensions.
    Safe to run again; passwords are set only when given."""
    with admin_connection(admin_url) as conn:
        _ensure_role(conn, OWNER_ROLE, owner_password)
        _ensure_role(conn, APP_ROLE, app_password)
        for setting, value in APP_ROLE_SETTINGS.items():
            conn.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(APP_ROLE),
                    sql.SQL(".").join(map(sql.Identifier, setting.split("."))),
                    sql.Literal(value),
                )
            )
        for membership in APP_ROLE_MEMBERSHIPS:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(membership), sql.Identifier(APP_ROLE)))
    create_database(admin_url, database, owner=OWNER_ROLE)
    with admin_connection(with_database(admin_url, database)) as conn:
        for extension in EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
        for extension in OPTIONAL_EXTENSIONS:
            # A server built without contrib has no control file for it: carry on without it.
            with contextlib.suppress(psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported):
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))


def preload_library(admin_url: str, library: str) -> bool:
    """Adds `library` to shared_preload_libraries with ALTER SYSTEM (postgresql.auto.conf) unless the
    running server has it loaded; says whether it wrote the setting, which takes effect only when the
    server restarts. Libraries already listed are kept."""
    with admin_connection(admin_url) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
        current = [name.strip().strip('"') for name in str(row[0] if row else "").split(",") if name.strip()]
        if library in current:
            return False
        libraries = sql.SQL(", ").join(sql.Literal(name) for name in [*current, library])
        conn.execute(sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(libraries))
    return True


def migration_history_grant() -> sql.Composed:
    """Lets the application role read which migrations are applied (the ids and when), and
    nothing else of yoyo's tables: the diagnostics compare them with the files in migrations/.
    Run by the migrating role, which owns yoyo's tables, after every apply (db/migrations.py)."""
    return sql.SQL("GRANT SELECT (migration_id, applied_at_utc) ON {} TO {}").format(
        sql.Identifier("_yoyo_migration"), sql.Identifier(APP_ROLE)
    )
