"""The `bookshop` command: serve, worker, migrate, db, seed, import, keys."""

import argparse
from collections.abc import Sequence

import asyncpg
import psycopg
from rich.markup import escape

from bookshop.cli import db, docs, doctor, imports, keys, migrate, seed, serve, sql, worker
from bookshop.cli.common import Handler, console
from bookshop.db import migrations
from bookshop.db.configured import EmbeddedServerMissing
from bookshop.settings import Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookshop", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    # In the order `bookshop --help` lists them.
    for register in (
        serve.register,
        worker.register,
        migrate.register,
        db.register,
        seed.register,
        imports.register,
        docs.register,
        keys.register,
        sql.register,
        doctor.register,
    ):
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    handler: Handler = args.handler
    try:
        return handler(settings, args)
    except EmbeddedServerMissing as error:  # an install without the `embedded` extra
        console.print(f"[red]{escape(str(error))}[/red]")  # escaped: the extra's name is in brackets
        return 2
    except (psycopg.Error, asyncpg.PostgresError, OSError, migrations.MigrationLockTimeout) as error:
        # The database refused, is out of reach, or another process holds the migration lock
        # (the message says who and what to do): say so in a line, not a traceback.
        console.print(f"[red]{type(error).__name__}: {error}[/red]")
        return 1
