"""`bookshop db`: the URL for each role, a psql shell, and bootstrapping a new database."""

import uuid

import asyncpg

from bookshop.db.urls import DatabaseUrls, yoyo_url
from tests.support.cli import run
from tests.support.databases import urls_for


def test_db_url_for_each_role_and_psql(cli_env: dict[str, str], database_urls: DatabaseUrls) -> None:
    assert run("db", "url", env=cli_env).stdout.strip() == database_urls.app
    assert run("db", "url", "--owner", env=cli_env).stdout.strip() == database_urls.owner
    yoyo_form = run("db", "url", "--yoyo", env=cli_env).stdout.strip()
    assert yoyo_form == yoyo_url(database_urls.owner)
    same_database = run("db", "url", env={**cli_env, "DATABASE_URL": yoyo_form}).stdout.strip()
    assert same_database == database_urls.owner

    as_owner = run("db", "psql", "--owner", env=cli_env, stdin="SELECT count(*) AS migrations FROM _yoyo_migration;\n")
    assert as_owner.returncode == 0, as_owner.stderr
    assert "migrations" in as_owner.stdout
    as_app = run("db", "psql", env=cli_env, stdin="SELECT current_user;\n")
    assert "bookshop_app" in as_app.stdout


async def test_db_bootstrap_prepares_a_new_database_on_a_server(
    server_url: str, admin_conn: asyncpg.Connection, template_urls: DatabaseUrls
) -> None:
    name = f"boot_{uuid.uuid4().hex[:12]}"
    urls = urls_for(server_url, name)
    env = {"DATABASE_URL": urls.app, "MIGRATIONS_DATABASE_URL": urls.owner}
    try:
        booted = run("db", "bootstrap", "--admin-url", server_url, env=env)
        assert booted.returncode == 0, booted.stderr
        assert await admin_conn.fetchval("SELECT datdba::regrole::text FROM pg_database WHERE datname = $1", name) == (
            "bookshop_owner"
        )
        assert run("migrate", "apply", env=env).returncode == 0
        again = run("db", "bootstrap", "--admin-url", server_url, env=env)
        assert again.returncode == 0, again.stderr
        swapped = run("db", "bootstrap", "--admin-url", server_url, env={**env, "DATABASE_URL": urls.owner})
        assert swapped.returncode == 2
        assert "must connect as bookshop_app" in swapped.stderr
    finally:
        await admin_conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
