"""Server-level set-up that needs a superuser: roles, the database, untrusted extensions.

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
# its own statement and idle timeouts when it connects. Name search (`fragment <% name`) matches
# at word similarity 0.4, which lets a one-letter typo through ("Tolkein" → "Tolkien": 0.5);
# pg_trgm's default of 0.6 would not, and a session-level SET is not allowed on pooled connections.
APP_ROLE_SETTINGS = {
    "statement_timeout": "5s",
    "idle_in_transaction_session_timeout": "10s",
    "lock_timeout": "2s",
    "pg_trgm.word_similarity_threshold": "0.4",
}

# Only a superuser may create earthdistance (it is not a trusted extension), so the bootstrap
# creates them all; migration 0001 then finds them in place.
EXTENSIONS = ("pg_trgm", "btree_gist", "cube", "earthdistance")


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
    create_database(admin_url, database, owner=OWNER_ROLE)
    with admin_connection(with_database(admin_url, database)) as conn:
        for extension in EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
