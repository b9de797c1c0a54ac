"""`bookshop sql …` as a user runs it: list, show, a psql script run by the real psql, explain."""

import subprocess
from typing import Any

import asyncpg
import pytest

from bookshop.db import named_queries
from bookshop.db.named_queries import all_queries, find
from bookshop.db.sql_review import UsageError, parse_values, psql_quote
from bookshop.paths import PROJECT_ROOT
from tests.support.cli import run

PSQL = "/usr/bin/psql"


def psql(script: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PSQL, url, "-X", "-A", "-t", "-F", "|"], input=script, capture_output=True, text=True, timeout=30
    )


def test_list_names_every_query_with_file_operation_and_parameters(cli_env: dict[str, str]) -> None:
    listed = run("sql", "list", "--wide", env={**cli_env, "COLUMNS": "400"})
    assert listed.returncode == 0, listed.stderr
    for query in all_queries():
        assert query.qualified_name in listed.stdout
    row = next(line for line in listed.stdout.splitlines() if "catalog.search_books " in line)
    assert "sql/catalog/search.sql:3" in row
    assert "select" in row
    assert "q, tag, author_id" in row
    assert "one row" in next(line for line in listed.stdout.splitlines() if "accounts.get_user " in line)


def test_show_prints_the_query_as_written(cli_env: dict[str, str]) -> None:
    shown = run("sql", "show", "get_user", env=cli_env)
    assert shown.returncode == 0, shown.stderr
    query = find("accounts.get_user")
    assert shown.stdout.strip() == query.text
    assert shown.stdout.startswith("-- name: get_user(id)^\n-- One live user by id.\n")
    lines = (PROJECT_ROOT / "sql/accounts/users.sql").read_text().splitlines()
    line = lines.index("-- name: get_user(id)^") + 1
    assert f"sql/accounts/users.sql:{line}" in shown.stderr
    unknown = run("sql", "show", "no_such_query", env=cli_env)
    assert unknown.returncode == 2
    assert "no query named no_such_query" in unknown.stderr


async def test_the_psql_script_runs_in_psql(cli_env: dict[str, str], conn: asyncpg.Connection) -> None:
    author = await conn.fetchval("INSERT INTO authors (name) VALUES ('J. R. R. Tolkien') RETURNING id")
    await conn.fetchval("INSERT INTO authors (name) VALUES ($1) RETURNING id", "O'Brien \\ Sons")
    for number in range(3):
        await conn.execute(
            """INSERT INTO books (slug, isbn, title, description, author_id, price, is_published, published_at)
               VALUES ($1, $2, $3, 'A tale of rings and roads', $4, 10, true, now() - make_interval(days => $5))""",
            f"the-hobbit-{number}",
            f"978000000{number:03d}1",
            f"The Hobbit {number}",
            author,
            number,
        )
    script = run("sql", "psql", "catalog.search_books", "q=hobbit", env=cli_env)
    assert script.returncode == 0, script.stderr
    assert "\\set q 'hobbit'" in script.stdout
    assert "limit=20" in script.stdout  # said in a comment: what a parameter left out became
    ran = psql(script.stdout, cli_env["DATABASE_URL"])
    assert ran.returncode == 0, ran.stderr
    titles = sorted(line.split("|")[2] for line in ran.stdout.splitlines() if line)
    assert titles == ["The Hobbit 0", "The Hobbit 1", "The Hobbit 2"]

    # A value with a quote and a backslash reaches the query as it was given.
    tricky = run("sql", "psql", "catalog.search_authors", "q=O'Brien \\ Sons", "limit=5", env=cli_env)
    ran = psql(tricky.stdout, cli_env["DATABASE_URL"])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0].split("|")[1] == "O'Brien \\ Sons"

    # NULL: the keyset's first page of an author's listing, and a set limit.
    listed = run("sql", "psql", "catalog.list_authors", "after_id=NULL", "limit=1", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    ran = psql(listed.stdout, cli_env["DATABASE_URL"])
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.split()) >= 1


