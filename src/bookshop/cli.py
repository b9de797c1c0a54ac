"""The `bookshop` command: serve, worker, migrate, db, seed, import, keys."""

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
import msgspec
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from bookshop import demo
from bookshop.accounts import service
from bookshop.accounts.schemas import Role, UserUpdate
from bookshop.bookings import seed as venue_seed
from bookshop.catalog import importer
from bookshop.catalog import seed as catalog_seed
from bookshop.db import admin, embedded, migrations, schema_diagram
from bookshop.db.admin import APP_ROLE, OWNER_ROLE
from bookshop.db.configured import resolve_database_urls
from bookshop.db.pool import act_as, connect
from bookshop.db.sql_review import add_command as add_sql_command
from bookshop.db.urls import libpq_url, user_of, yoyo_url
from bookshop.http.logs import process_handler
from bookshop.jobs.worker import WorkerOptions, run_worker
from bookshop.ops.doctor import add_command as add_doctor_command
from bookshop.orders import seed as order_seed
from bookshop.settings import Settings, SettingsError

console = Console(stderr=True, soft_wrap=True)

T = TypeVar("T")


def _run(settings: Settings, dsn: str, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Runs `work(conn)` on one connection set up like the pool's."""

    async def main() -> T:
        conn = await connect(settings, dsn=dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


DEMO_CATALOG = catalog_seed.plan(books=400, users=20)
DEMO_VENUES = 300


def serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    settings = msgspec.structs.replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
    )
    urls = resolve_database_urls(settings)
    embedded_db = not settings.database_url
    if embedded_db:
        # The development default: bring the schema up to date and seed demo data once.
        applied = migrations.apply(urls.owner)
        if applied:
            console.print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
        seeded = _run(settings, urls.app, lambda conn: demo.seed_if_empty(conn, pepper=settings.api_key_pepper))
        if seeded:
            # A small generated catalog and venues, so the first `curl /books` or
            # `curl '/venues/nearby?lat=51.5&lon=-0.12'` has something to show.
            books = _run(settings, urls.owner, lambda conn: catalog_seed.generate(conn, catalog=DEMO_CATALOG))
            venues = _run(settings, urls.owner, lambda conn: venue_seed.generate(conn, venues=DEMO_VENUES))
            console.print(
                f"seeded the demo data set: {len(seeded)} demo API keys, {books.books} books by {books.authors}"
                f" authors with {books.reviews} reviews, {venues.venues} venues with {venues.bookings} bookings"
            )
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]bookshop[/bold] serving on {base} with {settings.workers} worker(s)")
    console.print(f"  API docs      {base}/schema   (OpenAPI JSON: {base}/schema/openapi.json)")
    if embedded_db:
        console.print(f"  database      embedded PostgreSQL in {Path(settings.embedded_pgdata).resolve()}")
        console.print(f"  demo API keys {demo.KEYS_FILE.resolve()}")
    # Workers are separate processes that build the app from the environment. They serve as the
    # application role and never migrate, so the owner's URL is not handed to them.
    os.environ["DATABASE_URL"] = urls.app
    os.environ["LOG_LEVEL"] = settings.log_level
    Granian(
        "bookshop.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),  # type: ignore[arg-type]
    ).serve()
    return 0


def worker(settings: Settings, args: argparse.Namespace) -> int:
    """Works the job queue until SIGTERM or Ctrl-C, then finishes the jobs in hand and exits."""
    from bookshop.jobs.handlers import HANDLERS

    logging.basicConfig(level=settings.log_level, handlers=[process_handler(settings.log_format)])
    options = WorkerOptions(
        queue=args.queue,
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
        lease_seconds=args.visibility_timeout,
        backoff_seconds=args.backoff,
    )
    dsn = resolve_database_urls(settings).app

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, stop.set)
        await run_worker(settings, dsn=dsn, handlers=HANDLERS, options=options, stop=stop)

    asyncio.run(main())
    return 0


