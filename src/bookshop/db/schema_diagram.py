"""`bookshop docs schema`: docs/schema.md, a Mermaid ER diagram of the live schema.

Generated from the system catalogs (sql/db/schema.sql), so it shows what the migrations made:
every table, its key columns (primary, foreign and unique) and every foreign key. A test
regenerates it from the test database and fails when the committed file differs.
"""

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bookshop.db.configured import resolve_database_urls
from bookshop.db.pool import Connection, connect
from bookshop.db.queries import queries
from bookshop.paths import PROJECT_ROOT
from bookshop.settings import Settings

DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "schema.md"
REGENERATE = "uv run bookshop docs schema"

q = queries.db

HEADER = f"""# Schema

Generated from the live catalog by `{REGENERATE}` after the migrations; do not
edit it by hand (a test fails when it is out of date). Each table shows its key columns: PK
primary key, FK foreign key, UK unique. A line is a foreign key, labelled with its columns:
`}}o--||` many to one, `}}o--o|` many to one where the key may be null, `|o--||` one to one.
"""


def _markers(row: Any) -> str:
    roles = [
        name for flag, name in ((row["is_primary"], "PK"), (row["is_foreign"], "FK"), (row["is_unique"], "UK")) if flag
    ]
    return ", ".join(roles)


async def render(conn: Connection) -> str:
    """The Markdown file's text: the header and one Mermaid erDiagram."""
    tables = [row["table_name"] async for row in q.schema_tables(conn)]
    columns: dict[str, list[str]] = {table: [] for table in tables}
    async for row in q.schema_key_columns(conn):
        columns[row["table_name"]].append(f"        {row['type_name']} {row['column_name']} {_markers(row)}")
    lines = ["", "```mermaid", "erDiagram"]
    for table in tables:
        lines += [f"    {table} {{", *columns[table], "    }"]
    async for key in q.schema_foreign_keys(conn):
        many = "|o" if key["one_to_one"] else "}o"
        one = "o|" if key["optional"] else "||"
        lines.append(f'    {key["from_table"]} {many}--{one} {key["to_table"]} : "{", ".join(key["columns"])}"')
    lines += ["```", ""]
    return HEADER + "\n".join(lines)


def write_schema(settings: Settings, args: argparse.Namespace) -> int:
    async def main() -> str:
        conn = await connect(settings, dsn=resolve_database_urls(settings).app)
        try:
            return await render(conn)
        finally:
            await conn.close()

    output = Path(args.output)
    output.write_text(asyncio.run(main()))
    print(f"wrote {output}")
    return 0


def add_command(commands: Any) -> None:
    """Registers `bookshop docs schema`."""
    docs = commands.add_parser("docs", help="generate documentation from the live database")
    actions = docs.add_subparsers(dest="action", required=True)
    schema = actions.add_parser("schema", help="write docs/schema.md: a Mermaid ER diagram of the live schema")
    schema.add_argument("--output", default=str(DEFAULT_OUTPUT), help=f"where to write it (default: {DEFAULT_OUTPUT})")
    schema.set_defaults(handler=write_schema)