def test_psql_names_missing_and_unknown_parameters(cli_env: dict[str, str]) -> None:
    missing = run("sql", "psql", "bookings.list_venue_bookings", "venue_id=x", env=cli_env)
    assert missing.returncode == 2
    assert "needs a value for starts, ends" in missing.stderr
    unknown = run("sql", "psql", "accounts.get_user", "id=1", "colour=red", env=cli_env)
    assert unknown.returncode == 2
    assert "no parameter 'colour'" in unknown.stderr


def test_psql_quote_survives_every_awkward_character() -> None:
    assert psql_quote("it's") == "'it''s'"
    assert psql_quote("a\\b") == "'a\\\\b'"
    assert psql_quote("two\nlines") == "'two\\nlines'"


def test_parse_values_defaults_only_what_the_query_makes_optional() -> None:
    query = find("catalog.search_books")
    values = parse_values(query, ["q=x"])
    assert values["limit"] == "20"
    assert values["tag"] is None
    assert values["after_id"] is None  # a keyset cursor's parts come together
    with pytest.raises(UsageError, match="needs a value for q"):
        parse_values(query, [])
    with pytest.raises(UsageError, match="name=value"):
        parse_values(query, ["q"])


def test_explain_generic_plan_as_the_application_role(cli_env: dict[str, str]) -> None:
    explained = run("sql", "explain", "catalog.get_book_detail", env=cli_env)
    assert explained.returncode == 0, explained.stderr
    assert "generic plan" in explained.stderr
    assert "as the application role" in explained.stderr
    assert "$1" in explained.stdout
    assert "books" in explained.stdout


async def test_explain_analyze_binds_values_and_rolls_back(cli_env: dict[str, str], conn: asyncpg.Connection) -> None:
    user = await conn.fetchval("INSERT INTO users (email, name) VALUES ('a@example.com', 'A') RETURNING id")
    # A write, analyzed: it runs, then the transaction is rolled back.
    explained = run("sql", "explain", "accounts.soft_delete_user", f"id={user}", "--analyze", "--as-owner", env=cli_env)
    assert explained.returncode == 0, explained.stderr
    assert "actual time" in explained.stdout
    assert "rolled back" in explained.stderr
    assert await conn.fetchval("SELECT deleted_at FROM users WHERE id = $1", user) is None
    # A value is bound, never spliced into the text: this one would be an injection otherwise.
    hostile = run("sql", "explain", "accounts.get_user_by_email", "email_key=x' OR true --", "--analyze", env=cli_env)
    assert hostile.returncode == 0, hostile.stderr
    assert "rows=0" in hostile.stdout


async def test_explain_sees_private_rows_only_for_a_caller(cli_env: dict[str, str], conn: asyncpg.Connection) -> None:
    user = await conn.fetchval("INSERT INTO users (email, name) VALUES ('b@example.com', 'B') RETURNING id")
    key = await conn.fetchval(
        "INSERT INTO api_keys (user_id, prefix, secret_hash) VALUES ($1, '0123456789ab', $2) RETURNING id",
        user,
        bytes(32),
    )
    # get_api_key reads a private table on the caller its transaction names (a private read of
    # migration 0021 names its own caller instead).
    args = ("sql", "explain", "accounts.get_api_key", f"id={key}", f"user_id={user}", "--analyze")

    def rows_found(*extra: str) -> Any:
        explained = run(*args, *extra, env=cli_env)
        assert explained.returncode == 0, explained.stderr
        return explained.stdout

    def api_keys_line(plan: str) -> str:
        return next(line for line in plan.splitlines() if "on api_keys" in line)

    assert "rows=0" in api_keys_line(rows_found())
    assert "rows=1" in api_keys_line(rows_found("--caller", str(user), "--caller-role", "customer"))
    assert "rows=1" in api_keys_line(rows_found("--as-owner"))


def test_explain_analyze_without_values_is_refused(cli_env: dict[str, str]) -> None:
    refused = run("sql", "explain", "catalog.get_book_detail", "--analyze", env=cli_env)
    assert refused.returncode == 2
    assert "give a value for every parameter" in refused.stderr


def test_every_query_parses_as_aiosql_loads_it() -> None:
    from bookshop.db.queries import queries

    for query in named_queries.all_queries():
        loaded = getattr(getattr(queries, query.context), query.name)
        assert loaded.sql == query.sql, query.qualified_name
        assert tuple(loaded.parameters or ()) == query.params, query.qualified_name