def owner_url(settings: Settings) -> str:
    """The URL migrations run with, warning when it falls back to the application role's."""
    if settings.database_url and not settings.migrations_database_url:
        console.print(
            "[yellow]warning:[/yellow] MIGRATIONS_DATABASE_URL is unset: using DATABASE_URL, whose role should own"
            " nothing; set MIGRATIONS_DATABASE_URL to the owner role"
        )
    return resolve_database_urls(settings).owner


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    dsn = owner_url(settings)
    if args.action == "apply":
        applied = migrations.apply(dsn, lock_timeout=args.lock_timeout)
        console.print(f"applied: {', '.join(applied)}" if applied else "nothing to apply")
    elif args.action == "rollback":
        count = None if args.all else args.count
        rolled_back = migrations.rollback(dsn, count=count, lock_timeout=args.lock_timeout)
        console.print(f"rolled back: {', '.join(rolled_back)}" if rolled_back else "nothing to roll back")
    else:
        table = Table("migration", "applied")
        for migration_id, applied_ in migrations.status(dsn):
            table.add_row(migration_id, "yes" if applied_ else "[yellow]no[/yellow]")
        Console().print(table)
    return 0


def db(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "stop":
        if settings.database_url:
            console.print("DATABASE_URL is set: there is no embedded server to stop")
            return 1
        stopped = embedded.stop(settings.embedded_pgdata)
        console.print("stopped the embedded server" if stopped else "the embedded server is not running")
        return 0
    if args.action == "bootstrap":
        return bootstrap(settings, args)
    if args.action == "url" and args.yoyo:
        print(yoyo_url(owner_url(settings)))  # the plain yoyo CLI runs migrations: as the owner
        return 0
    dsn = owner_url(settings) if args.owner else resolve_database_urls(settings).app
    if args.action == "url":
        print(dsn)
        return 0
    # The v18 client shipped with the embedded server works against any supported server.
    return subprocess.call([str(embedded.PSQL), dsn])  # noqa: S603 - our own binary and URL


def bootstrap(settings: Settings, args: argparse.Namespace) -> int:
    """Roles, database and extensions on a configured server, from a superuser URL. The role
    names and passwords come from DATABASE_URL and MIGRATIONS_DATABASE_URL."""
    if not (settings.database_url and settings.migrations_database_url and args.admin_url):
        console.print("bootstrap needs DATABASE_URL, MIGRATIONS_DATABASE_URL and --admin-url (a superuser URL)")
        return 2
    (app_user, app_password), (owner_user, owner_password) = (
        user_of(settings.database_url),
        user_of(settings.migrations_database_url),
    )
    if (app_user, owner_user) != (APP_ROLE, OWNER_ROLE):
        console.print(f"DATABASE_URL must connect as {APP_ROLE} and MIGRATIONS_DATABASE_URL as {OWNER_ROLE}")
        return 2
    database = urlsplit(libpq_url(settings.database_url)).path.lstrip("/")
    admin.bootstrap(
        libpq_url(args.admin_url), database=database, owner_password=owner_password, app_password=app_password
    )
    console.print(
        f"bootstrapped {database}: roles {OWNER_ROLE} and {APP_ROLE}, extensions {', '.join(admin.EXTENSIONS)}"
    )
    return 0


def seed(settings: Settings, args: argparse.Namespace) -> int:
    if args.books is not None or args.venues is not None or args.orders is not None:
        if args.dataset:
            console.print("give either a data set name (demo) or --books N / --venues N / --orders N, not both")
            return 2
        per_venue = (
            venue_seed.DEFAULT_BOOKINGS_PER_VENUE if args.bookings_per_venue is None else args.bookings_per_venue
        )
        if args.venues is not None:  # refused before anything is written
            try:
                venue_seed.check(venues=args.venues, bookings_per_venue=per_venue)
            except ValueError as error:
                console.print(f"[red]{error}[/red]")
                return 2
        if args.orders is not None:
            try:
                order_seed.check(orders=args.orders)
            except ValueError as error:
                console.print(f"[red]{error}[/red]")
                return 2
        status = seed_catalog(settings, args) if args.books is not None else 0
        if not status and args.venues is not None:
            status = seed_venues(settings, venues=args.venues, bookings_per_venue=per_venue)
        if status or args.orders is None:
            return status
        return seed_orders(settings, orders=args.orders)
    if args.dataset != "demo" or any(getattr(args, option) is not None for option in CATALOG_OPTIONS):
        console.print(
            "give a data set name (`bookshop seed demo`), --books N (`bookshop seed --books 100000`)"
            ", --venues N (`bookshop seed --venues 100000`) or --orders N"
        )
        return 2
    dsn = resolve_database_urls(settings).app
    keys = _run(settings, dsn, lambda conn: demo.seed_if_empty(conn, pepper=settings.api_key_pepper))
    if keys is None:
        console.print("the database already has users: nothing seeded")
        return 1
    console.print(f"seeded the demo data set; demo API keys are in {demo.KEYS_FILE.resolve()}")
    return 0


CATALOG_OPTIONS = ("authors", "tags", "users", "reviews", "bookings_per_venue")
SEED_PHASES: dict[catalog_seed.Phase, str] = {
    "tags": "tags",
    "authors": "authors",
    "books": "books and their tags",
    "customers": "customers",
    "reviews": "reviews",
    "analyze": "ANALYZE",
}


def seed_catalog(settings: Settings, args: argparse.Namespace) -> int:
    """Generates a realistic catalog as the owner, with a progress bar per phase."""
    try:
        catalog = catalog_seed.plan(
            books=args.books, authors=args.authors, tags=args.tags, users=args.users, reviews=args.reviews
        )
    except catalog_seed.SeedRefused as error:
        console.print(f"[red]{error}[/red]")
        return 2
    dsn = owner_url(settings)  # loading data is owner work, like migrations and fixtures
    # A run is a few dozen long statements in one transaction: no statement time limits.
    loading = msgspec.structs.replace(settings, statement_timeout_ms=0, command_timeout=24 * 3600.0)
    totals: dict[catalog_seed.Phase, int] = {
        "tags": catalog.tags,
        "authors": catalog.authors,
        "books": catalog.books,
        "customers": catalog.users,
        "reviews": catalog.reviews,
        "analyze": 1,
    }
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks = {
            phase: progress.add_task(label, total=totals[phase], start=False) for phase, label in SEED_PHASES.items()
        }

        started: set[catalog_seed.Phase] = set()

        def advance(phase: catalog_seed.Phase, rows: int) -> None:
            if phase not in started:  # each bar times its own phase
                started.add(phase)
                progress.start_task(tasks[phase])
            progress.advance(tasks[phase], rows)

        try:
            result = _run(loading, dsn, lambda conn: catalog_seed.generate(conn, catalog=catalog, progress=advance))
        except catalog_seed.SeedRefused as error:
            console.print(f"[red]{error}[/red]")
            return 1
        except asyncpg.UndefinedTableError as error:
            console.print(f"[red]{error}[/red]: the schema is missing; run `bookshop migrate apply` first")
            return 1
    console.print(
        f"added {result.books:,} books (numbers {result.first_book:,} to {result.last_book:,}) tagged"
        f" {result.book_tags:,} times with {result.tags} tags, {result.authors:,} authors,"
        f" {result.users:,} customers and {result.reviews:,} reviews in {result.seconds:.1f} s"
    )
    return 0


def seed_venues(settings: Settings, *, venues: int, bookings_per_venue: int) -> int:
    """Generates venues around 30 cities and their bookings as the owner, in one transaction."""
    loading = msgspec.structs.replace(settings, statement_timeout_ms=0, command_timeout=24 * 3600.0)
    with console.status(f"adding {venues:,} venues and their bookings"):
        try:
            result = _run(
                loading,
                owner_url(settings),
                lambda conn: venue_seed.generate(conn, venues=venues, bookings_per_venue=bookings_per_venue),
            )
        except asyncpg.UndefinedTableError as error:
            console.print(f"[red]{error}[/red]: the schema is missing; run `bookshop migrate apply` first")
            return 1
    note = "" if result.bookings or not bookings_per_venue else " (no customers to book with: seed --books first)"
    console.print(f"added {result.venues:,} venues and {result.bookings:,} bookings{note} in {result.seconds:.1f} s")
    return 0


def seed_orders(settings: Settings, *, orders: int) -> int:
    """Generates a year of orders with their invoices, jobs and events as the owner, in one
    transaction."""
    loading = msgspec.structs.replace(settings, statement_timeout_ms=0, command_timeout=24 * 3600.0)
    with console.status(f"adding {orders:,} orders with their invoices, jobs and events"):
        try:
            result = _run(loading, owner_url(settings), lambda conn: order_seed.generate(conn, orders=orders))
        except asyncpg.UndefinedTableError as error:
            console.print(f"[red]{error}[/red]: the schema is missing; run `bookshop migrate apply` first")
            return 1
    note = "" if result.orders else " (no customers or published books to order: seed --books first)"
    console.print(
        f"added {result.orders:,} orders{note} with {result.order_lines:,} lines, {result.invoices:,} invoices,"
        f" {result.jobs:,} jobs and {result.events:,} events, and {result.api_keys:,} API keys,"
        f" {result.profiles:,} profiles and {result.settings:,} settings, in {result.seconds:.1f} s"
    )
    return 0


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
    # One COPY and one upsert of the whole file: no statement time limit for this connection.
    loading = msgspec.structs.replace(settings, statement_timeout_ms=0, command_timeout=24 * 3600.0)
    columns = (TextColumn("importing {task.fields[name]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=lines, name=path.name)
        report = _run(
            loading,
            dsn,
            lambda conn: importer.import_books(
                conn, rows=importer.parse_file(path, file_format), on_row=lambda: progress.advance(task)
            ),
        )
    console.print(f"inserted {report.inserted:,}, updated {report.updated:,}, rejected {len(report.rejected):,}")
    for rejection in report.rejected:
        console.print(f"  line {rejection.line}: {rejection.reason}")
    return 1 if report.rejected else 0


def keys_create(settings: Settings, args: argparse.Namespace) -> int:
    dsn = resolve_database_urls(settings).app
    role: Role = args.role

    async def work(conn: Any) -> str:
        async with conn.transaction():
            user = await service.get_user_by_email(conn, email=args.email)
            if user is None:
                name = args.email.split("@", 1)[0]
                user = await service.create_user(conn, email=args.email, name=name, role=role)
                console.print(f"created {role} {args.email}")
            elif user.role != role:
                await service.update_user(conn, user_id=user.id, changes=UserUpdate(role=role))
                console.print(f"changed the role of {args.email} from {user.role} to {role}")
            await act_as(conn, user_id=user.id, role=role)  # api_keys is private: act as its owner
            issued = await service.issue_api_key(conn, user_id=user.id, name=args.name, pepper=settings.api_key_pepper)
        return issued.key

    key = _run(settings, dsn, work)
    console.print("the new API key (shown once; only its hash is stored):")
    print(key)
    return 0


def count_argument(value: str) -> int:
    """A non-negative whole number; 1_000_000 reads as a million."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return number


def positive_int(value: str) -> int:
    number = count_argument(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookshop", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="serve the HTTP API (embedded PostgreSQL when DATABASE_URL is unset)")
    p.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    p.add_argument("--workers", type=int, help="worker processes (default: WORKERS or 1)")
    p.set_defaults(handler=serve)

    p = commands.add_parser("worker", help="run jobs from the queue until SIGTERM (then finish those in hand)")
    p.add_argument("--concurrency", type=positive_int, default=8, help="jobs claimed and run at once (default 8)")
    p.add_argument("--queue", default="default", help="the queue to work (default: default)")
    p.add_argument(
        "--poll-interval", type=positive_float, default=5.0, help="seconds between polls when no NOTIFY comes (5)"
    )
    p.add_argument(
        "--visibility-timeout",
        type=positive_float,
        default=300.0,
        help="seconds a claim holds: a job whose worker died is claimed again after it (300)",
    )
    p.add_argument("--backoff", type=positive_float, default=2.0, help="first retry delay in seconds, doubling (2)")
    p.set_defaults(handler=worker)

    p = commands.add_parser("migrate", help="apply, roll back or list migrations (under yoyo's lock)")
    actions = p.add_subparsers(dest="action", required=True)
    apply_action = actions.add_parser("apply", help="apply every pending migration")
    rollback = actions.add_parser("rollback", help="roll back the newest migrations")
    for locking in (apply_action, rollback):
        locking.add_argument(
            "--lock-timeout",
            type=positive_float,
            default=migrations.LOCK_TIMEOUT_SECONDS,
            help="seconds to wait for another process's migration lock (yoyo_lock) before giving up"
            f" ({migrations.LOCK_TIMEOUT_SECONDS:g})",
        )
    rollback_count = rollback.add_mutually_exclusive_group()
    rollback_count.add_argument("--count", type=int, default=1, help="how many (default 1)")
    rollback_count.add_argument("--all", action="store_true", help="every applied migration")
    actions.add_parser("list", help="every migration and whether it is applied")
    p.set_defaults(handler=migrate)

    p = commands.add_parser("db", help="the database: its URL, a psql shell, or stop the embedded server")
    p.add_argument("action", choices=["url", "psql", "stop", "bootstrap"])
    p.add_argument("--owner", action="store_true", help="as the owner role (default: the application role)")
    p.add_argument("--yoyo", action="store_true", help="with url: the owner's URL in the form the yoyo CLI wants")
    p.add_argument("--admin-url", help="with bootstrap: a superuser URL on the server")
    p.set_defaults(handler=db)

    p = commands.add_parser(
        "seed",
        help="seed the demo data set into an empty database, or add a realistic catalog (--books N)",
        description="`bookshop seed demo` seeds the demo accounts into an empty database. `bookshop seed --books N`"
        " adds a generated catalog (authors, tags, books, customers, reviews) as the owner role, in one transaction;"
        " `--venues N` adds venues and bookings by the customers already there.",
    )
    p.add_argument("dataset", nargs="?", choices=["demo"], help="the demo accounts")
    p.add_argument("--books", type=count_argument, help="generate a catalog of N books")
    p.add_argument("--users", type=count_argument, help="customers who write the reviews (default: books / 20)")
    p.add_argument("--reviews", type=count_argument, help="reviews (default: one per book)")
    p.add_argument("--authors", type=count_argument, help="authors (default: books / 8)")
    p.add_argument("--tags", type=count_argument, help="tags, from a fixed list (default: 100, at most 600)")
    p.add_argument("--venues", type=count_argument, help="generate N venues around 30 cities, with bookings")
    p.add_argument(
        "--bookings-per-venue",
        type=count_argument,
        help=f"bookings per venue, one a day around today (default: {venue_seed.DEFAULT_BOOKINGS_PER_VENUE})",
    )
    p.add_argument(
        "--orders", type=count_argument, help="generate N orders over the past year, with invoices, jobs and events"
    )
    p.set_defaults(handler=seed)

    p = commands.add_parser("import", help="import data from a file")
    p.add_argument("what", choices=["books"])
    p.add_argument("file", help="an .ndjson/.jsonl or .csv file, keyed by isbn (the shape of GET /books/export)")
    p.add_argument("--format", choices=["ndjson", "csv"], help="when the file's name does not say")
    p.set_defaults(handler=import_books)

    schema_diagram.add_command(commands)

    p = commands.add_parser("keys", help="API keys")
    key_actions = p.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="issue a key for a user (created if missing); printed once")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["customer", "staff", "admin"])
    create.add_argument("--name", default="cli", help="a label for the key")
    p.set_defaults(handler=keys_create)

    add_sql_command(commands)
    add_doctor_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except (psycopg.Error, asyncpg.PostgresError, OSError, migrations.MigrationLockTimeout) as error:
        # The database refused, is out of reach, or another process holds the migration lock
        # (the message says who and what to do): say so in a line, not a traceback.
        console.print(f"[red]{type(error).__name__}: {error}[/red]")
        return 1


if __name__ == "__main__":
    sys.exit(main())
