"""Server-level statements on any PostgreSQL the service is pointed at."""

import psycopg
from psycopg import sql


def admin_connection(admin_url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection for statements that cannot run in a transaction."""
    return psycopg.connect(admin_url, autocommit=True)


def create_database(admin_url: str, name: str, *, template: str | None = None) -> bool:
    """Creates database `name` unless it exists; says whether it did. Asking the server to
    create it and taking "already exists" as an answer leaves no race between check and create."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin_connection(admin_url) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.DuplicateDatabase:
            return False
    return True
