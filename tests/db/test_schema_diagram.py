"""`bookshop docs schema`: the committed diagram is the migrated schema's, and it shows every
table and foreign key the catalog has."""

from pathlib import Path

import asyncpg

from bookshop.db.schema_diagram import DEFAULT_OUTPUT, REGENERATE, render
from bookshop.db.urls import DatabaseUrls
from tests.support.cli import run


async def test_the_committed_diagram_is_up_to_date(app_conn: asyncpg.Connection) -> None:
    expected = await render(app_conn)
    assert DEFAULT_OUTPUT.read_text() == expected, f"docs/schema.md is out of date: run `{REGENERATE}`"


async def test_every_table_and_foreign_key_is_drawn(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TABLE shelves (id bigint PRIMARY KEY, code text UNIQUE)")
    await conn.execute(
        "CREATE TABLE shelf_books (shelf_id bigint NOT NULL REFERENCES shelves (id),"
        " book_id uuid REFERENCES books (id), PRIMARY KEY (shelf_id))"
    )
    diagram = await render(conn)
    assert "    shelves {\n        int8 id PK\n        text code UK\n    }" in diagram
    assert '    shelf_books |o--|| shelves : "shelf_id"' in diagram  # its key alone: one to one
    assert '    shelf_books }o--o| books : "book_id"' in diagram  # nullable: optional

    tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    service_tables = {t["tablename"] for t in tables if not t["tablename"].startswith(("_yoyo", "yoyo"))}
    assert {line.split()[0] for line in diagram.splitlines() if line.endswith(" {")} == service_tables
    foreign_keys = await conn.fetchval("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
    assert sum(1 for line in diagram.splitlines() if "--" in line and " : " in line) == foreign_keys


def test_the_command_writes_the_file(database_urls: DatabaseUrls, tmp_path: Path) -> None:
    output = tmp_path / "schema.md"
    done = run("docs", "schema", "--output", str(output), env={"DATABASE_URL": database_urls.app})
    assert done.returncode == 0, done.stderr
    assert output.read_text().startswith("# Schema")
