"""`bookshop import books`: books from an NDJSON or CSV file, upserted by isbn (catalog/importer.py)."""

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bookshop.catalog import importer
from bookshop.cli.common import Commands, console, run_with_connection, without_time_limits
from bookshop.db.configured import resolve_database_urls
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("import", help="import data from a file")
    p.add_argument("what", choices=["books"])
    p.add_argument("file", help="an .ndjson/.jsonl or .csv file, keyed by isbn (the shape of GET /books/export)")
    p.add_argument("--format", choices=["ndjson", "csv"], help="when the file's name does not say")
    p.set_defaults(handler=import_books)


def import_books(settings: Settings, args: argparse.Namespace) -> int:
    """Imports books from an NDJSON or CSV file in one transaction, with a progress bar; exits 1
    when some rows were rejected (the good ones landed all the same)."""
    path = Path(args.file)
    try:
        file_format = args.format or importer.format_of(path)
        with path.open("rb") as counted:
            lines = sum(1 for _ in counted)
    except (ValueError, OSError) as error:
        console.print(f"[red]{error}[/red]")
        return 2
    dsn = resolve_database_urls(settings).app
    columns = (TextColumn("importing {task.fields[name]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=lines, name=path.name)
        report = run_with_connection(
            without_time_limits(settings),  # one COPY and one upsert of the whole file
            dsn,
            lambda conn: importer.import_books(
                conn, rows=importer.parse_file(path, file_format), on_row=lambda: progress.advance(task)
            ),
        )
    console.print(f"inserted {report.inserted:,}, updated {report.updated:,}, rejected {len(report.rejected):,}")
    for rejection in report.rejected:
        console.print(f"  line {rejection.line}: {rejection.reason}")
    return 1 if report.rejected else 0
