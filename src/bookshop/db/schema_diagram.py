"""`bookshop docs schema`: docs/schema.md, a Mermaid ER diagram of the live schema.

Generated from the system catalogs (sql/db/schema.sql), so it shows what the migrations made:
every table, its key columns (primary, foreign and unique) and every foreign key. A test
regenerates it from the test database and fails when the committed file differs.
"""

from typing import Any

from bookshop.db.pool import Connection
from bookshop.db.queries import queries
from bookshop.paths import PROJECT_ROOT

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
