"""`bookshop seed`: the demo accounts into an empty database, or a generated catalog, venues and
orders of any size (--books N, --venues N, --orders N) as the owner role."""

import argparse

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from bookshop import demo
from bookshop.bookings import seed as venue_seed
from bookshop.catalog import seed as catalog_seed
from bookshop.cli.common import (
    Commands,
    console,
    count_argument,
    owner_url,
    report_missing_schema,
    run_with_connection,
    without_time_limits,
)
from bookshop.db.configured import resolve_database_urls
from bookshop.orders import seed as order_seed
from bookshop.settings import Settings

CATALOG_OPTIONS = ("authors", "tags", "users", "reviews", "bookings_per_venue")
SEED_PHASES: dict[catalog_seed.Phase, str] = {
    "tags": "tags",
    "authors": "authors",
    "books": "books and their tags",
    "customers": "customers",
    "reviews": "reviews",
    "analyze": "ANALYZE",
}


def register(commands: Commands) -> None:
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
    keys = run_with_connection(settings, dsn, lambda conn: demo.seed_if_empty(conn, pepper=settings.api_key_pepper))
    if keys is None:
        console.print("the database already has users: nothing seeded")
        return 1
    console.print(f"seeded the demo data set; demo API keys are in {demo.KEYS_FILE.resolve()}")
    return 0


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
            result = run_with_connection(
                without_time_limits(settings),
                dsn,
                lambda conn: catalog_seed.generate(conn, catalog=catalog, progress=advance),
            )
        except catalog_seed.SeedRefused as error:
            console.print(f"[red]{error}[/red]")
            return 1
        except asyncpg.UndefinedTableError as error:
            return report_missing_schema(error)
    console.print(
        f"added {result.books:,} books (numbers {result.first_book:,} to {result.last_book:,}) tagged"
        f" {result.book_tags:,} times with {result.tags} tags, {result.authors:,} authors,"
        f" {result.users:,} customers and {result.reviews:,} reviews in {result.seconds:.1f} s"
    )
    return 0


def seed_venues(settings: Settings, *, venues: int, bookings_per_venue: int) -> int:
    """Generates venues around 30 cities and their bookings as the owner, in one transaction."""
    with console.status(f"adding {venues:,} venues and their bookings"):
        try:
            result = run_with_connection(
                without_time_limits(settings),
                owner_url(settings),
                lambda conn: venue_seed.generate(conn, venues=venues, bookings_per_venue=bookings_per_venue),
            )
        except asyncpg.UndefinedTableError as error:
            return report_missing_schema(error)
    note = "" if result.bookings or not bookings_per_venue else " (no customers to book with: seed --books first)"
    console.print(f"added {result.venues:,} venues and {result.bookings:,} bookings{note} in {result.seconds:.1f} s")
    return 0


def seed_orders(settings: Settings, *, orders: int) -> int:
    """Generates a year of orders with their invoices, jobs and events as the owner, in one
    transaction."""
    with console.status(f"adding {orders:,} orders with their invoices, jobs and events"):
        try:
            result = run_with_connection(
                without_time_limits(settings),
                owner_url(settings),
                lambda conn: order_seed.generate(conn, orders=orders),
            )
        except asyncpg.UndefinedTableError as error:
            return report_missing_schema(error)
    note = "" if result.orders else " (no customers or published books to order: seed --books first)"
    console.print(
        f"added {result.orders:,} orders{note} with {result.order_lines:,} lines, {result.invoices:,} invoices,"
        f" {result.jobs:,} jobs and {result.events:,} events, and {result.api_keys:,} API keys,"
        f" {result.profiles:,} profiles and {result.settings:,} settings, in {result.seconds:.1f} s"
    )
    return 0
