"""`bookshop docs schema`: writes docs/schema.md, the live schema's diagram (db/schema_diagram.py)."""

import argparse
from pathlib import Path

from bookshop.cli.common import Commands, run_with_connection
from bookshop.db import schema_diagram
from bookshop.db.configured import resolve_database_urls
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    docs = commands.add_parser("docs", help="generate documentation from the live database")
    actions = docs.add_subparsers(dest="action", required=True)
    schema = actions.add_parser("schema", help="write docs/schema.md: a Mermaid ER diagram of the live schema")
    schema.add_argument(
        "--output",
        default=str(schema_diagram.DEFAULT_OUTPUT),
        help=f"where to write it (default: {schema_diagram.DEFAULT_OUTPUT})",
    )
    schema.set_defaults(handler=write_schema)


def write_schema(settings: Settings, args: argparse.Namespace) -> int:
    diagram = run_with_connection(settings, resolve_database_urls(settings).app, schema_diagram.render)
    output = Path(args.output)
    output.write_text(diagram)
    print(f"wrote {output}")
    return 0
